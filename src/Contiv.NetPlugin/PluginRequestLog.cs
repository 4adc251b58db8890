using Contiv.NetPlugin.Protocol;

namespace Contiv.NetPlugin;

/// <summary>The Docker ids a plugin call is about, for its log line (null when the call carries none).</summary>
public readonly record struct PluginRequestIds(string? NetworkId, string? EndpointId, string? PoolId)
{
    /// <summary>From the parsed request, and for RequestPool from the reply (the pool id is created there).</summary>
    public static PluginRequestIds Of(object? request, object? response = null) => request switch
    {
        CreateNetworkRequest r => new(r.NetworkID, null, null),
        NetworkRequest r => new(r.NetworkID, null, null),
        CreateEndpointRequest r => new(r.NetworkID, r.EndpointID, null),
        EndpointRequest r => new(r.NetworkID, r.EndpointID, null),
        JoinRequest r => new(r.NetworkID, r.EndpointID, null),
        RequestPoolRequest => new(null, null, (response as RequestPoolResponse)?.PoolID),
        ReleasePoolRequest r => new(null, null, r.PoolID),
        RequestAddressRequest r => new(null, null, r.PoolID),
        ReleaseAddressRequest r => new(null, null, r.PoolID),
        _ => default,
    };
}

/// <summary>
/// netplugin's request log: one line per plugin call (category <c>plugin</c>), e.g.
/// <c>plugin[1] NetworkDriver.Join ok in 3.2 ms request=0HNB9:00000002 network=5e2c... endpoint=91ab... pool=-</c>,
/// and on failure <c>plugin[2] ... refused in 2.0 ms ...: the error</c>. In the JSON format every
/// placeholder is a field of <c>State</c>. scripts/bench.sh reads the <c>CALL ok in MS ms</c> part.
/// </summary>
public static partial class PluginRequestLog
{
    public const string Category = "plugin";

    /// <summary>Outcomes besides <see cref="Telemetry.RequestMetrics.Ok"/>: a JSON Err reply (200), a malformed request (400), a fault (500), an unknown call (404), the caller went away.</summary>
    public const string Refused = "refused";
    public const string Invalid = "invalid";
    public const string Failed = "failed";
    public const string Unknown = "unknown";
    public const string Cancelled = "cancelled";

    [LoggerMessage(EventId = 1, EventName = "PluginCall", Level = LogLevel.Information,
        Message = "{Call} {Outcome} in {DurationMs:0.0} ms request={RequestId} network={NetworkId} endpoint={EndpointId} pool={PoolId}")]
    public static partial void Served(ILogger logger, string call, string outcome, double durationMs, string requestId, string networkId, string endpointId, string poolId);

    [LoggerMessage(EventId = 2, EventName = "PluginCallFailed",
        Message = "{Call} {Outcome} in {DurationMs:0.0} ms request={RequestId} network={NetworkId} endpoint={EndpointId} pool={PoolId}: {Error}")]
    public static partial void NotServed(ILogger logger, LogLevel level, Exception? exception, string call, string outcome, double durationMs, string requestId, string networkId, string endpointId, string poolId, string error);

    [LoggerMessage(EventId = 3, EventName = "PluginCallBody", Level = LogLevel.Information, Message = "{Call} body request={RequestId}: {Body}")]
    public static partial void Body(ILogger logger, string call, string requestId, string body);

    /// <summary>Writes the call's one line: Information when served, Warning when refused, Error with the exception when it failed.</summary>
    public static void Write(ILogger logger, string call, string outcome, TimeSpan elapsed, string requestId, PluginRequestIds ids, string? error = null, Exception? exception = null)
    {
        var ms = elapsed.TotalMilliseconds;
        if (error is null)
        {
            Served(logger, call, outcome, ms, requestId, ids.NetworkId.OrDash(), ids.EndpointId.OrDash(), ids.PoolId.OrDash());
            return;
        }

        var level = outcome switch
        {
            Failed => LogLevel.Error,
            Cancelled => LogLevel.Information,
            _ => LogLevel.Warning,
        };
        NotServed(logger, level, exception, call, outcome, ms, requestId, ids.NetworkId.OrDash(), ids.EndpointId.OrDash(), ids.PoolId.OrDash(), Telemetry.LogText.Clean(error, 1024));
    }

    private static string OrDash(this string? id) => string.IsNullOrEmpty(id) ? "-" : Telemetry.LogText.Clean(id, 128);
}
