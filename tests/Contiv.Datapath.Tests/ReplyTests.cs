using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Tests.Bytes;

namespace Contiv.Datapath.Tests;

/// <summary>How replies are collected (acks, dumps, errors, sequence checks) and decoded.</summary>
public class ReplyTests
{
    private const uint Sequence = 5;
    private const uint PortId = 0x99;

    public ReplyTests() => RequireLittleEndian();

    [Fact]
    public void Ack_completes_a_request()
    {
        var reply = NewReply();

        // NLMSG_ERROR with error 0, echoing the request's header (NETLINK_CAP_ACK).
        Assert.True(reply.Accept(Hex("24000000 0200 0001 05000000 99000000  00000000  28000000 1000 0500 05000000 99000000")));
        Assert.Empty(reply.Messages);
    }

    [Fact]
    public void Get_reply_is_followed_by_its_ack()
    {
        var reply = NewReply();

        Assert.False(reply.Accept(Hex("20000000 1000 0000 05000000 99000000  00 00 0000 07000000 00000000 00000000")));
        Assert.True(reply.Accept(Hex("24000000 0200 0001 05000000 99000000  00000000  28000000 1200 0500 05000000 99000000")));
        Assert.Equal(7, Assert.Single(reply.Messages).ReadHeader<InterfaceInfoMessage>().Index);
    }

    [Fact]
    public void Dump_spans_datagrams_until_NLMSG_DONE()
    {
        var reply = NewReply();

        Assert.False(reply.Accept(Hex("""
            20000000 1000 0200 05000000 99000000  00 00 0000 01000000 00000000 00000000
            20000000 1000 0200 05000000 99000000  00 00 0000 02000000 00000000 00000000
            """)));
        Assert.False(reply.Accept(Hex("20000000 1000 0200 05000000 99000000  00 00 0000 03000000 00000000 00000000")));
        Assert.True(reply.Accept(Hex("14000000 0300 0200 05000000 99000000  00000000")));

        Assert.Equal([1, 2, 3], reply.Messages.Select(m => m.ReadHeader<InterfaceInfoMessage>().Index));
        Assert.False(reply.DumpInterrupted);
    }

    [Fact]
    public void Inconsistent_dump_is_flagged_for_a_retry()
    {
        var reply = NewReply();

        reply.Accept(Hex("20000000 1000 1200 05000000 99000000  00 00 0000 01000000 00000000 00000000"));
        Assert.True(reply.Accept(Hex("14000000 0300 1200 05000000 99000000  00000000")));
        Assert.True(reply.DumpInterrupted);
    }

    [Fact]
    public void Messages_for_another_sequence_or_port_are_skipped()
    {
        var reply = NewReply();

        // A late ack for sequence 4, an error addressed to another socket, then our own ack.
        Assert.False(reply.Accept(Hex("24000000 0200 0001 04000000 99000000  00000000  28000000 1000 0500 04000000 99000000")));
        Assert.False(reply.Accept(Hex("24000000 0200 0001 05000000 11000000  efffffff  28000000 1000 0500 05000000 11000000")));
        Assert.True(reply.Accept(Hex("24000000 0200 0001 05000000 99000000  00000000  28000000 1000 0500 05000000 99000000")));
    }

    [Fact]
    public void Error_becomes_NetlinkException_naming_operation_object_and_errno()
    {
        var reply = NewReply();

        // error -17 (EEXIST), capped echo of the request header, no extended ack.
        var error = Assert.Throws<NetlinkException>(() =>
            reply.Accept(Hex("24000000 0200 0001 05000000 99000000  efffffff  44000000 1000 0506 05000000 99000000")));

        Assert.Equal(LinuxErrno.EEXIST, error.Errno);
        Assert.Equal("EEXIST", error.ErrnoName);
        Assert.Equal("create link", error.Operation);
        Assert.Equal("cvbr-7", error.ObjectName);
        Assert.Equal("create link cvbr-7: File exists (EEXIST)", error.Message);
    }

    [Fact]
    public void Extended_ack_message_is_appended_after_a_capped_echo()
    {
        var reply = NewReply();

        // error -95 (EOPNOTSUPP), NLM_F_CAPPED|NLM_F_ACK_TLVS, then NLMSGERR_ATTR_MSG "Unknown device type".
        var error = Assert.Throws<NetlinkException>(() => reply.Accept(Hex("""
            3c000000 0200 0003 05000000 99000000
            a1ffffff
            58000000 1000 0506 05000000 99000000
            1800 0100 556e6b6e6f776e20646576696365207479706500
            """)));

        Assert.Equal(LinuxErrno.EOPNOTSUPP, error.Errno);
        Assert.Equal("Unknown device type", error.KernelMessage);
        Assert.Equal("create link cvbr-7: Operation not supported (EOPNOTSUPP): Unknown device type", error.Message);
    }

    [Fact]
    public void Extended_ack_message_is_found_after_an_uncapped_echo_of_the_whole_request()
    {
        var reply = NewReply();

        // error -19 (ENODEV), NLM_F_ACK_TLVS only: the echoed request (24 bytes, header + 8) precedes the TLVs.
        var error = Assert.Throws<NetlinkException>(() => reply.Accept(Hex("""
            34000000 0200 0002 05000000 99000000
            edffffff
            18000000 1000 0500 05000000 99000000 0800 0300 627230 00
            0800 0100 6e6f7065
            """)));

        Assert.Equal(LinuxErrno.ENODEV, error.Errno);
        Assert.Equal("nope", error.KernelMessage);
    }

    [Fact]
    public void Failed_dump_reports_the_errno_from_NLMSG_DONE()
    {
        var error = Assert.Throws<NetlinkException>(() =>
            NewReply().Accept(Hex("14000000 0300 0200 05000000 99000000  f4ffffff")));

        Assert.Equal(LinuxErrno.ENOMEM, error.Errno);
    }

