using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Contiv.TestSupport;

/// <summary>
/// A private etcd cluster (Debian's <c>/usr/bin/etcd</c>, or <c>$CONTIV_ETCD</c>) of one or more members,
/// each listening on free 127.0.0.1 ports with its own data directory. Members can be killed (SIGKILL by
/// PID), stopped and started again on the same ports and data (outage tests). Disposing kills every
/// member by PID and deletes the directories.
/// </summary>
/// <example>
/// <code>
/// await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);   // skips the test without etcd
/// var store = KeyValueStoreFactory.Create(etcd.UrlWithPrefix("mytest/"));
/// await etcd.KillAsync(await etcd.LeaderIndexAsync());
/// </code>
/// </example>
public sealed class EtcdCluster : IAsyncDisposable
{
    public const string DefaultServerPath = "/usr/bin/etcd";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly ConcurrentDictionary<EtcdMember, byte> Running = new();
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly TempDirectory _directory;
    private readonly EtcdMember[] _members;
    private readonly HttpClient _http;

    static EtcdCluster()
    {
        // A test run that crashes or is aborted must not leave members behind: kill ours (by PID) on exit.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var member in Running.Keys)
            {
                member.KillQuietly();
            }
        };
    }

    private EtcdCluster(TempDirectory directory, int members, bool tls)
    {
        _directory = directory;
        Tls = tls ? EtcdTlsFiles.Create(directory.Combine("tls")) : null;
        _http = Tls is null ? Http : CreateTlsClient(Tls);
        var token = "contiv-test-" + Guid.NewGuid().ToString("N")[..12];
        var ports = FindFreePorts(2 * members);
        _members = [.. Enumerable.Range(0, members).Select(i => new EtcdMember($"m{i}", directory.Combine($"m{i}"), ports[2 * i], ports[(2 * i) + 1], token, Tls))];
        var initialCluster = string.Join(',', _members.Select(member => $"{member.Name}=http://{Host}:{member.PeerPort}"));
        foreach (var member in _members)
        {
            member.InitialCluster = initialCluster;
        }
    }

    /// <summary>The etcd executable used.</summary>
    public static string ServerPath => Environment.GetEnvironmentVariable("CONTIV_ETCD") is { Length: > 0 } path ? path : DefaultServerPath;

    /// <summary>Why no cluster can be started here, or null when <see cref="ServerPath"/> exists.</summary>
    public static string? UnavailableReason => File.Exists(ServerPath)
        ? null
        : $"etcd is not installed at {ServerPath}: install the Debian package etcd-server (scripts/install-deps.sh) or set CONTIV_ETCD";

    /// <summary>Members only ever listen on loopback.</summary>
    public static string Host => "127.0.0.1";

    public int Count => _members.Length;

    /// <summary>The CA and certificates when started with TLS (members require client certificates), else null.</summary>
    public EtcdTlsFiles? Tls { get; }

    /// <summary><c>etcd://127.0.0.1:P1,127.0.0.1:P2,...</c>: every member's client port (plus the TLS files' parameters).</summary>
    public string Url => Description + (Tls is null ? string.Empty : "?" + Tls.UrlParameters);

    /// <summary>How the store names this cluster in messages: <c>etcd://</c> (or <c>etcds://</c>) and the endpoints.</summary>
    public string Description => (Tls is null ? "etcd://" : "etcds://") + string.Join(',', _members.Select(member => $"{Host}:{member.ClientPort}"));

    public string UrlWithPrefix(string prefix) => $"{Url}{(Tls is null ? '?' : '&')}prefix={Uri.EscapeDataString(prefix)}";

    public bool IsRunning(int member) => _members[member].IsRunning;

    public int ClientPort(int member) => _members[member].ClientPort;

    /// <summary>Starts a cluster, or skips the calling test when etcd is not installed.</summary>
    public static Task<EtcdCluster> StartOrSkipAsync(int members = 1, bool tls = false)
    {
        if (UnavailableReason is { } reason)
        {
            Prerequisite.Missing(reason);
        }

        return StartNewAsync(members, tls);
    }

    /// <summary>Starts a cluster of <paramref name="members"/> and waits until it has a leader.</summary>
    public static async Task<EtcdCluster> StartNewAsync(int members = 1, bool tls = false)
    {
        if (UnavailableReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        // A port found free may be taken by another process before etcd binds it: try other ports.
        for (var attempt = 1; ; attempt++)
        {
            var cluster = new EtcdCluster(TempDirectory.Create("contiv-etcd-"), members, tls);
            try
            {
                await Task.WhenAll(Enumerable.Range(0, members).Select(cluster.StartAsync));
                return cluster;
            }
            catch (InvalidOperationException exception) when (attempt < 3 && exception.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts a (stopped) member again on its ports and data; waits until it reports healthy.</summary>
    public async Task StartAsync(int member)
    {
        var process = _members[member];
        process.Start();
        Running[process] = 0;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (!process.IsRunning)
            {
                throw new InvalidOperationException($"etcd member {process.Name} exited during start-up:\n{process.LogTail()}");
            }

            // /health is true once the member has a leader and serves (a lone member of three never does).
            try
            {
                var health = await _http.GetStringAsync(new Uri($"{process.ClientUrl}/health"));
                if (health.Contains("\"true\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
            }

            if (waited.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException($"etcd member {process.Name} was not healthy within {StartTimeout.TotalSeconds} s:\n{process.LogTail()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Starts a stopped member without waiting for it to be healthy (it may need the others back first).</summary>
    public void StartInBackground(int member)
    {
        _members[member].Start();
        Running[_members[member]] = 0;
    }

    /// <summary>SIGKILL by PID: a crash.</summary>
    public async Task KillAsync(int member)
    {
        await _members[member].KillAsync();
        Running.TryRemove(_members[member], out _);
    }

    /// <summary>SIGTERM by PID and wait: a clean stop.</summary>
    public async Task StopAsync(int member)
    {
        await _members[member].StopAsync();
        Running.TryRemove(_members[member], out _);
    }

    /// <summary>
    /// Creates <paramref name="user"/> with the root role and turns authentication on, with etcdctl
    /// (Debian package etcd-client); skips the calling test when etcdctl is missing.
    /// </summary>
    public async Task EnableAuthenticationAsync(string user, string password)
    {
        var etcdctl = Prerequisite.FindOnPath("etcdctl");
        if (etcdctl is null)
        {
            Prerequisite.MissingPackage("etcdctl", "etcd-client");
        }

        var endpoints = string.Join(',', _members.Where(member => member.IsRunning).Select(member => member.ClientUrl));
        string[][] commands = [["user", "add", user, "--new-user-password=" + password], ["user", "grant-role", user, "root"], ["auth", "enable"]];
        foreach (var command in commands)
        {
            var startInfo = new ProcessStartInfo(etcdctl) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            startInfo.Environment["ETCDCTL_API"] = "3";
            startInfo.ArgumentList.Add("--endpoints=" + endpoints);
            foreach (var argument in command)
            {
                startInfo.ArgumentList.Add(argument);
            }

            using var process = Process.Start(startInfo)!;
            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var output = process.StandardOutput.ReadToEndAsync(cancellation.Token);
            var error = process.StandardError.ReadToEndAsync(cancellation.Token);
            await process.WaitForExitAsync(cancellation.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"etcdctl {string.Join(' ', command)} failed ({process.ExitCode}): {await output}{await error}");
            }
        }
    }

    /// <summary>
    /// Compacts the cluster's history up to its current revision (through <paramref name="member"/>'s
    /// gRPC gateway), so watches that would resume from an older revision cannot. Returns that revision.
    /// </summary>
    public async Task<long> CompactAsync(int member)
    {
        var url = _members[member].ClientUrl;
        using var range = new StringContent("{\"key\":\"AA==\"}", Encoding.UTF8, "application/json");
        using var reply = await _http.PostAsync(new Uri($"{url}/v3/kv/range"), range);
        using var json = JsonDocument.Parse(await reply.Content.ReadAsStringAsync());
        var revision = long.Parse(json.RootElement.GetProperty("header").GetProperty("revision").GetString()!, CultureInfo.InvariantCulture);
        using var compact = new StringContent($"{{\"revision\":\"{revision}\",\"physical\":true}}", Encoding.UTF8, "application/json");
        using var compacted = await _http.PostAsync(new Uri($"{url}/v3/kv/compaction"), compact);
        compacted.EnsureSuccessStatusCode();
        return revision;
    }

    /// <summary>The index of the member the running members agree is the leader (retried while an election runs).</summary>
    public async Task<int> LeaderIndexAsync()
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            string? leader = null;
            for (var i = 0; i < _members.Length; i++)
            {
                if (!_members[i].IsRunning)
                {
                    continue;
                }

                try
                {
                    // The gRPC gateway's JSON form of Maintenance.Status (uint64s are strings).
                    using var content = new StringContent("{}", Encoding.UTF8, "application/json");
                    using var reply = await _http.PostAsync(new Uri($"{_members[i].ClientUrl}/v3/maintenance/status"), content);
                    using var json = JsonDocument.Parse(await reply.Content.ReadAsStringAsync());
                    ids[json.RootElement.GetProperty("header").GetProperty("member_id").GetString()!] = i;
                    if (json.RootElement.TryGetProperty("leader", out var value) && value.GetString() is { } id && id != "0")
                    {
                        leader = id;
                    }
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                }
            }

            if (leader is not null && ids.TryGetValue(leader, out var index))
            {
                return index;
            }

            if (waited.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException("the etcd cluster has no leader");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.KillAsync();
            Running.TryRemove(member, out _);
            member.Dispose();
        }

        if (!ReferenceEquals(_http, Http))
        {
            _http.Dispose();
        }

        _directory.Dispose();
    }

    public override string ToString() => $"etcd cluster {Url} (dir {_directory.Path})";

    /// <summary>An HTTP client for the members' own endpoints (/health, the gateway) that presents the client certificate.</summary>
    private static HttpClient CreateTlsClient(EtcdTlsFiles tls)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [tls.LoadClientCertificate()];
        handler.SslOptions.CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
        {
            TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
            RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(tls.LoadAuthorities());
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
    }

    /// <summary>
    /// Distinct free loopback ports: all are held open until every one is chosen, so the system cannot
    /// hand the same port out twice (another process may still take one before etcd binds it).
    /// </summary>
    private static int[] FindFreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    /// <summary>One etcd process: its name, ports, data directory and log (what it printed).</summary>
    private sealed class EtcdMember(string name, string dataDirectory, int clientPort, int peerPort, string clusterToken, EtcdTlsFiles? tls) : IDisposable
    {
        private readonly ConcurrentQueue<string> _log = new();
        private Process? _process;

        public string Name { get; } = name;

        public int ClientPort { get; } = clientPort;

        public int PeerPort { get; } = peerPort;

        public string ClientUrl => $"{(tls is null ? "http" : "https")}://{Host}:{ClientPort}";

        public string InitialCluster { get; set; } = string.Empty;

        public bool IsRunning => _process is { HasExited: false };

        public void Start()
        {
            if (IsRunning)
            {
                throw new InvalidOperationException($"etcd member {Name} is already running (pid {_process!.Id})");
            }

            _process?.Dispose();
            var startInfo = new ProcessStartInfo(ServerPath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            string[] arguments =
            [
                "--name", Name,
                "--data-dir", dataDirectory,
                "--listen-client-urls", ClientUrl,
                "--advertise-client-urls", ClientUrl,
                "--listen-peer-urls", $"http://{Host}:{PeerPort}",
                "--initial-advertise-peer-urls", $"http://{Host}:{PeerPort}",
                "--initial-cluster", InitialCluster,
                "--initial-cluster-token", clusterToken,
                // Ignored when the data directory exists (a restart rejoins with what it has).
                "--initial-cluster-state", "new",
                "--logger", "zap",
                // The store contract commits 500 keys at once; etcd's default allows 128 operations per Txn.
                "--max-txn-ops", "1024",
            ];
            foreach (var argument in arguments)
            {
                startInfo.ArgumentList.Add(argument);
            }

            if (tls is not null)
            {
                // Clients must present a certificate signed by the test CA (peers stay on plain HTTP).
                foreach (var argument in new[] { "--cert-file", tls.MemberCertificateFile, "--key-file", tls.MemberKeyFile, "--trusted-ca-file", tls.CaFile, "--client-cert-auth" })
                {
                    startInfo.ArgumentList.Add(argument);
                }
            }

            _process = Process.Start(startInfo) ?? throw new InvalidOperationException($"cannot start {ServerPath}");
            // Drain the pipes (a full pipe would block the member); keep the tail for failure messages.
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public async Task KillAsync()
        {
            if (_process is { } process)
            {
                KillQuietly();
                using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(cancellation.Token);
            }
        }

        public async Task StopAsync()
        {
            if (_process is not { HasExited: false } process)
            {
                return;
            }

            // SIGTERM by PID (Process.Kill only sends SIGKILL).
            using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false }))
            {
                await kill!.WaitForExitAsync();
            }

            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                await KillAsync();
            }
        }

        public string LogTail() => string.Join('\n', _log.TakeLast(40));

        public void KillQuietly()
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

        public void Dispose() => _process?.Dispose();

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            _log.Enqueue(line);
            while (_log.Count > 200)
            {
                _log.TryDequeue(out _);
            }
        }
    }
}

/// <summary>
/// One single-member <see cref="EtcdCluster"/> shared by the tests of a class. When etcd is not
/// installed the fixture still initialises, and <see cref="Cluster"/> skips each test that asks for it.
/// </summary>
public sealed class EtcdServerFixture : IAsyncLifetime
{
    private EtcdCluster? _cluster;

    public EtcdCluster Cluster
    {
        get
        {
            if (_cluster is null)
            {
                Prerequisite.Missing(EtcdCluster.UnavailableReason ?? "etcd did not start");
            }

            return _cluster;
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (EtcdCluster.UnavailableReason is null)
        {
            _cluster = await EtcdCluster.StartNewAsync(members: 1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
