using System.Diagnostics;
using Contiv.Model;
using Contiv.Telemetry;

namespace Contiv.NetMaster;

/// <summary>
/// What one REST request was about, filled in as it passes through the pipeline: the route once
/// routing has matched it, the error message once an error answer is written.
/// </summary>
public sealed class RequestLogEntry : IRequestErrorFeature
{
    /// <summary>Route label for requests that matched no endpoint (never the raw path: it would be an unbounded label).</summary>
    public const string Unmatched = "unmatched";

    /// <summary><c>GET /api/v1/networks/{key}/</c>; null until routing matched.</summary>
    public string? Route { get; private set; }

    public string? Tenant { get; private set; }

    public string? Network { get; private set; }

    /// <summary>The one-line error the caller got (null when it succeeded).</summary>
    public string? Error { get; set; }

    /// <summary>Records the error answer of the current request for its log line.</summary>
    public static void SetError(HttpContext context, string message)
    {
        if (context.Features.Get<RequestLogEntry>() is { } entry)
        {
            entry.Error = message;
        }
    }

    /// <summary>Takes the matched route and the tenant/network it names (route values <c>tenant</c>, <c>key</c> = <c>tenant:net</c>, query <c>?tenant=</c>).</summary>
    public void CaptureRoute(HttpContext context)
    {
        if (context.GetEndpoint() is RouteEndpoint endpoint)
        {
            Route = $"{context.Request.Method} {endpoint.RoutePattern.RawText}";
        }

        var values = context.Request.RouteValues;
        if (values.TryGetValue("key", out var key) && key is string keyText)
        {
            var decoded = Uri.UnescapeDataString(keyText);
            try
            {
                (Tenant, Network) = Names.ParseNetworkKey(decoded);
            }
            catch (ContivException)
            {
                Network = decoded;
            }
        }
        else if (values.TryGetValue("tenant", out var tenant) && tenant is string tenantText)
        {
            Tenant = Uri.UnescapeDataString(tenantText);
        }
        else if (context.Request.Query.TryGetValue("tenant", out var query) && query.Count == 1)
        {
            Tenant = query[0];
        }
    }
}

/// <summary>
/// netmaster's request log and metrics: one line per REST call (category <c>request</c>), e.g.
/// <c>request[1] GET /api/v1/networks/{key}/ 200 ok in 2.1 ms request=0HNB9:00000002 tenant=default network=contiv-net from=127.0.0.1:40412</c>,
/// a failure ends with <c>: the error</c>; and <c>contiv_netmaster_requests_total</c> /
/// <c>..._request_duration_seconds</c> by route template and outcome (ok, refused for 4xx, failed for 5xx).
/// </summary>
public static partial class RequestLogging
{
    public const string Category = "request";

    public const string Refused = "refused";
    public const string Failed = "failed";

    /// <summary>Outermost middleware: times the request and writes its line after every other middleware, error handlers included.</summary>
    public static void UseRequestLog(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        var metrics = app.Services.GetRequiredService<RequestMetrics>();
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            var entry = new RequestLogEntry();
            context.Features.Set(entry);
            context.Features.Set<IRequestErrorFeature>(entry);
            try
            {
                await next(context);
            }
            finally
            {
                Write(logger, metrics, context, entry, Stopwatch.GetElapsedTime(started));
            }
        });
    }

    /// <summary>Right after routing (before authentication, so refused requests are labelled too).</summary>
    public static void UseRouteCapture(WebApplication app) =>
        app.Use(async (context, next) =>
        {
            context.Features.Get<RequestLogEntry>()?.CaptureRoute(context);
            await next(context);
        });

    public static string Outcome(int status) => status switch
    {
        < 400 => RequestMetrics.Ok,
        < 500 => Refused,
        _ => Failed,
    };

    [LoggerMessage(EventId = 1, EventName = "RestCall",
        Message = "{Call} {Status} {Outcome} in {DurationMs:0.0} ms request={RequestId} tenant={Tenant} network={Network} from={Remote}")]
    private static partial void Served(ILogger logger, LogLevel level, string call, int status, string outcome, double durationMs, string requestId, string tenant, string network, string remote);

    [LoggerMessage(EventId = 2, EventName = "RestCallFailed",
        Message = "{Call} {Status} {Outcome} in {DurationMs:0.0} ms request={RequestId} tenant={Tenant} network={Network} from={Remote}: {Error}")]
    private static partial void NotServed(ILogger logger, LogLevel level, string call, int status, string outcome, double durationMs, string requestId, string tenant, string network, string remote, string error);

    private static void Write(ILogger logger, RequestMetrics metrics, HttpContext context, RequestLogEntry entry, TimeSpan elapsed)
    {
        var status = context.Response.StatusCode;
        var outcome = Outcome(status);
        var call = entry.Route ?? $"{context.Request.Method} {TokenAuthentication.LogText(context.Request.Path)}";
        metrics.Record(entry.Route ?? RequestLogEntry.Unmatched, outcome, elapsed);
        var tenant = Dash(entry.Tenant);
        var network = Dash(entry.Network);
        var remote = TokenAuthentication.Remote(context);
        var ms = elapsed.TotalMilliseconds;
        if (outcome == RequestMetrics.Ok)
        {
            // Scrapes and probes arrive every few seconds: their successes are Debug, not news.
            var level = entry.Route is { } route && (route.EndsWith(" " + ContivTelemetry.MetricsPath, StringComparison.Ordinal) || route.EndsWith(" " + ContivTelemetry.HealthPath, StringComparison.Ordinal))
                ? LogLevel.Debug
                : LogLevel.Information;
            Served(logger, level, call, status, outcome, ms, context.TraceIdentifier, tenant, network, remote);
        }
        else
        {
            NotServed(logger, outcome == Failed ? LogLevel.Error : LogLevel.Warning, call, status, outcome, ms, context.TraceIdentifier, tenant, network, remote,
                LogText.Clean(entry.Error ?? $"status {status}", 1024));
        }
    }

    private static string Dash(string? value) => string.IsNullOrEmpty(value) ? "-" : LogText.Clean(value, 128);
}
