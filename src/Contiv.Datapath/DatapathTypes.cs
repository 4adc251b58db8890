using System.Net;
using System.Net.NetworkInformation;

namespace Contiv.Datapath;

/// <summary>A network device as the kernel reports it (RTM_NEWLINK).</summary>
/// <param name="Kind">IFLA_INFO_KIND ("bridge", "vxlan", "veth", ...); null for devices without link info (lo, physical NICs).</param>
/// <param name="MasterIndex">IFLA_MASTER: the bridge this device is enslaved to.</param>
/// <param name="ParentIndex">IFLA_LINK: the veth peer or a vlan's parent (may be an index in another namespace).</param>
/// <param name="IsAdminUp">IFF_UP: set up by an administrator.</param>
/// <param name="IsOperUp">
/// Operationally up: IFLA_OPERSTATE is IF_OPER_UP, or IF_OPER_UNKNOWN (drivers such as vxlan and
/// bridge without ports report no state) while the device is IFF_RUNNING.
/// </param>
public sealed record LinkInfo(
    int Index,
    string Name,
    string? Kind,
    int Mtu,
    PhysicalAddress? MacAddress,
    int? MasterIndex,
    int? ParentIndex,
    bool IsAdminUp,
    bool IsOperUp,
    VxlanInfo? Vxlan)
{
    public int? VxlanId => Vxlan?.Id;
}

/// <summary>The IFLA_INFO_DATA of a vxlan device.</summary>
public sealed record VxlanInfo(int Id, IPAddress? Local, int Port, bool Learning, int? UnderlayIndex, int Ttl);

/// <summary>What to create with <see cref="INetlink.CreateVxlan"/>.</summary>
/// <param name="Vni">IFLA_VXLAN_ID (24 bits).</param>
/// <param name="Local">IFLA_VXLAN_LOCAL / IFLA_VXLAN_LOCAL6: the VTEP source address.</param>
/// <param name="UnderlayDevice">IFLA_VXLAN_LINK: the device the encapsulated packets leave through.</param>
/// <param name="Port">IFLA_VXLAN_PORT: UDP destination port (4789 is the IANA port).</param>
/// <param name="Learning">IFLA_VXLAN_LEARNING: off by default, because Contiv programs the FDB itself.</param>
/// <param name="Ttl">IFLA_VXLAN_TTL: null keeps the kernel default.</param>
public sealed record VxlanOptions(
    string Name,
    int Vni,
    IPAddress Local,
    string? UnderlayDevice = null,
    int Port = 4789,
    bool Learning = false,
    int? Ttl = null,
    int? Mtu = null);

/// <summary>What to create with <see cref="INetlink.CreateVethPair"/>.</summary>
/// <param name="PeerNamespace">When set, the peer is created directly inside this namespace (IFLA_NET_NS_FD).</param>
public sealed record VethPairOptions(
    string Name,
    string PeerName,
    int? Mtu = null,
    NetworkNamespace? PeerNamespace = null);

/// <summary>An interface address (RTM_NEWADDR).</summary>
public sealed record AddressInfo(int LinkIndex, IPAddress Address, int PrefixLength, string? Label);

/// <summary>
/// A forwarding-database entry (AF_BRIDGE neighbour). On a vxlan device, <see cref="Destination"/>
/// (NDA_DST) is the remote VTEP; the all-zeros MAC lists one entry per flood destination.
/// </summary>
/// <param name="IsSelf">NTF_SELF: the entry lives in the device's own table (vxlan), not its master bridge's.</param>
public sealed record FdbEntry(
    int LinkIndex,
    PhysicalAddress MacAddress,
    IPAddress? Destination,
    int? MasterIndex,
    bool IsSelf,
    bool IsPermanent);

/// <summary>An ARP (IPv4) or neighbour-discovery (IPv6) entry.</summary>
/// <param name="State">NUD_* bits (NUD_PERMANENT is 0x80).</param>
public sealed record NeighbourEntry(int LinkIndex, IPAddress Address, PhysicalAddress? MacAddress, int State)
{
    public bool IsPermanent => (State & 0x80) != 0; // NUD_PERMANENT
}

/// <summary>A route to add or delete. No gateway means a directly connected (scope link) route.</summary>
public sealed record RouteSpec(
    IPAddress Destination,
    int PrefixLength,
    IPAddress? Gateway = null,
    string? OutputDevice = null,
    int Table = RouteSpec.MainTable,
    int? Metric = null)
{
    /// <summary>RT_TABLE_MAIN, the table `ip route` shows.</summary>
    public const int MainTable = 254;

    public override string ToString() =>
        $"{Destination}/{PrefixLength}"
        + (Gateway is null ? "" : $" via {Gateway}")
        + (OutputDevice is null ? "" : $" dev {OutputDevice}")
        + (Table == MainTable ? "" : $" table {Table}");
}

/// <summary>A route as listed by the kernel.</summary>
public sealed record RouteEntry(
    IPAddress Destination,
    int PrefixLength,
    IPAddress? Gateway,
    int? OutputIndex,
    int Table,
    int Scope,
    int Protocol,
    int? Metric);
