using System.Net;

namespace Contiv.NetPlugin;

/// <summary>How a pod's interface is to look inside its network namespace (what CNI ADD sets and CHECK verifies).</summary>
/// <param name="NetworkNamespace">CNI_NETNS: a path to the pod's network namespace (e.g. /var/run/netns/cni-...).</param>
/// <param name="InterfaceName">CNI_IFNAME, usually eth0.</param>
/// <param name="Gateway">The network's gateway: the pod's default route goes through it; null for none.</param>
public sealed record PodInterfaceConfig(string NetworkNamespace, string InterfaceName, IPAddress Address, int PrefixLength, IPAddress? Gateway, string MacAddress, int Mtu);

/// <summary>What a pod's interface looks like now (CHECK compares it with <see cref="PodInterfaceConfig"/>).</summary>
public sealed record PodInterfaceState(string MacAddress, int Mtu, bool IsUp, IReadOnlyList<(IPAddress Address, int PrefixLength)> Addresses, IReadOnlyList<IPAddress> DefaultGateways);

/// <summary>
/// Pods' side of an endpoint: Docker moves an endpoint's container end into its sandbox itself; for
/// a pod, netplugin does (the CNI contract), then names, addresses and routes it there.
/// </summary>
public interface IPodInterfaces
{
    /// <summary>
    /// Moves <paramref name="containerSide"/> (the endpoint's veth end in this host's namespace, from
    /// <see cref="IHostDatapath.CreateEndpoint"/>) into the pod's namespace as configured. A failure
    /// leaves the link where it failed; deleting the endpoint removes it wherever it is.
    /// </summary>
    void AttachToPod(string containerSide, PodInterfaceConfig config);

    /// <summary>The interface in the pod's namespace, or null when the namespace or the interface is gone.</summary>
    PodInterfaceState? InspectPod(string networkNamespace, string interfaceName);
}
