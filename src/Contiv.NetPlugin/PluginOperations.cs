using System.Net;
using Contiv.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Contiv.NetPlugin;

/// <summary>
/// netplugin's operations endpoints: <c>GET /metrics</c> and <c>GET /health</c> on the plugin socket
/// (root only, like every plugin call) and, with <c>--metrics-listen</c>, on a TCP listener that serves
/// nothing else (the plugin API never leaves the socket).
/// </summary>
public static class PluginOperations
{
    /// <summary>The metrics, the store health check and the request instruments (needs the <c>IKeyValueStore</c> registered).</summary>
    public static IHealthChecksBuilder AddPluginTelemetry(this IServiceCollection services)
    {
        var health = services.AddContivTelemetry("netplugin", PluginMetrics.MeterName, PluginMetrics.Prefix);
        services.AddSingleton<PluginMetrics>();
        return health;
    }

    /// <summary>Maps /metrics and /health; on a TCP connection every other path is 404.</summary>
    public static void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            // Unix socket connections have no IP address; TCP ones (--metrics-listen) get only the operations endpoints.
            if (context.Connection.LocalIpAddress is not null
                && !context.Request.Path.Equals(ContivTelemetry.MetricsPath, StringComparison.Ordinal)
                && !context.Request.Path.Equals(ContivTelemetry.HealthPath, StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await context.Response.WriteAsync($"only {ContivTelemetry.MetricsPath} and {ContivTelemetry.HealthPath} are served here\n", context.RequestAborted);
                return;
            }

            await next(context);
        });
        app.MapContivOperations();
    }

    /// <summary>
    /// Parses <c>--metrics-listen ADDRESS:PORT</c>. A loopback address is always accepted; any other
    /// (including 0.0.0.0) only with <paramref name="allowRemote"/>: the endpoint is plain HTTP
    /// without authentication, and its labels name this host's Contiv networks.
    /// </summary>
    /// <returns>null for null, empty or <c>off</c>.</returns>
    /// <exception cref="ArgumentException">Not ADDRESS:PORT, or not loopback without <paramref name="allowRemote"/>.</exception>
    public static IPEndPoint? ParseMetricsListen(string? value, bool allowRemote)
    {
        if (string.IsNullOrWhiteSpace(value) || value == "off")
        {
            return null;
        }

        // A bare address parses with port 0: a scrape target needs a fixed port.
        if (!IPEndPoint.TryParse(value, out var endpoint) || endpoint.Port == 0)
        {
            throw new ArgumentException($"--metrics-listen \"{value}\" is not ADDRESS:PORT (e.g. 127.0.0.1:9701)");
        }

        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        if (!IPAddress.IsLoopback(address) && !allowRemote)
        {
            throw new ArgumentException(
                $"--metrics-listen {value} is not a loopback address: /metrics and /health are plain HTTP without authentication; "
                + "add --metrics-allow-remote to serve them there anyway, or listen on 127.0.0.1");
        }

        return endpoint;
    }
}

/// <summary>Degraded (still 200) while the host agent's last reconcile pass failed: the plugin serves, but this host may lag the cluster.</summary>
public sealed class ReconcileHealthCheck(HostAgent agent) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["passes"] = agent.Passes };
        return Task.FromResult(agent.LastError is { } error
            ? HealthCheckResult.Degraded($"last reconcile pass failed: {error}", data: data)
            : HealthCheckResult.Healthy(agent.Passes == 0 ? "first pass running" : "last pass succeeded", data));
    }
}
