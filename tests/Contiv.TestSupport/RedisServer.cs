using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Contiv.TestSupport;

/// <summary>What kind of <see cref="RedisServer"/> to start.</summary>
public sealed record RedisServerOptions
{
    /// <summary>Also listen on <c>DIR/redis.sock</c> (see <see cref="RedisServer.UnixSocketUrl"/>).</summary>
    public bool UnixSocket { get; init; }

    /// <summary>Further redis-server arguments, e.g. <c>["--requirepass", "secret"]</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
}

/// <summary>
/// A private redis-server (Debian's <c>/usr/bin/redis-server</c>, or <c>$CONTIV_REDIS_SERVER</c>) on a free
/// 127.0.0.1 port with its own data directory, append-only persistence and no RDB snapshots. It can be
/// stopped and started again on the same port and directory (outage and persistence tests). Disposing
/// kills it by PID and deletes the directory.
/// </summary>
/// <example>
/// <code>
/// await using var redis = await RedisServer.StartOrSkipAsync();   // skips the test without redis-server
/// var store = KeyValueStoreFactory.Create(redis.UrlWithPrefix("mytest/"));
/// </code>
/// For one server per test class, use <see cref="RedisServerFixture"/>.
/// </example>
public sealed class RedisServer : IAsyncDisposable
{
    public const string DefaultServerPath = "/usr/bin/redis-server";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly ConcurrentDictionary<RedisServer, byte> Running = new();

    private readonly RedisServerOptions _options;
    private readonly TempDirectory _directory;
    private Process? _process;

