namespace Contiv.NetPlugin;

/// <summary>How this host's netplugin is configured (flags or CONTIV_* environment variables).</summary>
public sealed record PluginOptions
{
    /// <summary>The Unix socket dockerd discovers plugins by (its file name is the driver name).</summary>
    public string SocketPath { get; init; } = "/run/docker/plugins/netplugin.sock";

    /// <summary>This host's name as other hosts and netctl show it (homingHost).</summary>
    public string HostName { get; init; } = Environment.MachineName;

    /// <summary>This host's VXLAN tunnel endpoint address on the underlay.</summary>
    public string? VtepIp { get; init; }

    /// <summary>The uplink carrying VLAN-tagged frames (and, by default, VXLAN).</summary>
    public string? VlanInterface { get; init; }

    public string ClusterStore { get; init; } = "embedded:///var/lib/contiv";

    /// <summary>The local Docker engine, where this agent creates the Docker side of Contiv networks.</summary>
    public string DockerEndpoint { get; init; } = "unix:///var/run/docker.sock";

    /// <summary>VXLAN UDP port; configurable so Docker's own overlay (also 4789) can run beside us.</summary>
    public int VxlanPort { get; init; } = 4789;

    public int UnderlayMtu { get; init; } = 1500;

    /// <summary>Host-local runtime state: the per-network namespaces are bind-mounted under it.</summary>
    public string StateDir { get; init; } = "/var/run/contiv";

    /// <summary>Where the container DNS responder listens (null: disabled). Defaults to the VTEP address, port 53.</summary>
    public System.Net.IPEndPoint? DnsListen { get; init; }

    /// <summary>
    /// The scope netplugin reports to Docker: "local" (default: legacy v1 plugin, each agent creates
    /// the Docker networks on its own engine) or "global" (managed v2 plugin in swarm mode: swarm-scoped
    /// networks are created once on a manager, so the agent creates no local Docker networks).
    /// </summary>
    public string Scope { get; init; } = LocalScope;

    public const string LocalScope = "local";

    public const string GlobalScope = "global";

    /// <summary>True in swarm mode (<see cref="Scope"/> "global").</summary>
    public bool IsGlobalScope => Scope == GlobalScope;

    /// <summary>
    /// How old an address lease or endpoint record of this host must be before the agent may
    /// reclaim it when no container uses it (a docker run takes milliseconds between RequestAddress
    /// and CreateEndpoint; this only catches operations a crash cut short).
    /// </summary>
    public TimeSpan ReclaimAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Optional TCP listener for /metrics and /health only (<c>--metrics-listen</c>); null: the socket only.</summary>
    public System.Net.IPEndPoint? MetricsListen { get; init; }

    /// <summary>Console log format: <c>text</c> (default) or <c>json</c>.</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>
    /// The root-only Unix socket contivk8s (the CNI plugin) hands pods' CNI calls to; null: no CNI
    /// endpoint. The program's default is <see cref="DefaultCniSocketPath"/>.
    /// </summary>
    public string? CniSocketPath { get; init; }

    public const string DefaultCniSocketPath = Contiv.Cni.NetworkConfig.DefaultSocket;

    /// <summary>A kubeconfig to read pods' labels from the Kubernetes API server (null: in-cluster config when present, else none).</summary>
    public string? KubeConfig { get; init; }

    /// <summary>The container runtime's CRI socket, to read pods' labels from their sandboxes (null: not asked).</summary>
    public string? CriEndpoint { get; init; }

    /// <summary>Driver name used in Docker networks we create (the socket file name).</summary>
    public string DriverName => Path.GetFileNameWithoutExtension(SocketPath);
}
