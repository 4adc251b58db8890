using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Contiv.Model;
using Contiv.NetPlugin.Protocol;
using Contiv.State;
using Contiv.Telemetry;

namespace Contiv.NetPlugin;

/// <summary>
/// Maps libnetwork's plugin calls (<c>POST /NetworkDriver.Join</c>, ...) onto <see cref="PluginHandlers"/>.
/// Every reply, including every failure, is JSON: malformed requests get 400 with <c>{"Err"}</c>,
/// refused requests get 200 with <c>{"Err"}</c> (as libnetwork's remote.md asks), and nothing a
/// caller sends can crash the process.
/// </summary>
public static class PluginServer
{
    public const string ContentType = "application/vnd.docker.plugins.v1.2+json";

    /// <summary>Plugin requests are small; a larger body is refused before it is parsed.</summary>
    public const long MaxBodyBytes = 1 << 20;

    public static void Map(IEndpointRouteBuilder app, PluginHandlers h)
    {
        var j = PluginJson.Default;
        Post(app, "/Plugin.Activate", j.EmptyResponse, j.ActivateResponse, (_, _) => Task.FromResult(new ActivateResponse()), allowEmpty: true);

        Post(app, "/NetworkDriver.GetCapabilities", j.EmptyResponse, j.CapabilitiesResponse, (_, _) => Task.FromResult(h.GetCapabilities()), allowEmpty: true);
        Post(app, "/NetworkDriver.CreateNetwork", j.CreateNetworkRequest, j.EmptyResponse, h.CreateNetworkAsync);
        Post(app, "/NetworkDriver.DeleteNetwork", j.NetworkRequest, j.EmptyResponse, h.DeleteNetworkAsync);
        Post(app, "/NetworkDriver.AllocateNetwork", j.CreateNetworkRequest, j.EmptyResponse, (_, _) => Task.FromResult(EmptyResponse.Instance));
        Post(app, "/NetworkDriver.FreeNetwork", j.NetworkRequest, j.EmptyResponse, (_, _) => Task.FromResult(EmptyResponse.Instance));
        Post(app, "/NetworkDriver.CreateEndpoint", j.CreateEndpointRequest, j.CreateEndpointResponse, h.CreateEndpointAsync);
        Post(app, "/NetworkDriver.DeleteEndpoint", j.EndpointRequest, j.EmptyResponse, h.DeleteEndpointAsync);
        Post(app, "/NetworkDriver.EndpointOperInfo", j.EndpointRequest, j.EndpointOperInfoResponse, h.EndpointOperInfoAsync);
        Post(app, "/NetworkDriver.Join", j.JoinRequest, j.JoinResponse, h.JoinAsync);
        Post(app, "/NetworkDriver.Leave", j.EndpointRequest, j.EmptyResponse, (r, _) => Task.FromResult(h.Leave(r)));
        Post(app, "/NetworkDriver.DiscoverNew", j.DiscoveryRequest, j.EmptyResponse, (_, _) => Task.FromResult(EmptyResponse.Instance), allowEmpty: true);
        Post(app, "/NetworkDriver.DiscoverDelete", j.DiscoveryRequest, j.EmptyResponse, (_, _) => Task.FromResult(EmptyResponse.Instance), allowEmpty: true);
        Post(app, "/NetworkDriver.ProgramExternalConnectivity", j.EndpointRequest, j.EmptyResponse, (_, _) => Task.FromResult(EmptyResponse.Instance));
        Post(app, "/NetworkDriver.RevokeExternalConnectivity", j.EndpointRequest, j.EmptyResponse, (_, _) => Task.FromResult(EmptyResponse.Instance));

        Post(app, "/IpamDriver.GetCapabilities", j.EmptyResponse, j.IpamCapabilitiesResponse, (_, _) => Task.FromResult(PluginHandlers.GetIpamCapabilities()), allowEmpty: true);
        Post(app, "/IpamDriver.GetDefaultAddressSpaces", j.EmptyResponse, j.AddressSpacesResponse, (_, _) => Task.FromResult(PluginHandlers.GetDefaultAddressSpaces()), allowEmpty: true);
        Post(app, "/IpamDriver.RequestPool", j.RequestPoolRequest, j.RequestPoolResponse, h.RequestPoolAsync);
        Post(app, "/IpamDriver.ReleasePool", j.ReleasePoolRequest, j.EmptyResponse, (r, _) => Task.FromResult(PluginHandlers.ReleasePool(r)));
        Post(app, "/IpamDriver.RequestAddress", j.RequestAddressRequest, j.RequestAddressResponse, h.RequestAddressAsync);
        Post(app, "/IpamDriver.ReleaseAddress", j.ReleaseAddressRequest, j.EmptyResponse, h.ReleaseAddressAsync);

        // Anything else is a call we do not implement; say so in the protocol's error shape.
        // "{*path}": the default fallback pattern skips paths with a dot, and every plugin call has one.
        // A plain RequestDelegate, not a delegate with injected parameters: the request delegate
        // generator (on with PublishAot) left such a catch-all fallback unmatched (a bare 404).
        app.MapFallback("{*path}", (RequestDelegate)(async context =>
        {
            var loggers = context.RequestServices.GetRequiredService<ILoggerFactory>();
            var message = $"unknown plugin call {context.Request.Path}";
            PluginRequestLog.Write(loggers.CreateLogger(PluginRequestLog.Category), LogText.Clean(context.Request.Path), PluginRequestLog.Unknown, TimeSpan.Zero, context.TraceIdentifier, default, message);

            // Never the path as a label: anyone on the socket could grow the series without bound.
            context.RequestServices.GetService<PluginMetrics>()?.Requests.Record(PluginRequestLog.Unknown, PluginRequestLog.Unknown, TimeSpan.Zero);
            await WriteAsync(context, StatusCodes.Status404NotFound, new ErrorResponse(message), j.ErrorResponse);
        }));
    }

