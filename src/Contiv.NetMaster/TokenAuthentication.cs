using System.Text;
using Contiv.Model;
using Microsoft.AspNetCore.Authorization;

namespace Contiv.NetMaster;

/// <summary>
/// Bearer-token authentication, after routing so endpoints marked <c>AllowAnonymous</c> (only
/// <c>/health</c>) stay open for probes. Every other request, including unknown paths, needs a
/// token from the token file when one is configured; without one it gets 401 and a JSON error, and
/// the refusal is logged with method, path and remote address (never the header or the token).
/// </summary>
public static class TokenAuthentication
{
    public const string LogCategory = "Contiv.NetMaster.Auth";

    public static void Use(WebApplication app, TokenStore? tokens)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
        app.Use(async (context, next) =>
        {
            if (tokens is null)
            {
                context.Features.Set(Caller.Unauthenticated);
                await next(context);
                return;
            }

            if (context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                // No caller is set, so such an endpoint cannot take one by mistake.
                await next(context);
                return;
            }

            var (caller, reason, message) = Authenticate(context.Request.Headers.Authorization, tokens);
            if (caller is null)
            {
                logger.LogWarning("401 {Method} {Path} from {Remote}: {Reason}", context.Request.Method, LogText(context.Request.Path), Remote(context), reason);
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = reason == "no token"
                    ? "Bearer realm=\"netmaster\""
                    : "Bearer realm=\"netmaster\", error=\"invalid_token\"";
                await context.Response.WriteAsJsonAsync(new ApiError(message), ContivJson.Default.ApiError);
                return;
            }

            context.Features.Set(caller);
            await next(context);
        });
    }

    /// <summary>Remote address and port, for logs.</summary>
    public static string Remote(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } ip ? $"{ip}:{context.Connection.RemotePort}" : "unknown";

    /// <summary>A request path for a log line: control characters (a decoded %0A) would forge lines.</summary>
    public static string LogText(string? value)
    {
        var text = new StringBuilder(value ?? string.Empty);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]))
            {
                text[i] = '?';
            }
        }

        return text.Length > 256 ? text.ToString(0, 256) + "..." : text.ToString();
    }

    private static (Caller? Caller, string Reason, string Message) Authenticate(Microsoft.Extensions.Primitives.StringValues header, TokenStore tokens)
    {
        if (header.Count == 0 || string.IsNullOrWhiteSpace(header[0]))
        {
            return (null, "no token", "authentication required: this netmaster needs a bearer token (netctl --token or CONTIV_TOKEN)");
        }

        const string scheme = "Bearer ";
        var value = header[0]!;
        if (header.Count > 1 || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, "not a bearer token", "authentication required: send the token as \"Authorization: Bearer TOKEN\"");
        }

        var caller = tokens.Find(value[scheme.Length..].Trim());
        return caller is null
            ? (null, "unknown token", "invalid token: netmaster does not accept this bearer token")
            : (caller, string.Empty, string.Empty);
    }
}
