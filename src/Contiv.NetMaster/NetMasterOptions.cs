namespace Contiv.NetMaster;

/// <summary>How netmaster is configured (from flags or CONTIV_* environment variables).</summary>
public sealed record NetMasterOptions
{
    /// <summary>Loopback by default: the API changes the whole cluster's networking.</summary>
    public string ListenUrl { get; init; } = "127.0.0.1:9999";

    /// <summary>The shared state store: <c>redis://host:port</c> for several hosts, embedded for one.</summary>
    public string ClusterStore { get; init; } = "embedded:///var/lib/contiv";

    /// <summary>Forwarding mode written into the global settings the first time the cluster starts.</summary>
    public string FwdMode { get; init; } = "bridge";

    /// <summary>Console log format: <c>text</c> (default) or <c>json</c> (one JSON object per line).</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>
    /// PEM certificate (the server's first, then any intermediates) to serve HTTPS with; goes with
    /// <see cref="TlsKeyFile"/>. Required when listening on anything but loopback.
    /// </summary>
    public string? TlsCertFile { get; init; }

    /// <summary>PEM private key (unencrypted PKCS#8, PKCS#1 or EC) of <see cref="TlsCertFile"/>.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>
    /// Bearer tokens, one per line: <c>TOKEN</c> (admin: everything) or <c>TOKEN TENANT</c> (only that
    /// tenant's objects). When given, every request but <c>/health</c> needs one of them, on any
    /// address. Required when listening on anything but loopback.
    /// </summary>
    public string? TokenFile { get; init; }

    /// <summary>
    /// After how long without a heartbeat (agents send one every 10 s) a host is presumed dead, so
    /// that `netctl host rm` may reclaim its endpoints without --force.
    /// </summary>
    public TimeSpan HostTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a network or group create waits for its Docker network on every live host (see <see cref="DockerNetworkWait"/>).</summary>
    public TimeSpan DockerNetworkWait { get; init; } = TimeSpan.FromSeconds(5);
}
