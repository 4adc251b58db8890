using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Contiv.NetPlugin;

/// <summary>
/// Which nameservers dockerd's embedded DNS forwards containers' questions to, decided the way
/// Docker 20.10 does: dockerd's <c>--dns</c> flags, else <c>dns</c> in its daemon.json, else the
/// host's resolv.conf without loopback servers (systemd-resolved's upstream file when resolv.conf
/// names only its stub), else Google's (8.8.8.8, 8.8.4.4). Pure: the caller reads the files.
/// </summary>
public static class DockerNameservers
{
    public const string DefaultDaemonJson = "/etc/docker/daemon.json";

    public static readonly IReadOnlyList<string> DockerFallback = ["8.8.8.8", "8.8.4.4"];

    /// <summary>The <c>--config-file</c> dockerd was started with (its default otherwise).</summary>
    public static string ConfigFile(IReadOnlyList<string> dockerdArgs) =>
        FlagValues(dockerdArgs, "--config-file").LastOrDefault() ?? DefaultDaemonJson;

    /// <summary>The servers dockerd forwards to, in order, and where that list comes from.</summary>
    public static (IReadOnlyList<string> Servers, string Source) Effective(IReadOnlyList<string> dockerdArgs, string? daemonJson, string? resolvConf)
    {
        var flags = FlagValues(dockerdArgs, "--dns").ToList();
        if (flags.Count > 0)
        {
            return (flags, "dockerd --dns");
        }

        if (DaemonJsonDns(daemonJson) is { Count: > 0 } configured)
        {
            return (configured, ConfigFile(dockerdArgs));
        }

        var fromHost = ResolvConfServers(resolvConf).Where(s => !IPAddress.TryParse(s, out var a) || !IPAddress.IsLoopback(a)).ToList();
        return fromHost.Count > 0 ? (fromHost, "the host's resolv.conf") : (DockerFallback, "Docker's fallback (no usable nameserver in /etc/resolv.conf)");
    }

    /// <summary>The resolv.conf Docker reads: systemd-resolved's upstream list when /etc/resolv.conf names only its stub.</summary>
    public static string ResolvConfPath(string? etcResolvConf) =>
        ResolvConfServers(etcResolvConf).ToList() is ["127.0.0.53"] ? "/run/systemd/resolve/resolv.conf" : "/etc/resolv.conf";

    public static IEnumerable<string> ResolvConfServers(string? resolvConf) =>
        (resolvConf ?? string.Empty).Split('\n')
            .Select(l => l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w.Length >= 2 && w[0] == "nameserver")
            .Select(w => w[1]);

    private static IEnumerable<string> FlagValues(IReadOnlyList<string> args, string flag)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == flag && i + 1 < args.Count)
            {
                yield return args[++i];
            }
            else if (args[i].StartsWith(flag + "=", StringComparison.Ordinal))
            {
                yield return args[i][(flag.Length + 1)..];
            }
        }
    }

    private static List<string>? DaemonJsonDns(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("dns", out var dns) && dns.ValueKind == JsonValueKind.Array
                ? [.. dns.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// At startup: names of containers on other hosts resolve only if dockerd forwards to this host's
/// DNS address first (an upstream asked before it would answer NXDOMAIN for a container name). A
/// host set up otherwise is told so, with the fix, and netplugin does not start.
/// </summary>
public static class DockerDnsCheck
{
    /// <summary>Null when the setup is right or cannot be read (logged to <paramref name="warn"/>); the failure text otherwise.</summary>
    public static string? Verify(PluginOptions options, Action<string> warn)
    {
        if (options.DnsListen is not { } listen)
        {
            return null;
        }

        if (DockerdProcess(options.DockerEndpoint) is not { } pid)
        {
            warn($"cannot tell which nameservers dockerd ({options.DockerEndpoint}) forwards to: make sure its first --dns is {listen.Address}");
            return null;
        }

        IReadOnlyList<string> args;
        try
        {
            args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn($"cannot read dockerd's command line (pid {pid}): {e.Message}; make sure its first --dns is {listen.Address}");
            return null;
        }

        var resolvConf = ReadOrNull(DockerNameservers.ResolvConfPath(ReadOrNull("/etc/resolv.conf")));
        var (servers, source) = DockerNameservers.Effective(args, ReadOrNull(DockerNameservers.ConfigFile(args)), resolvConf);
        if (servers.Count > 0 && IPAddress.TryParse(servers[0], out var first) && first.Equals(listen.Address))
        {
            return null;
        }

        return $"dockerd forwards containers' DNS questions to {string.Join(", ", servers)} (from {source}), not first to this host's " +
            $"DNS responder {listen.Address}, so names of containers on other hosts would not resolve: start dockerd with " +
            $"--dns {listen.Address} followed by your resolvers (or \"dns\": [\"{listen.Address}\", ...] in {DockerNameservers.ConfigFile(args)}), " +
            "or run netplugin with --dns-listen off to go without names across hosts";
    }

    /// <summary>dockerd's pid, from the credentials of its API socket's peer; null if not a reachable Unix socket or not in our pid namespace.</summary>
    private static int? DockerdProcess(string endpoint)
    {
        if (!endpoint.StartsWith("unix://", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(endpoint["unix://".Length..]));
            Span<byte> credentials = stackalloc byte[12]; // struct ucred { pid, uid, gid }
            const int SolSocket = 1, SoPeerCred = 17;
            socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
            var pid = BitConverter.ToInt32(credentials);
            return pid > 0 ? pid : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
