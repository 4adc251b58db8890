using System.Net;
using System.Net.NetworkInformation;
using static Contiv.Datapath.Netlink.Uapi;

namespace Contiv.Datapath.Netlink;

/// <summary>Turns rtnetlink reply messages into the <see cref="INetlink"/> record types. Pure.</summary>
internal static class RtnetlinkReplies
{
    public static LinkInfo ParseLink(NetlinkMessage message)
    {
        var header = message.ReadHeader<InterfaceInfoMessage>();
        var attributes = message.AttributesAfter<InterfaceInfoMessage>();
        var linkInfo = attributes.GetNested(IFLA_LINKINFO);
        var kind = linkInfo?.GetString(IFLA_INFO_KIND);
        var kindData = linkInfo?.GetNested(IFLA_INFO_DATA);
        var operState = attributes.GetUInt8(IFLA_OPERSTATE) ?? IF_OPER_UNKNOWN;
        var isOperUp = operState == IF_OPER_UP
            || (operState == IF_OPER_UNKNOWN && (header.Flags & IFF_RUNNING) != 0);

        return new LinkInfo(
            header.Index,
            attributes.GetString(IFLA_IFNAME) ?? "",
            kind,
            (int)(attributes.GetUInt32(IFLA_MTU) ?? 0),
            attributes.TryGet(IFLA_ADDRESS, out var mac) ? new PhysicalAddress(mac.Value.ToArray()) : null,
            NonZero(attributes.GetUInt32(IFLA_MASTER)),
            NonZero(attributes.GetUInt32(IFLA_LINK)),
            IsAdminUp: (header.Flags & IFF_UP) != 0,
            isOperUp,
            kind == "vxlan" && kindData is not null ? ParseVxlan(kindData) : null);
    }

    public static AddressInfo ParseAddress(NetlinkMessage message)
    {
        var header = message.ReadHeader<AddressMessage>();
        var attributes = message.AttributesAfter<AddressMessage>();

        // IFA_LOCAL is the interface's own address; IFA_ADDRESS differs from it only on
        // point-to-point links (it is then the peer), and IPv6 usually sends only IFA_ADDRESS.
        var address = attributes.GetAddress(IFA_LOCAL) ?? attributes.GetAddress(IFA_ADDRESS) ?? IPAddress.None;
        return new AddressInfo(header.Index, address, header.PrefixLength, attributes.GetString(IFA_LABEL));
    }

    public static FdbEntry ParseFdbEntry(NetlinkMessage message)
    {
        var header = message.ReadHeader<NeighbourMessage>();
        var attributes = message.AttributesAfter<NeighbourMessage>();
        return new FdbEntry(
            header.Index,
            attributes.TryGet(NDA_LLADDR, out var mac) ? new PhysicalAddress(mac.Value.ToArray()) : PhysicalAddress.None,
            attributes.GetAddress(NDA_DST),
            NonZero(attributes.GetUInt32(NDA_MASTER)),
            IsSelf: (header.Flags & NTF_SELF) != 0,
            IsPermanent: (header.State & NUD_PERMANENT) != 0);
    }

    public static NeighbourEntry ParseNeighbour(NetlinkMessage message)
    {
        var header = message.ReadHeader<NeighbourMessage>();
        var attributes = message.AttributesAfter<NeighbourMessage>();
        return new NeighbourEntry(
            header.Index,
            attributes.GetAddress(NDA_DST) ?? IPAddress.None,
            attributes.TryGet(NDA_LLADDR, out var mac) ? new PhysicalAddress(mac.Value.ToArray()) : null,
            header.State);
    }

    public static RouteEntry ParseRoute(NetlinkMessage message)
    {
        var header = message.ReadHeader<RouteMessage>();
        var attributes = message.AttributesAfter<RouteMessage>();
        var destination = attributes.GetAddress(RTA_DST)
            ?? (header.Family == AF_INET6 ? IPAddress.IPv6Any : IPAddress.Any);
        return new RouteEntry(
            destination,
            header.DestinationLength,
            attributes.GetAddress(RTA_GATEWAY),
            (int?)attributes.GetUInt32(RTA_OIF),
            (int)(attributes.GetUInt32(RTA_TABLE) ?? header.Table),
            header.Scope,
            header.Protocol,
            (int?)attributes.GetUInt32(RTA_PRIORITY));
    }

    public static byte FamilyOf(NetlinkMessage message) => message.Payload.Length > 0 ? message.Payload.Span[0] : AF_UNSPEC;

    private static VxlanInfo ParseVxlan(NetlinkAttributes data) => new(
        (int)(data.GetUInt32(IFLA_VXLAN_ID) ?? 0),
        data.GetAddress(IFLA_VXLAN_LOCAL) ?? data.GetAddress(IFLA_VXLAN_LOCAL6),
        data.TryGet(IFLA_VXLAN_PORT, out var port) ? port.AsUInt16BigEndian() : 0,
        data.GetUInt8(IFLA_VXLAN_LEARNING) is 1,
        NonZero(data.GetUInt32(IFLA_VXLAN_LINK)),
        data.GetUInt8(IFLA_VXLAN_TTL) ?? 0);

    private static int? NonZero(uint? value) => value is null or 0 ? null : (int)value;
}
