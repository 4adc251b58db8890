namespace Contiv.NetPlugin;

/// <summary>Tells the swarm manager's IPAM calls from a node's echo of them (see <see cref="Contiv.ControlPlane.SwarmAddressEchoes"/>).</summary>
public static class SwarmAllocator
{
    /// <summary>The option swarmkit's allocator adds to every IPAM call it makes (nodes' endpoint requests carry none).</summary>
    public const string Option = "com.docker.network.ipam.serial";

    /// <summary>True when an IPAM request comes from a node instantiating an endpoint, not from the swarm allocator.</summary>
    public static bool IsNodeRequest(IReadOnlyDictionary<string, string>? options) =>
        options is null || !options.ContainsKey(Option);
}
