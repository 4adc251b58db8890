using System.Diagnostics;
using System.Text;
using Contiv.Cni;
using Contiv.Model;
using Contiv.State;
using Contiv.Telemetry;

namespace Contiv.NetPlugin.Cni;

/// <summary>
/// netplugin's CNI endpoint: <c>POST /ContivCNI.AddPod|DelPod|CheckPod</c> from contivk8s on the
/// root-only CNI socket. 200 carries ADD's result (in the caller's CNI version) or nothing; every
/// failure is CNI's error object with a 4xx/5xx status, so contivk8s can print it unchanged.
/// </summary>
public static class CniServer
{
    public const string ContentType = "application/json";

    public static void Map(IEndpointRouteBuilder app, PodNetworks pods)
    {
        Post(app, PodRequest.AddPath, async (request, ct) => (await pods.AddAsync(request, ct)).ToJson(request.CniVersion));
        Post(app, PodRequest.DelPath, async (request, ct) =>
        {
            await pods.DelAsync(request, ct);
            return null;
        });
        Post(app, PodRequest.CheckPath, async (request, ct) =>
        {
            await pods.CheckAsync(request, ct);
            return null;
        });
    }

    private static void Post(IEndpointRouteBuilder app, string path, Func<PodRequest, CancellationToken, Task<string?>> handle)
    {
        var call = path.TrimStart('/');
        app.MapPost(path, async (HttpContext context, ILoggerFactory loggers) =>
        {
            var logger = loggers.CreateLogger(PluginRequestLog.Category);
            var metrics = context.RequestServices.GetService<PluginMetrics>();
            var started = Stopwatch.GetTimestamp();
            var version = CniVersions.Current;
            PluginRequestIds ids = default;

            void Done(string outcome, string? error = null, Exception? exception = null)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                PluginRequestLog.Write(logger, call, outcome, elapsed, context.TraceIdentifier, ids, error, exception);
                metrics?.Requests.Record(call, outcome, elapsed);
            }

            try
            {
                var request = PodRequest.Parse(await ReadBodyAsync(context));
                version = request.CniVersion;
                ids = new PluginRequestIds(null, request.EndpointId, null);
                var result = await handle(request, context.RequestAborted);
                Done(RequestMetrics.Ok);
                context.Response.StatusCode = StatusCodes.Status200OK;
                if (result is not null)
                {
                    context.Response.ContentType = ContentType;
                    await context.Response.WriteAsync(result, context.RequestAborted);
                }
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                Done(PluginRequestLog.Cancelled, "the caller closed the connection");
            }
            catch (Exception e)
            {
                var (status, code, outcome) = Classify(e);
                Done(outcome, e.Message, outcome == PluginRequestLog.Failed ? e : null);
                context.Response.StatusCode = status;
                context.Response.ContentType = ContentType;
                await context.Response.WriteAsync(CniJson.Error(version, code, e.Message, (e as CniException)?.Details), context.RequestAborted);
            }
        });
    }

    /// <summary>Which CNI error a failure is: the runtime retries "try again later" and shows the rest.</summary>
    public static (int Status, CniErrorCode Code, string Outcome) Classify(Exception e) => e switch
    {
        CniException { Code: CniErrorCode.DecodingFailure or CniErrorCode.InvalidEnvironment or CniErrorCode.IncompatibleVersion } c => (StatusCodes.Status400BadRequest, c.Code, PluginRequestLog.Invalid),
        CniException c => (StatusCodes.Status409Conflict, c.Code, PluginRequestLog.Refused),
        StoreUnavailableException => (StatusCodes.Status503ServiceUnavailable, CniErrorCode.TryAgainLater, PluginRequestLog.Refused),
        ContivException { Kind: ErrorKind.Unavailable } => (StatusCodes.Status503ServiceUnavailable, CniErrorCode.TryAgainLater, PluginRequestLog.Refused),
        ContivException or StoreConflictException or ArgumentException => (StatusCodes.Status409Conflict, CniErrorCode.Refused, PluginRequestLog.Refused),
        _ => (StatusCodes.Status500InternalServerError, CniErrorCode.PluginUnavailable, PluginRequestLog.Failed),
    };

    private static async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        if (buffer.Length > PluginServer.MaxBodyBytes)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"the pod request exceeds {PluginServer.MaxBodyBytes} bytes");
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
