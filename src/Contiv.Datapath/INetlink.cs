using System.Net;
using System.Net.NetworkInformation;

namespace Contiv.Datapath;

/// <summary>
/// The kernel datapath operations the netplugin needs, in one network namespace. Devices are named;
/// a name that does not exist fails with <see cref="NetlinkException"/> (ENODEV), as does every
/// request the kernel refuses. Implemented over rtnetlink by <see cref="RouteNetlink"/>.
/// </summary>
public interface INetlink
{
    LinkInfo? GetLink(string name);

    LinkInfo? GetLink(int index);

    IReadOnlyList<LinkInfo> ListLinks();

    void CreateBridge(string name, int? mtu = null);

    void CreateVxlan(VxlanOptions options);

    void CreateVethPair(VethPairOptions options);

    /// <summary>An 802.1Q sub-interface. Fails with EOPNOTSUPP on kernels without 8021q; see <see cref="SupportsVlanDevices"/>.</summary>
    void CreateVlan(string name, string parent, int vlanId);

    /// <summary>Whether this kernel can create 802.1Q vlan devices (asks it; creates nothing).</summary>
    bool SupportsVlanDevices();

    void DeleteLink(string name);

    void SetLinkUp(string name);

    void SetLinkDown(string name);

    void SetMtu(string name, int mtu);

    void SetMacAddress(string name, PhysicalAddress macAddress);

    /// <summary>Enslaves <paramref name="name"/> to the bridge <paramref name="master"/>.</summary>
    void SetMaster(string name, string master);

    void SetNoMaster(string name);

    /// <summary>Older kernels refuse to rename a device that is up (EBUSY); recent ones (e.g. 6.18) allow it.</summary>
    void RenameLink(string name, string newName);

    void MoveToNamespace(string name, NetworkNamespace target);

    void MoveToNamespaceOfProcess(string name, int pid);

    void AddAddress(string device, IPAddress address, int prefixLength);

    void DeleteAddress(string device, IPAddress address, int prefixLength);

    /// <summary>IPv4 and IPv6 addresses, of one device or (null) all.</summary>
    IReadOnlyList<AddressInfo> ListAddresses(string? device = null);

    /// <summary>Adds a static FDB entry to a vxlan device (fails with EEXIST if the MAC has one).</summary>
    void AddFdbEntry(string device, PhysicalAddress macAddress, IPAddress remoteVtep);

    /// <summary>Adds or updates the entry for <paramref name="macAddress"/> to point at <paramref name="remoteVtep"/>.</summary>
    void ReplaceFdbEntry(string device, PhysicalAddress macAddress, IPAddress remoteVtep);

    /// <summary>
    /// Adds one more destination for a MAC; with the all-zeros MAC this is the flood list for
    /// broadcast, unknown-unicast and multicast traffic (one entry per remote VTEP).
    /// </summary>
    void AppendFdbEntry(string device, PhysicalAddress macAddress, IPAddress remoteVtep);

    /// <summary>Deletes the entry; with <paramref name="remoteVtep"/> only that destination of it.</summary>
    void DeleteFdbEntry(string device, PhysicalAddress macAddress, IPAddress? remoteVtep = null);

    IReadOnlyList<FdbEntry> ListFdbEntries(string device);

    /// <summary>Adds a permanent neighbour (fails with EEXIST if one exists for the address).</summary>
    void AddNeighbour(string device, IPAddress address, PhysicalAddress macAddress);

    void ReplaceNeighbour(string device, IPAddress address, PhysicalAddress macAddress);

    void DeleteNeighbour(string device, IPAddress address);

    IReadOnlyList<NeighbourEntry> ListNeighbours(string? device = null);

    void AddRoute(RouteSpec route);

    void DeleteRoute(RouteSpec route);

    /// <summary>IPv4 and IPv6 routes of one table.</summary>
    IReadOnlyList<RouteEntry> ListRoutes(int table = RouteSpec.MainTable);
}