    private static void Post<TRequest, TResponse>(
        IEndpointRouteBuilder app,
        string path,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        Func<TRequest, CancellationToken, Task<TResponse>> handle,
        bool allowEmpty = false)
        where TRequest : class, new()
    {
        var call = path.TrimStart('/');
        app.MapPost(path, async (HttpContext context, ILoggerFactory loggers) =>
        {
            var logger = loggers.CreateLogger(PluginRequestLog.Category);
            var metrics = context.RequestServices.GetService<PluginMetrics>();
            var started = Stopwatch.GetTimestamp();
            var ct = context.RequestAborted;

            // One log line and one measurement per call, whatever happens to it.
            void Done(string outcome, PluginRequestIds ids, string? error = null, Exception? exception = null)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                PluginRequestLog.Write(logger, call, outcome, elapsed, context.TraceIdentifier, ids, error, exception);
                metrics?.Requests.Record(call, outcome, elapsed);
            }

            TRequest? request;
            try
            {
                request = await ReadAsync(context, requestType, allowEmpty, logger, call, ct);
            }
            catch (Exception e) when (e is JsonException or BadHttpRequestException or InvalidDataException or NotSupportedException)
            {
                var message = $"{call}: invalid request: {e.Message}";
                Done(PluginRequestLog.Invalid, default, message);
                await WriteAsync(context, StatusCodes.Status400BadRequest, new ErrorResponse(message), PluginJson.Default.ErrorResponse);
                return;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && ct.IsCancellationRequested)
            {
                Done(PluginRequestLog.Cancelled, default, "the caller closed the connection");
                return;
            }

            try
            {
                var response = await handle(request, ct);
                Done(RequestMetrics.Ok, PluginRequestIds.Of(request, response));
                await WriteAsync(context, StatusCodes.Status200OK, response, responseType);
            }
            catch (Exception e) when (e is ContivException or StoreUnavailableException or StoreConflictException or ArgumentException)
            {
                // The exception is not attached: a refusal is an answer, its message says it all.
                Done(PluginRequestLog.Refused, PluginRequestIds.Of(request), e.Message);
                metrics?.StoreError("request", e);
                await WriteAsync(context, StatusCodes.Status200OK, new ErrorResponse(e.Message), PluginJson.Default.ErrorResponse);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Done(PluginRequestLog.Cancelled, PluginRequestIds.Of(request), "the caller closed the connection");
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                Done(PluginRequestLog.Failed, PluginRequestIds.Of(request), e.Message, e);
                await WriteAsync(context, StatusCodes.Status500InternalServerError, new ErrorResponse($"{call} failed: {e.Message}"), PluginJson.Default.ErrorResponse);
            }
        });
    }

    /// <summary>Set CONTIV_LOG_PLUGIN_BODIES=1 to log every request body dockerd sends (protocol debugging).</summary>
    private static readonly bool LogBodies = Environment.GetEnvironmentVariable("CONTIV_LOG_PLUGIN_BODIES") == "1";

    private static async Task<TRequest> ReadAsync<TRequest>(HttpContext context, JsonTypeInfo<TRequest> type, bool allowEmpty, ILogger logger, string call, CancellationToken ct)
        where TRequest : class, new()
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            throw new InvalidDataException($"body of {context.Request.ContentLength} bytes exceeds the {MaxBodyBytes} byte limit");
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length > MaxBodyBytes)
        {
            throw new InvalidDataException($"body exceeds the {MaxBodyBytes} byte limit");
        }

        if (LogBodies)
        {
            PluginRequestLog.Body(logger, call, context.TraceIdentifier, System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        }

        var isBlank = buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t');
        if (isBlank)
        {
            return allowEmpty ? new TRequest() : throw new InvalidDataException("empty body; a JSON object is required");
        }

        buffer.Position = 0;
        return await JsonSerializer.DeserializeAsync(buffer, type, ct) ?? (allowEmpty ? new TRequest() : throw new InvalidDataException("body is JSON null; a JSON object is required"));
    }

    private static async Task WriteAsync<T>(HttpContext context, int status, T body, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        await JsonSerializer.SerializeAsync(context.Response.Body, body, type, context.RequestAborted);
    }
}