    static RedisServer()
    {
        // A test run that crashes or is aborted must not leave servers behind: kill ours (by PID) on exit.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var server in Running.Keys)
            {
                server.KillQuietly();
            }
        };
    }

    private RedisServer(RedisServerOptions options, TempDirectory directory, int port)
    {
        _options = options;
        _directory = directory;
        Port = port;
    }

    /// <summary>The redis-server executable used.</summary>
    public static string ServerPath => Environment.GetEnvironmentVariable("CONTIV_REDIS_SERVER") is { Length: > 0 } path ? path : DefaultServerPath;

    /// <summary>Why no server can be started here, or null when <see cref="ServerPath"/> exists.</summary>
    public static string? UnavailableReason => File.Exists(ServerPath)
        ? null
        : $"redis-server is not installed at {ServerPath} (install the redis-server package, e.g. scripts/install-deps.sh, or set CONTIV_REDIS_SERVER)";

    /// <summary>Servers only ever listen on loopback.</summary>
    public static string Host => "127.0.0.1";

    public int Port { get; }

    /// <summary>Holds the append-only files, the log (<c>redis.log</c>) and the Unix socket.</summary>
    public string DataDirectory => _directory.Path;

    /// <summary>The Unix socket path, when started with <see cref="RedisServerOptions.UnixSocket"/>.</summary>
    public string? UnixSocketPath => _options.UnixSocket ? _directory.Combine("redis.sock") : null;

    /// <summary>PID of the running server, or null while stopped.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public bool IsRunning => ProcessId is not null;

    /// <summary><c>redis://127.0.0.1:PORT</c>.</summary>
    public string Url => $"redis://{Host}:{Port}";

    /// <summary><c>redis+unix:///DIR/redis.sock</c>.</summary>
    public string UnixSocketUrl => UnixSocketPath is { } path
        ? "redis+unix://" + path
        : throw new InvalidOperationException("this server was started without a Unix socket (RedisServerOptions.UnixSocket)");

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>Starts a server, or skips the calling test when redis-server is not installed.</summary>
    public static Task<RedisServer> StartOrSkipAsync(RedisServerOptions? options = null)
    {
        if (UnavailableReason is { } reason)
        {
            Prerequisite.Missing(reason);
        }

        return StartNewAsync(options);
    }

    /// <summary>Starts a server; throws when redis-server is missing (see <see cref="StartOrSkipAsync"/>).</summary>
    public static async Task<RedisServer> StartNewAsync(RedisServerOptions? options = null)
    {
        if (UnavailableReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        options ??= new RedisServerOptions();
        // The free port is found by binding port 0 and releasing it, which another process could take
        // before redis-server binds it: try a few ports.
        for (var attempt = 1; ; attempt++)
        {
            var directory = TempDirectory.Create("contiv-redis-");
            var server = new RedisServer(options, directory, FindFreePort());
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && server.LogText().Contains("Address already in use", StringComparison.Ordinal))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary><see cref="Url"/> with a key prefix, so tests sharing a server do not see each other.</summary>
    public string UrlWithPrefix(string prefix) => $"{Url}?prefix={Uri.EscapeDataString(prefix)}";

    /// <summary>Starts the (stopped) server again on the same port and directory, replaying its append-only file.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"redis-server on port {Port} is already running (pid {ProcessId})");
        }

        var startInfo = new ProcessStartInfo(ServerPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] arguments =
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", Host,
            "--daemonize", "no",
            "--save", string.Empty,
            "--appendonly", "yes",
            "--dir", DataDirectory,
            "--logfile", _directory.Combine("redis.log"),
        ];
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (UnixSocketPath is { } socketPath)
        {
            startInfo.ArgumentList.Add("--unixsocket");
            startInfo.ArgumentList.Add(socketPath);
            startInfo.ArgumentList.Add("--unixsocketperm");
            startInfo.ArgumentList.Add("700");
        }

        foreach (var argument in _options.ExtraArguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        _process = Process.Start(startInfo) ?? throw new InvalidOperationException($"cannot start {ServerPath}");
        // Drain the pipes (everything goes to the log file, but a full pipe would block the server).
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Running[this] = 0;

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server on port {Port} exited with code {_process.ExitCode} during start-up:\n{LogText()}");
            }

            // PONG, not just an open port: a restarted server answers LOADING while replaying its AOF.
            try
            {
                var reply = await RespClient.ExecuteAsync(EndPoint, ["PING"], TimeSpan.FromSeconds(1));
                if (reply is "PONG" || reply is RedisErrorReply { Message: var error } && error.StartsWith("NOAUTH", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException)
            {
            }

            if (waited.Elapsed > StartTimeout)
            {
                KillQuietly();
                throw new InvalidOperationException($"redis-server on port {Port} did not answer PING within {StartTimeout.TotalSeconds} s:\n{LogText()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Graceful stop (SHUTDOWN: the append-only file is flushed); the port and directory are kept.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        try
        {
            // SHUTDOWN closes the connection instead of replying.
            _ = await RespClient.ExecuteAsync(EndPoint, ["SHUTDOWN"], TimeSpan.FromSeconds(5));
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException)
        {
        }

        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            KillQuietly();
        }

        Running.TryRemove(this, out _);
    }

    /// <summary>SIGKILL by PID: a crash, without flushing anything.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            KillQuietly();
            await process.WaitForExitAsync();
        }

        Running.TryRemove(this, out _);
    }

    /// <summary>Runs one command on the server directly (see <see cref="RespClient.ExecuteAsync"/>).</summary>
    public Task<object?> ExecuteAsync(params string[] command) => RespClient.ExecuteAsync(EndPoint, command, TimeSpan.FromSeconds(5));

    /// <summary>The server's log, for failure messages.</summary>
    public string LogText()
    {
        try
        {
            return File.ReadAllText(_directory.Combine("redis.log"));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        _directory.Dispose();
    }

    public override string ToString() => $"redis-server {Url} (pid {ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "stopped"}, dir {DataDirectory})";

    private static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void KillQuietly()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: false);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }
}

/// <summary>
/// One <see cref="RedisServer"/> shared by the tests of a class (<c>IClassFixture&lt;RedisServerFixture&gt;</c>)
/// or a collection. When redis-server is not installed the fixture still initialises, and
/// <see cref="Server"/> skips each test that asks for it.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    /// <summary>The running server; skips the calling test when redis-server is not installed.</summary>
    public RedisServer Server
    {
        get
        {
            if (_server is null)
            {
                Prerequisite.Missing(RedisServer.UnavailableReason ?? "redis-server did not start");
            }

            return _server;
        }
    }

    /// <summary>A prefix no other test in this run uses, for <see cref="RedisServer.UrlWithPrefix"/>.</summary>
    public static string UniquePrefix(string name = "test") => $"{name}-{Guid.NewGuid():N}/";

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.UnavailableReason is null)
        {
            _server = await RedisServer.StartNewAsync(new RedisServerOptions { UnixSocket = true });
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
