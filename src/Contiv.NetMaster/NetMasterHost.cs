using System.Security.Authentication;
using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.State;
using Contiv.Telemetry;
using Microsoft.AspNetCore.Diagnostics;

namespace Contiv.NetMaster;

/// <summary>Builds the netmaster web application (also used by tests, on a free port).</summary>
public static class NetMasterHost
{
    /// <summary>The meter of netmaster's instruments, exported on /metrics as <c>contiv_netmaster_*</c>.</summary>
    public const string MeterName = "Contiv.NetMaster";

    public const string MetricPrefix = "contiv.netmaster";

    public static Task<WebApplication> BuildAsync(NetMasterOptions options, CancellationToken ct = default) => BuildAsync(options, null, ct);

    /// <summary>Builds netmaster; <paramref name="configureLogging"/> adds log providers or levels (tests capture logs with it).</summary>
    /// <exception cref="NetMasterConfigurationException">The listen address, TLS or token options are refused (nothing is bound).</exception>
    public static async Task<WebApplication> BuildAsync(NetMasterOptions options, Action<ILoggingBuilder>? configureLogging, CancellationToken ct = default)
    {
        // Checked first: a refused configuration never binds a socket or opens the store.
        var security = NetMasterSecurity.Create(options);
        var builder = DaemonWebApplication.CreateBuilder();
        builder.WebHost.UseUrls([.. security.Urls]);
        if (security.Certificate is { } certificate)
        {
            // The slim builder leaves HTTPS out of Kestrel unless asked for.
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificate = certificate;
                https.ServerCertificateChain = security.Chain;
                https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            }));
        }

        builder.Logging.AddContivConsole(options.LogFormat, builder.Configuration);
        configureLogging?.Invoke(builder.Logging);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ContivJson.Default));

        // Malformed bodies raise BadHttpRequestException (mapped to a JSON error below) instead of
        // an empty 400, outside Development too.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        var store = KeyValueStoreFactory.Create(options.ClusterStore);
        var control = new ContivControl(store);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(control);
        builder.Services.AddSingleton(options);
        builder.Services.AddContivTelemetry("netmaster", MeterName, MetricPrefix);

        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(security.Dispose);
        RequestLogging.UseRequestLog(app);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = WriteErrorAsync,

            // Refusals are answers, not server faults: ASP.NET logs only the other exceptions.
            // A store outage is an answer too (503 naming the store); the request line logs it as an error.
            SuppressDiagnosticsCallback = context => context.Exception is AccessDeniedException or BadHttpRequestException
                or ContivException { Kind: ErrorKind.Invalid or ErrorKind.NotFound or ErrorKind.Conflict }
                or StoreUnavailableException or StoreConflictException,
        });

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
            RequestLogEntry.SetError(context.HttpContext, message);
            await response.WriteAsJsonAsync(new ApiError(message), ContivJson.Default.ApiError);
        });
        app.UseRouting();
        RequestLogging.UseRouteCapture(app);
        TokenAuthentication.Use(app, security.Tokens);
        MapOperations(app);
        NetMasterApi.Map(app);
        NetMasterPolicyApi.Map(app);

        await control.InitializeAsync(options.FwdMode, ct);
        app.Logger.LogInformation("netmaster {Version} serving on {Url} with state store {Store}",
            VersionInfoReader.Read(typeof(NetMasterHost).Assembly).Version, string.Join(", ", security.Urls), store.Description);
        app.Logger.LogInformation("netmaster security: {Transport}, {Tokens}",
            security.Certificate is null ? "plain HTTP (loopback only)" : $"TLS with certificate {security.Certificate.Subject} (SHA-256 {security.Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)})",
            security.Tokens is null ? "no tokens (every caller is admin; loopback only)" : $"{security.Tokens.Count} bearer token(s) from {options.TokenFile}");
        foreach (var warning in security.Warnings)
        {
            app.Logger.LogWarning("netmaster security: {Warning}", warning);
        }

        return app;
    }

    /// <summary>Accepts Contiv's <c>:9999</c> / <c>host:port</c> forms as well as full URLs.</summary>
    public static string ToUrl(string listen) => ToUrl(listen, tls: false);

    /// <summary>As <see cref="ToUrl(string)"/>; <c>host:port</c> becomes https:// when <paramref name="tls"/>.</summary>
    public static string ToUrl(string listen, bool tls)
    {
        if (listen.Contains("://", StringComparison.Ordinal))
        {
            return listen;
        }

        var scheme = tls ? "https" : "http";
        return listen.StartsWith(':') ? $"{scheme}://0.0.0.0{listen}" : $"{scheme}://{listen}";
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
            AccessDeniedException e => (StatusCodes.Status403Forbidden, e.Message),
            _ => (StatusCodes.Status500InternalServerError, "internal error: " + error?.Message),
        };

        if (status == StatusCodes.Status500InternalServerError)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("netmaster").LogError(error, "unhandled error");
        }
        else if (status == StatusCodes.Status403Forbidden)
        {
            var caller = context.Features.Get<Caller>();
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(TokenAuthentication.LogCategory).LogWarning(
                "403 {Method} {Path} from {Remote} with {Caller}: {Reason}", context.Request.Method, TokenAuthentication.LogText(context.Request.Path),
                TokenAuthentication.Remote(context), caller?.Description ?? "no caller", error!.Message);
        }

        if (error is StoreUnavailableException or StoreConflictException)
        {
            context.RequestServices.GetRequiredService<RequestMetrics>().StoreError("request", error is StoreConflictException ? "conflict" : "unavailable");
        }

        RequestLogEntry.SetError(context, message);
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new ApiError(message), ContivJson.Default.ApiError);
    }

    /// <summary>
    /// <c>/health</c> is open to anyone (probes, load balancers: it says whether netmaster and its
    /// store answer); <c>/metrics</c> needs an admin token when tokens are configured, because its
    /// counts describe the whole cluster's activity, which a tenant's token must not see.
    /// </summary>
    private static void MapOperations(WebApplication app)
    {
        // After authentication: a tenant's token is authenticated, and refused here (403).
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.Equals(ContivTelemetry.MetricsPath, StringComparison.Ordinal))
            {
                (context.Features.Get<Caller>() ?? throw new InvalidOperationException("/metrics reached without authentication")).EnsureAdmin("reading /metrics");
            }

            await next(context);
        });
        var (_, health) = app.MapContivOperations();
        health.AllowAnonymous();
    }
}
