using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration.Json;

namespace Contiv.Telemetry;

/// <summary>
/// The web application builder netmaster and netplugin start from: ASP.NET Core's slim builder
/// without anything that watches the filesystem, so a daemon behaves the same wherever it is
/// started (systemd starts services in <c>/</c>).
/// </summary>
/// <remarks>
/// By default the content root is the current directory and <c>appsettings.json</c>,
/// <c>appsettings.{Environment}.json</c> (and user secrets in Development) are loaded from it with
/// reload-on-change, which puts a recursive inotify watch on the content root: started from
/// <c>/</c>, one watch per directory of the whole filesystem (~40,000 here, seconds of startup and
/// kernel memory, and the per-user inotify limit other programs need). The daemons are configured
/// by flags and environment variables only, so they load no JSON files, watch nothing, and use a
/// fixed content root (their own directory) that nothing reads.
/// </remarks>
public static class DaemonWebApplication
{
    /// <summary>The configuration key (read from the host configuration) that turns off reload-on-change of the JSON files.</summary>
    public const string ReloadConfigOnChangeKey = "hostBuilder:reloadConfigOnChange";

    public static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,

            // Read before the JSON files are added, so they are never watched (Args are the host's
            // command-line configuration; the daemons' own flags are parsed by System.CommandLine).
            Args = [$"--{ReloadConfigOnChangeKey}=false"],
        });

        // Then drop them: settings come from flags and environment variables (Logging__LogLevel__...
        // still works), never from a JSON file that happens to lie next to the executable.
        foreach (var json in builder.Configuration.Sources.OfType<JsonConfigurationSource>().ToList())
        {
            builder.Configuration.Sources.Remove(json);
        }

        return builder;
    }
}