    [Fact]
    public void Parses_a_vxlan_link()
    {
        var builder = new NetlinkMessageBuilder(Uapi.RTM_NEWLINK, 0);
        builder.AddHeader(new InterfaceInfoMessage(0, 1, 7, Uapi.IFF_UP | Uapi.IFF_RUNNING, 0));
        builder.AddString(Uapi.IFLA_IFNAME, "vx42");
        builder.AddUInt32(Uapi.IFLA_MTU, 1450);
        builder.AddAttribute(Uapi.IFLA_ADDRESS, Hex("0277000000aa"));
        builder.AddUInt32(Uapi.IFLA_MASTER, 3);
        builder.AddUInt8(Uapi.IFLA_OPERSTATE, Uapi.IF_OPER_UNKNOWN);
        var linkInfo = builder.BeginNested(Uapi.IFLA_LINKINFO);
        builder.AddString(Uapi.IFLA_INFO_KIND, "vxlan");
        var data = builder.BeginNested(Uapi.IFLA_INFO_DATA);
        builder.AddUInt32(Uapi.IFLA_VXLAN_ID, 42);
        builder.AddUInt32(Uapi.IFLA_VXLAN_LINK, 2);
        builder.AddAttribute(Uapi.IFLA_VXLAN_LOCAL, Hex("c0a84d01"));
        builder.AddUInt8(Uapi.IFLA_VXLAN_TTL, 0);
        builder.AddUInt8(Uapi.IFLA_VXLAN_LEARNING, 0);
        builder.AddUInt16BigEndian(Uapi.IFLA_VXLAN_PORT, 4789);
        builder.EndNested(data);
        builder.EndNested(linkInfo);

        var link = RtnetlinkReplies.ParseLink(NetlinkMessage.ParseAll(builder.Build(1))[0]);

        Assert.Equal(new LinkInfo(7, "vx42", "vxlan", 1450, PhysicalAddress.Parse("02-77-00-00-00-AA"), 3, null, true, true,
            new VxlanInfo(42, IPAddress.Parse("192.168.77.1"), 4789, false, 2, 0)), link with { MacAddress = link.MacAddress });
        Assert.Equal(PhysicalAddress.Parse("02-77-00-00-00-AA"), link.MacAddress);
        Assert.Equal(42, link.VxlanId);
    }

    [Fact]
    public void Parses_a_down_plain_link_without_link_info()
    {
        var link = RtnetlinkReplies.ParseLink(NetlinkMessage.ParseAll(Hex("""
            44000000 1000 0000 05000000 99000000
            00 00 0403 01000000 08000000 00000000
            0700 0300 6c6f00 00
            0800 0400 00000100
            0500 1000 02 000000
            0a00 0100 000000000000 0000
            """))[0]);

        Assert.Equal(1, link.Index);
        Assert.Equal("lo", link.Name);
        Assert.Null(link.Kind);
        Assert.Equal(65536, link.Mtu);
        Assert.False(link.IsAdminUp);
        Assert.False(link.IsOperUp);
        Assert.Null(link.MasterIndex);
        Assert.Null(link.VxlanId);
    }

    [Fact]
    public void Parses_fdb_neighbour_address_and_route_entries()
    {
        var fdb = RtnetlinkReplies.ParseFdbEntry(Message("""
            07 00 0000 05000000 8000 02 00
            0a00 0200 000000000000 0000
            0800 0100 c0a84d02
            """));
        Assert.Equal(new FdbEntry(5, fdb.MacAddress, IPAddress.Parse("192.168.77.2"), null, true, true), fdb);
        Assert.Equal(PhysicalAddress.Parse("00-00-00-00-00-00"), fdb.MacAddress);

        var neighbour = RtnetlinkReplies.ParseNeighbour(Message("""
            02 00 0000 04000000 8000 00 01
            0800 0100 0a4d0002
            0a00 0200 027700000002 0000
            """));
        Assert.Equal(IPAddress.Parse("10.77.0.2"), neighbour.Address);
        Assert.Equal(PhysicalAddress.Parse("02-77-00-00-00-02"), neighbour.MacAddress);
        Assert.True(neighbour.IsPermanent);

        var address = RtnetlinkReplies.ParseAddress(Message("""
            02 18 80 00 04000000
            0800 0100 0a4d0001
            0800 0200 0a4d0001
            0800 0300 65746800
            """));
        Assert.Equal(new AddressInfo(4, IPAddress.Parse("10.77.0.1"), 24, "eth"), address);

        var route = RtnetlinkReplies.ParseRoute(Message("""
            02 10 00 00 fe 03 00 01 00000000
            0800 0f00 fe000000
            0800 0100 0a4e0000
            0800 0500 0a4d00fe
            0800 0400 03000000
            """));
        Assert.Equal(new RouteEntry(IPAddress.Parse("10.78.0.0"), 16, IPAddress.Parse("10.77.0.254"), 3, 254, 0, 3, null), route);

        var defaultRoute = RtnetlinkReplies.ParseRoute(Message("02 00 00 00 fe 03 00 01 00000000"));
        Assert.Equal(IPAddress.Any, defaultRoute.Destination);
        Assert.Equal(0, defaultRoute.PrefixLength);
    }

    private static NetlinkReply NewReply() => new(Sequence, PortId, "create link", "cvbr-7");

    private static NetlinkMessage Message(string payloadHex)
    {
        var payload = Hex(payloadHex);
        return new NetlinkMessage(new NetlinkHeader((uint)(NetlinkHeader.Size + payload.Length), 0, 0, 1, 0), payload);
    }
}
