using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using static Contiv.Datapath.Netlink.Uapi;

namespace Contiv.Datapath.Netlink;

/// <summary>
/// Builds the rtnetlink requests behind <see cref="INetlink"/>. Pure: device names that must become
/// indexes are resolved by the caller, so each request can be checked byte for byte.
/// </summary>
internal static class RtnetlinkRequests
{
    /// <summary>NLM_F_CREATE|NLM_F_EXCL is "add": fail with EEXIST rather than touch an existing object.</summary>
    public const ushort CreateFlags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    public const ushort ReplaceFlags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    public const ushort AppendFlags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND;
    public const ushort ChangeFlags = NLM_F_REQUEST | NLM_F_ACK;
    public const ushort DumpFlags = NLM_F_REQUEST | NLM_F_DUMP;

    public static NetlinkMessageBuilder GetLink(string name)
    {
        var request = new NetlinkMessageBuilder(RTM_GETLINK, ChangeFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, 0, 0));
        request.AddString(IFLA_IFNAME, name);
        return request;
    }

    public static NetlinkMessageBuilder GetLink(int index)
    {
        var request = new NetlinkMessageBuilder(RTM_GETLINK, ChangeFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, index, 0, 0));
        return request;
    }

    public static NetlinkMessageBuilder DumpLinks()
    {
        var request = new NetlinkMessageBuilder(RTM_GETLINK, DumpFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, 0, 0));
        return request;
    }

    public static NetlinkMessageBuilder CreateBridge(string name, int? mtu)
    {
        var request = NewLink(name, mtu);
        var linkInfo = request.BeginNested(IFLA_LINKINFO);
        request.AddString(IFLA_INFO_KIND, "bridge");
        request.EndNested(linkInfo);
        return request;
    }

    public static NetlinkMessageBuilder CreateVxlan(VxlanOptions options, int? underlayIndex)
    {
        var request = NewLink(options.Name, options.Mtu);
        var linkInfo = request.BeginNested(IFLA_LINKINFO);
        request.AddString(IFLA_INFO_KIND, "vxlan");
        var data = request.BeginNested(IFLA_INFO_DATA);
        request.AddUInt32(IFLA_VXLAN_ID, (uint)options.Vni);
        request.AddAddress(options.Local.AddressFamily == AddressFamily.InterNetworkV6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, options.Local);
        if (underlayIndex is { } link)
        {
            request.AddUInt32(IFLA_VXLAN_LINK, (uint)link);
        }

        request.AddUInt16BigEndian(IFLA_VXLAN_PORT, (ushort)options.Port);
        request.AddUInt8(IFLA_VXLAN_LEARNING, options.Learning ? (byte)1 : (byte)0);
        if (options.Ttl is { } ttl)
        {
            request.AddUInt8(IFLA_VXLAN_TTL, (byte)ttl);
        }

        request.EndNested(data);
        request.EndNested(linkInfo);
        return request;
    }

    /// <summary>
    /// VETH_INFO_PEER holds a whole ifinfomsg plus the peer's own IFLA_* attributes, which is how
    /// the peer gets its name, MTU and (IFLA_NET_NS_FD) namespace in the same request.
    /// </summary>
    public static NetlinkMessageBuilder CreateVeth(string name, string peerName, int? mtu, int? peerNamespaceFd)
    {
        var request = NewLink(name, mtu);
        var linkInfo = request.BeginNested(IFLA_LINKINFO);
        request.AddString(IFLA_INFO_KIND, "veth");
        var data = request.BeginNested(IFLA_INFO_DATA);
        var peer = request.BeginNested(VETH_INFO_PEER);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, 0, 0));
        request.AddString(IFLA_IFNAME, peerName);
        if (mtu is { } peerMtu)
        {
            request.AddUInt32(IFLA_MTU, (uint)peerMtu);
        }

        if (peerNamespaceFd is { } fd)
        {
            request.AddUInt32(IFLA_NET_NS_FD, (uint)fd);
        }

        request.EndNested(peer);
        request.EndNested(data);
        request.EndNested(linkInfo);
        return request;
    }

    /// <summary>An 802.1Q device; <paramref name="parentIndex"/> null leaves out IFLA_LINK (used by the support probe).</summary>
    public static NetlinkMessageBuilder CreateVlan(string name, int? parentIndex, int vlanId)
    {
        var request = NewLink(name, null);
        if (parentIndex is { } parent)
        {
            request.AddUInt32(IFLA_LINK, (uint)parent);
        }

        var linkInfo = request.BeginNested(IFLA_LINKINFO);
        request.AddString(IFLA_INFO_KIND, "vlan");
        var data = request.BeginNested(IFLA_INFO_DATA);
        request.AddUInt16(IFLA_VLAN_ID, (ushort)vlanId);
        request.AddUInt16BigEndian(IFLA_VLAN_PROTOCOL, ETH_P_8021Q);
        request.EndNested(data);
        request.EndNested(linkInfo);
        return request;
    }

    public static NetlinkMessageBuilder DeleteLink(string name)
    {
        var request = new NetlinkMessageBuilder(RTM_DELLINK, ChangeFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, 0, 0));
        request.AddString(IFLA_IFNAME, name);
        return request;
    }

    /// <summary>IFF_UP in ifi_flags, masked by ifi_change so no other flag is touched.</summary>
    public static NetlinkMessageBuilder SetUp(string name, bool up) => ChangeLink(name, up ? IFF_UP : 0, IFF_UP);

    public static NetlinkMessageBuilder SetMtu(string name, int mtu)
    {
        var request = ChangeLink(name);
        request.AddUInt32(IFLA_MTU, (uint)mtu);
        return request;
    }

    public static NetlinkMessageBuilder SetMacAddress(string name, PhysicalAddress macAddress)
    {
        var request = ChangeLink(name);
        request.AddAttribute(IFLA_ADDRESS, macAddress.GetAddressBytes());
        return request;
    }

    /// <summary>IFLA_MASTER 0 releases the device from its bridge.</summary>
    public static NetlinkMessageBuilder SetMaster(string name, int masterIndex)
    {
        var request = ChangeLink(name);
        request.AddUInt32(IFLA_MASTER, (uint)masterIndex);
        return request;
    }

    /// <summary>A rename must address the device by index: IFLA_IFNAME carries the new name.</summary>
    public static NetlinkMessageBuilder Rename(int index, string newName)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWLINK, ChangeFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, index, 0, 0));
        request.AddString(IFLA_IFNAME, newName);
        return request;
    }

    public static NetlinkMessageBuilder MoveToNamespaceFd(string name, int namespaceFd)
    {
        var request = ChangeLink(name);
        request.AddUInt32(IFLA_NET_NS_FD, (uint)namespaceFd);
        return request;
    }

    public static NetlinkMessageBuilder MoveToNamespaceOfProcess(string name, int pid)
    {
        var request = ChangeLink(name);
        request.AddUInt32(IFLA_NET_NS_PID, (uint)pid);
        return request;
    }

    /// <summary>
    /// For IPv4 both IFA_LOCAL (the address) and IFA_ADDRESS (the peer, equal on non point-to-point
    /// links) are set, as `ip addr add` does; the kernel derives the broadcast-free prefix route.
    /// </summary>
    public static NetlinkMessageBuilder Address(ushort type, ushort flags, int index, IPAddress address, int prefixLength)
    {
        var request = new NetlinkMessageBuilder(type, flags);
        request.AddHeader(new AddressMessage(Family(address), (byte)prefixLength, 0, RT_SCOPE_UNIVERSE, index));
        request.AddAddress(IFA_LOCAL, address);
        request.AddAddress(IFA_ADDRESS, address);
        return request;
    }

    public static NetlinkMessageBuilder DumpAddresses()
    {
        var request = new NetlinkMessageBuilder(RTM_GETADDR, DumpFlags);
        request.AddHeader(new AddressMessage(AF_UNSPEC, 0, 0, 0, 0));
        return request;
    }

    /// <summary>
    /// A bridge FDB entry on a vxlan device: AF_BRIDGE, NTF_SELF (the vxlan driver's own table, not
    /// the master bridge's), NUD_PERMANENT, NDA_LLADDR the MAC and NDA_DST the remote VTEP.
    /// </summary>
    public static NetlinkMessageBuilder FdbEntry(ushort type, ushort flags, int index, PhysicalAddress macAddress, IPAddress? remoteVtep)
    {
        var request = new NetlinkMessageBuilder(type, flags);
        request.AddHeader(new NeighbourMessage(AF_BRIDGE, index, NUD_PERMANENT, NTF_SELF, 0));
        request.AddAttribute(NDA_LLADDR, macAddress.GetAddressBytes());
        if (remoteVtep is not null)
        {
            request.AddAddress(NDA_DST, remoteVtep);
        }

        return request;
    }

    /// <summary>A permanent ARP/ND entry: NDA_DST the IP, NDA_LLADDR the MAC (omitted for deletes).</summary>
    public static NetlinkMessageBuilder Neighbour(ushort type, ushort flags, int index, IPAddress address, PhysicalAddress? macAddress)
    {
        var request = new NetlinkMessageBuilder(type, flags);
        request.AddHeader(new NeighbourMessage(Family(address), index, NUD_PERMANENT, 0, 0));
        request.AddAddress(NDA_DST, address);
        if (macAddress is not null)
        {
            request.AddAttribute(NDA_LLADDR, macAddress.GetAddressBytes());
        }

        return request;
    }

    public static NetlinkMessageBuilder DumpNeighbours(byte family)
    {
        var request = new NetlinkMessageBuilder(RTM_GETNEIGH, DumpFlags);
        request.AddHeader(new NeighbourMessage(family, 0, 0, 0, 0));
        return request;
    }

    /// <summary>
    /// A unicast route. Without a gateway it is on-link (RT_SCOPE_LINK), like `ip route add X dev Y`.
    /// rtm_table holds only 8 bits, so the table also goes in RTA_TABLE.
    /// </summary>
    public static NetlinkMessageBuilder Route(ushort type, ushort flags, RouteSpec route, int? outputIndex)
    {
        var request = new NetlinkMessageBuilder(type, flags);
        var scope = route.Gateway is null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        var table = route.Table < 256 ? (byte)route.Table : RT_TABLE_UNSPEC;
        request.AddHeader(new RouteMessage(Family(route.Destination), (byte)route.PrefixLength, 0, 0, table, RTPROT_BOOT, scope, RTN_UNICAST, 0));
        request.AddAddress(RTA_DST, route.Destination);
        if (route.Gateway is not null)
        {
            request.AddAddress(RTA_GATEWAY, route.Gateway);
        }

        if (outputIndex is { } oif)
        {
            request.AddUInt32(RTA_OIF, (uint)oif);
        }

        if (route.Metric is { } metric)
        {
            request.AddUInt32(RTA_PRIORITY, (uint)metric);
        }

        request.AddUInt32(RTA_TABLE, (uint)route.Table);
        return request;
    }

    public static NetlinkMessageBuilder DumpRoutes()
    {
        var request = new NetlinkMessageBuilder(RTM_GETROUTE, DumpFlags);
        request.AddHeader(new RouteMessage(AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0));
        return request;
    }

    public static byte Family(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? AF_INET6 : AF_INET;

    /// <summary>RTM_NEWLINK that creates; NLM_F_EXCL makes an existing name fail with EEXIST.</summary>
    private static NetlinkMessageBuilder NewLink(string name, int? mtu)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWLINK, CreateFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, 0, 0));
        request.AddString(IFLA_IFNAME, name);
        if (mtu is { } value)
        {
            request.AddUInt32(IFLA_MTU, (uint)value);
        }

        return request;
    }

    /// <summary>
    /// RTM_NEWLINK without NLM_F_CREATE changes an existing device; with ifi_index 0 the kernel finds
    /// it by IFLA_IFNAME and answers ENODEV if there is none.
    /// </summary>
    private static NetlinkMessageBuilder ChangeLink(string name, uint flags = 0, uint change = 0)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWLINK, ChangeFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, flags, change));
        request.AddString(IFLA_IFNAME, name);
        return request;
    }
}
