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
}
