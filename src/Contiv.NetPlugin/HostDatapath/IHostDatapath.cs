using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>What a host needs to know to build one network's kernel objects.</summary>
/// <param name="NetworkId">Contiv's id, <c>net.tenant</c>.</param>
/// <param name="Encap"><c>vxlan</c> or <c>vlan</c>.</param>
/// <param name="Tag">VNI or VLAN id; unique per encapsulation, so it names the kernel objects.</param>
public sealed record NetworkDatapathSpec(string NetworkId, string Encap, int Tag);

/// <summary>A network routed by its tenant's gateway on every host (fwd-mode routing).</summary>
/// <param name="Tenant">Routers are per tenant: never a route between tenants.</param>
/// <param name="Gateway">The network's gateway address, served by the tenant router on every host.</param>
public sealed record RoutedNetwork(string Tenant, NetworkDatapathSpec Network, string Gateway, int PrefixLength);

/// <summary>An endpoint on another host that local containers must reach.</summary>
public sealed record RemoteEndpoint(string IpAddress, string MacAddress, string VtepIp);

/// <summary>
/// The per-host kernel datapath, driven by the plugin. One real implementation programs Linux
/// bridges, VXLAN/VLAN devices and veths over netlink; tests substitute a recorder.
/// </summary>
public interface IHostDatapath
{
    /// <summary>Creates (idempotently) the network's bridge and its uplink (VXLAN device or VLAN path).</summary>
    void EnsureNetwork(NetworkDatapathSpec network);

    /// <summary>Removes the network's bridge and uplink; a missing object is not an error.</summary>
    void RemoveNetwork(NetworkDatapathSpec network);

    /// <summary>
    /// Creates the endpoint's veth pair with the host end in the network's bridge and returns the name
    /// of the container end (Docker moves it into the sandbox and renames it ethN).
    /// </summary>
    string CreateEndpoint(NetworkDatapathSpec network, string endpointId, string macAddress, int mtu);

    /// <summary>Deletes the endpoint's veth pair if it still exists (network null: not known any more).</summary>
    void DeleteEndpoint(NetworkDatapathSpec? network, string endpointId);

    /// <summary>
    /// Makes the forwarding entries for a network's remote endpoints and VTEPs exactly equal to the
    /// given sets: adds missing FDB/ARP entries and removes stale ones.
    /// </summary>
    void SyncRemoteEndpoints(NetworkDatapathSpec network, IReadOnlyCollection<RemoteEndpoint> endpoints, IReadOnlyCollection<string> vteps);

    /// <summary>The networks (by spec) whose kernel objects exist on this host, for reconciliation after a restart.</summary>
    IReadOnlyCollection<NetworkDatapathSpec> ListNetworks();

    /// <summary>
    /// Makes this host's tenant routers exactly match <paramref name="networks"/>: one router per
    /// tenant, with an interface holding the gateway address in each of the tenant's routed networks.
    /// An empty set removes every router (bridge mode).
    /// </summary>
    void SyncTenantRouters(IReadOnlyCollection<RoutedNetwork> networks);
}

/// <summary>
/// An address a host service answers on inside each network (netplugin's DNS responder), reachable
/// from the network's containers on-link, whatever their routes say.
/// </summary>
public interface INetworkServiceAddress
{
    /// <summary>Puts <paramref name="address"/> on the network's bridge on this host (idempotent).</summary>
    void EnsureServiceAddress(NetworkDatapathSpec network, System.Net.IPAddress address);

    /// <summary>A socket inside the network's namespace, to listen on that address.</summary>
    System.Net.Sockets.Socket OpenSocket(NetworkDatapathSpec network, System.Net.Sockets.AddressFamily family, System.Net.Sockets.SocketType type, System.Net.Sockets.ProtocolType protocol);
}

/// <summary>Kernel object names derived from tags and endpoint ids, within IFNAMSIZ (15 characters).</summary>
public static class DatapathNames
{
    public static string Bridge(NetworkDatapathSpec n) => n.Encap == "vlan" ? $"cvbr-v{n.Tag}" : $"cvbr-x{n.Tag}";

    public static string Vxlan(int vni) => $"cvx-{vni}";

    public static string Vlan(int vlanId) => $"cvv-{vlanId}";

    public static string HostVeth(string endpointId) => "cvh" + ShortId.Of(endpointId);

    public static string ContainerVeth(string endpointId) => "cvc" + ShortId.Of(endpointId);

    /// <summary>The ifb device inside the network's namespace that shapes what the endpoint's container sends (netprofile).</summary>
    public static string ProfileIfb(string endpointId) => "cvq" + ShortId.Of(endpointId);

    /// <summary>Recovers a network spec from a bridge name, or null for bridges that are not ours.</summary>
    public static NetworkDatapathSpec? ParseBridge(string name)
    {
        if (!name.StartsWith("cvbr-", StringComparison.Ordinal) || name.Length < 7
            || !int.TryParse(name.AsSpan(6), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var tag))
        {
            return null;
        }

        return name[5] switch
        {
            'x' => new NetworkDatapathSpec(string.Empty, "vxlan", tag),
            'v' => new NetworkDatapathSpec(string.Empty, "vlan", tag),
            _ => null,
        };
    }
}
