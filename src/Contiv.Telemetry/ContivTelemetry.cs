using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Contiv.Telemetry;

/// <summary>
/// What netplugin and netmaster share for operations: the console log format, the request metrics
/// exported on <c>/metrics</c> (Prometheus text, OpenTelemetry's exporter), and <c>/health</c> (the
/// framework's health checks, with the state store probe).
/// </summary>
public static class ContivTelemetry
{
    public const string TextFormat = "text";
    public const string JsonFormat = "json";

    public const string MetricsPath = "/metrics";
    public const string HealthPath = "/health";

    /// <summary>The log formats <c>--log-format</c> accepts.</summary>
    public static readonly string[] LogFormats = [TextFormat, JsonFormat];

    /// <summary>
    /// One line per event on the console: <c>text</c> (the default: timestamp, level, category, message)
    /// or <c>json</c> (one JSON object per line, with every structured value under <c>State</c>).
    /// </summary>
    /// <param name="configuration">When it has a <c>Logging</c> section (e.g. <c>Logging__LogLevel__Default=Trace</c>), its levels apply as given, framework categories included.</param>
    /// <exception cref="ArgumentException">Another format.</exception>
    public static ILoggingBuilder AddContivConsole(this ILoggingBuilder logging, string? format, IConfiguration? configuration = null)
    {
        switch (format ?? TextFormat)
        {
            case TextFormat:
                logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    o.UseUtcTimestamp = true;
                });
                break;
            case JsonFormat:
                logging.AddJsonConsole(o =>
                {
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    o.UseUtcTimestamp = true;
                    o.IncludeScopes = false;
                    o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
                });
                break;
            default:
                throw new ArgumentException($"unknown log format \"{format}\": use {string.Join(" or ", LogFormats)}", nameof(format));
        }

        // Serving requests is logged once on the console, by the servers' own request line; the
        // framework's per-request lines would triple it. Only the console (other providers, tests'
        // captures, still get everything), and only while nobody configured log levels.
        if (configuration?.GetSection("Logging").Exists() != true)
        {
            logging.AddFilter<ConsoleLoggerProvider>("Microsoft.AspNetCore", LogLevel.Warning);
        }

        return logging;
    }

    /// <summary>
    /// Registers <see cref="RequestMetrics"/> on meter <paramref name="meterName"/>, OpenTelemetry's
    /// Prometheus exporter for that meter, and the health checks with the state store probe (the
    /// <c>IKeyValueStore</c> must be registered).
    /// </summary>
    public static IHealthChecksBuilder AddContivTelemetry(this IServiceCollection services, string serviceName, string meterName, string metricPrefix)
    {
        services.AddMetrics();
        services.AddSingleton(sp => new RequestMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), meterName, metricPrefix));
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddMeter(meterName)

                // Every scrape sees the current values (the exporter caches 300 ms by default).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", HealthStatus.Unhealthy);
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text) and <c>GET /health</c> (JSON, 200 or 503).</summary>
    public static (IEndpointConventionBuilder Metrics, IEndpointConventionBuilder Health) MapContivOperations(this IEndpointRouteBuilder app)
    {
        var metrics = app.MapPrometheusScrapingEndpoint(MetricsPath);
        var health = app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
        return (metrics, health);
    }
}
