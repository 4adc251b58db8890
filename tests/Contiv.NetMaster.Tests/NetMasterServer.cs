using System.Net;
using System.Net.Sockets;
using Contiv.ControlPlane;
using Contiv.NetCtl;
using Contiv.State;
using Contiv.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>What one netctl invocation printed and returned.</summary>
public sealed record NetCtlRun(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// The real netmaster, in process, on a free loopback port over an embedded store in a temp
/// directory; netctl runs in process against it with captured stdout/stderr. <see cref="RestartAsync"/>
/// replaces the server by a new one on the same state directory.
/// </summary>
public sealed class NetMasterServer : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private readonly bool _ownsDirectory;
    private readonly string? _clusterStore;
    private readonly Action<ILoggingBuilder>? _configureLogging;
    private WebApplication? _app;

    private NetMasterServer(TempDirectory directory, bool ownsDirectory, string? clusterStore, Action<ILoggingBuilder>? configureLogging)
    {
        _directory = directory;
        _ownsDirectory = ownsDirectory;
        _clusterStore = clusterStore;
        _configureLogging = configureLogging;
    }

    public string Url { get; private set; } = string.Empty;

    public string StateDirectory => _directory.Path;

    public HttpClient Http { get; private set; } = new();

    /// <summary>The server's own control plane (same store), to play netplugin's part (endpoints, addresses).</summary>
    public ContivControl Control => _app!.Services.GetRequiredService<ContivControl>();

    /// <param name="clusterStore">Another store (e.g. a test's Redis) instead of the embedded one in the directory.</param>
    /// <param name="configureLogging">Adds log providers (e.g. a LogCapture's AddTo).</param>
    public static async Task<NetMasterServer> StartAsync(TempDirectory? directory = null, string? clusterStore = null, Action<ILoggingBuilder>? configureLogging = null)
    {
        var server = new NetMasterServer(directory ?? TempDirectory.Create("contiv-nm-"), directory is null, clusterStore, configureLogging);
        await server.StartAppAsync();
        return server;
    }

    /// <summary>Stops this netmaster and starts a new one (new port, new process state) on the same directory.</summary>
    public async Task RestartAsync()
    {
        await StopAppAsync();
        await StartAppAsync();
    }

    public async Task<NetCtlRun> NetCtlAsync(params string[] args) => await RunNetCtlAsync(Url, args);

    /// <summary>Runs a fixture's netctl set-up commands in order against this netmaster.</summary>
    public Task SetUpAsync(params string[][] commands) => SetUpAsync(NetCtlAsync, commands);

    /// <summary>
    /// Runs set-up commands in order through <paramref name="netctl"/>; the first failure throws, so
    /// a fixture never starts its tests on half its state.
    /// </summary>
    public static async Task SetUpAsync(Func<string[], Task<NetCtlRun>> netctl, params string[][] commands)
    {
        ArgumentNullException.ThrowIfNull(netctl);
        ArgumentNullException.ThrowIfNull(commands);
        foreach (var args in commands)
        {
            var run = await netctl(args);
            if (run.ExitCode != 0)
            {
                throw new InvalidOperationException($"setup: netctl {string.Join(' ', args)} failed: {run.Stderr}");
            }
        }
    }

    /// <summary>Runs netctl in process against any netmaster URL, as the real binary would (10 s timeout).</summary>
    public static async Task<NetCtlRun> RunNetCtlAsync(string url, params string[] args)
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        using var stderr = new StringWriter { NewLine = "\n" };
        var commands = new NetCtlCommands(stdout, stderr, connection => NetmasterClient.Create(connection, TimeSpan.FromSeconds(10)));
        var code = await commands.RunAsync(["--netmaster", url, .. args], TestContext.Current.CancellationToken);
        return new NetCtlRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAppAsync();
        if (_ownsDirectory)
        {
            _directory.Dispose();
        }
    }

    private async Task StartAppAsync()
    {
        // Port 0: Kestrel picks a free port, so parallel tests never race for one.
        _app = await NetMasterHost.BuildAsync(
            new NetMasterOptions
            {
                ListenUrl = "127.0.0.1:0",
                ClusterStore = _clusterStore ?? "embedded://" + _directory.Path,
            },
            _configureLogging);
        await _app.StartAsync();
        Url = _app.Urls.Single(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(10) };
    }

    private async Task StopAppAsync()
    {
        if (_app is null)
        {
            return;
        }

        Http.Dispose();
        var store = _app.Services.GetRequiredService<IKeyValueStore>();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await store.DisposeAsync();
        _app = null;
    }
}
