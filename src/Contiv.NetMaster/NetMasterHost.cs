using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.State;
using Microsoft.AspNetCore.Diagnostics;

namespace Contiv.NetMaster;

/// <summary>Builds the netmaster web application (also used by tests, on a free port).</summary>
public static class NetMasterHost
{
    public static async Task<WebApplication> BuildAsync(NetMasterOptions options, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(ToUrl(options.ListenUrl));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ContivJson.Default));

        // Malformed bodies raise BadHttpRequestException (mapped to a JSON error below) instead of
        // an empty 400, outside Development too.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        var store = KeyValueStoreFactory.Create(options.ClusterStore);
        var control = new ContivControl(store);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(control);

        var app = builder.Build();
        app.UseExceptionHandler(errors => errors.Run(WriteErrorAsync));

        // Error statuses the framework produces without an exception (415, 404 on unknown paths,
        // 405) also get the one-line JSON body netctl prints.
        app.UseStatusCodePages(async context =>
        {
            var response = context.HttpContext.Response;
            var message = response.StatusCode switch
            {
                StatusCodes.Status415UnsupportedMediaType => "unsupported content type: send application/json",
                StatusCodes.Status404NotFound => $"no such API path: {context.HttpContext.Request.Path}",
                StatusCodes.Status405MethodNotAllowed => $"method {context.HttpContext.Request.Method} is not allowed on {context.HttpContext.Request.Path}",
                _ => $"request failed with status {response.StatusCode}",
            };
            await response.WriteAsJsonAsync(new ApiError(message), ContivJson.Default.ApiError);
        });
        NetMasterApi.Map(app);

        await control.InitializeAsync(options.FwdMode, ct);
        app.Logger.LogInformation("netmaster {Version} serving on {Url} with state store {Store}",
            VersionInfoReader.Read(typeof(NetMasterHost).Assembly).Version, options.ListenUrl, store.Description);
        return app;
    }

    /// <summary>Accepts Contiv's <c>:9999</c> / <c>host:port</c> forms as well as full URLs.</summary>
    public static string ToUrl(string listen)
    {
        if (listen.Contains("://", StringComparison.Ordinal))
        {
            return listen;
        }

        return listen.StartsWith(':') ? $"http://0.0.0.0{listen}" : $"http://{listen}";
    }

    /// <summary>Maps failures to a status code and a one-line <c>{"error": ...}</c> body.</summary>
    private static async Task WriteErrorAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var (status, message) = error switch
        {
            ContivException { Kind: ErrorKind.Invalid } e => (StatusCodes.Status400BadRequest, e.Message),
            ContivException { Kind: ErrorKind.NotFound } e => (StatusCodes.Status404NotFound, e.Message),
            ContivException { Kind: ErrorKind.Conflict } e => (StatusCodes.Status409Conflict, e.Message),
            ContivException e => (StatusCodes.Status503ServiceUnavailable, e.Message),
            StoreUnavailableException e => (StatusCodes.Status503ServiceUnavailable, e.Message),
            StoreConflictException e => (StatusCodes.Status503ServiceUnavailable, e.Message),
            BadHttpRequestException e => (e.StatusCode == StatusCodes.Status415UnsupportedMediaType ? e.StatusCode : StatusCodes.Status400BadRequest,
                "invalid request body: " + (e.InnerException?.Message ?? e.Message)),
            _ => (StatusCodes.Status500InternalServerError, "internal error: " + error?.Message),
        };

        if (status == StatusCodes.Status500InternalServerError)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("netmaster").LogError(error, "unhandled error");
        }

        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new ApiError(message), ContivJson.Default.ApiError);
    }
}
