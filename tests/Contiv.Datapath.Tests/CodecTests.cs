using System.Net;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Tests.Bytes;

namespace Contiv.Datapath.Tests;

public class CodecTests
{
    public CodecTests() => RequireLittleEndian();

    [Fact]
    public void Netlink_header_is_16_bytes_in_host_order()
    {
        var bytes = new byte[NetlinkHeader.Size];
        new NetlinkHeader(0x2c, 16, 0x605, 7, 0x1234).WriteTo(bytes);

        // nlmsg_len | nlmsg_type | nlmsg_flags | nlmsg_seq | nlmsg_pid
        Equal("2c000000 | 1000 | 0506 | 07000000 | 34120000", bytes);
        Assert.Equal(new NetlinkHeader(0x2c, 16, 0x605, 7, 0x1234), NetlinkHeader.Read(bytes));
    }

    [Fact]
    public void Family_headers_have_the_kernel_layouts()
    {
        var ifinfo = new byte[16];
        new InterfaceInfoMessage(0, 1, 7, 0x41, 0x1).WriteTo(ifinfo);
        Equal("00 00 0100 07000000 41000000 01000000", ifinfo); // family, pad, type, index, flags, change

        var ifaddr = new byte[8];
        new AddressMessage(2, 24, 0, 0, 4).WriteTo(ifaddr);
        Equal("02 18 00 00 04000000", ifaddr); // family, prefixlen, flags, scope, index

        var nd = new byte[12];
        new NeighbourMessage(7, 5, 0x80, 0x02, 0).WriteTo(nd);
        Equal("07 00 0000 05000000 8000 02 00", nd); // family, pad1, pad2, ifindex, state, flags, type

        var rt = new byte[12];
        new RouteMessage(2, 16, 0, 0, 254, 3, 253, 1, 0).WriteTo(rt);
        Equal("02 10 00 00 fe 03 fd 01 00000000", rt);

        Assert.Equal(new InterfaceInfoMessage(0, 1, 7, 0x41, 0x1), InterfaceInfoMessage.Read(ifinfo));
        Assert.Equal(new AddressMessage(2, 24, 0, 0, 4), AddressMessage.Read(ifaddr));
        Assert.Equal(new NeighbourMessage(7, 5, 0x80, 0x02, 0), NeighbourMessage.Read(nd));
        Assert.Equal(new RouteMessage(2, 16, 0, 0, 254, 3, 253, 1, 0), RouteMessage.Read(rt));
    }

    [Fact]
    public void Attributes_are_padded_to_4_bytes_but_their_length_excludes_the_padding()
    {
        var builder = new NetlinkMessageBuilder(Uapi.RTM_NEWLINK, Uapi.NLM_F_REQUEST);
        builder.AddUInt8(7, 1);
        builder.AddUInt16(1, 5);
        builder.AddUInt16BigEndian(15, 4789);
        builder.AddUInt32(4, 1450);
        builder.AddString(3, "eth0");
        builder.AddAttribute(2, []);

        Equal("""
            40000000 1000 0100 01000000 00000000
            0500 0700 01 000000
            0600 0100 0500 0000
            0600 0f00 12b5 0000
            0800 0400 aa050000
            0900 0300 65746830 00 000000
            0400 0200
            """, builder.Build(1));
    }

    [Fact]
    public void Nested_attribute_length_covers_its_children_including_their_padding()
    {
        var builder = new NetlinkMessageBuilder(Uapi.RTM_NEWLINK, Uapi.NLM_F_REQUEST);
        var linkInfo = builder.BeginNested(Uapi.IFLA_LINKINFO);
        builder.AddString(Uapi.IFLA_INFO_KIND, "bridge");
        var data = builder.BeginNested(Uapi.IFLA_INFO_DATA);
        builder.AddUInt8(1, 9);
        builder.EndNested(data);
        builder.EndNested(linkInfo);

        Equal("""
            2c000000 1000 0100 02000000 05000000
            1c00 1200
              0b00 0100 627269646765 00 00
              0c00 0200
                0500 0100 09 000000
            """, builder.Build(2, 5));
    }

    [Fact]
    public void Parses_attributes_masking_the_nested_and_byte_order_flags()
    {
        // IFLA_LINKINFO sent with NLA_F_NESTED (0x8000) set, as newer kernels and libraries do.
        var attributes = NetlinkAttributes.Parse(Hex("""
            0800 0400 aa050000
            1000 1280
              0a00 0100 76786c616e00 0000
            0600 0f40 12b5 0000
            """));

        Assert.Equal([4, 18, 15], attributes.All.Select(a => (int)a.Type));
        Assert.Equal(1450u, attributes.GetUInt32(Uapi.IFLA_MTU));
        Assert.Equal("vxlan", attributes.GetNested(Uapi.IFLA_LINKINFO)!.GetString(Uapi.IFLA_INFO_KIND));
        Assert.True(attributes.TryGet(15, out var port));
        Assert.Equal(4789, port.AsUInt16BigEndian());
        Assert.Null(attributes.GetUInt32(99));
    }

    [Fact]
    public void Parses_addresses_in_network_order()
    {
        var attributes = NetlinkAttributes.Parse(Hex("0800 0100 c0a84d02  1400 0200 fe800000000000000000000000000001"));

        Assert.Equal(IPAddress.Parse("192.168.77.2"), attributes.GetAddress(1));
        Assert.Equal(IPAddress.Parse("fe80::1"), attributes.GetAddress(2));
    }

    [Fact]
    public void Attribute_running_past_the_buffer_is_rejected()
    {
        var error = Assert.Throws<FormatException>(() => NetlinkAttributes.Parse(Hex("0c00 0300 65746830")));
        Assert.Contains("length 12", error.Message);
        Assert.Throws<FormatException>(() => NetlinkAttributes.Parse(Hex("0200 0300")));
    }

    [Fact]
    public void Splits_a_datagram_holding_several_messages()
    {
        // Two RTM_NEWLINK dump parts (one of odd length, so the next starts after padding) and NLMSG_DONE.
        var datagram = Hex("""
            21000000 1000 0200 05000000 99000000  00 00 0000 01000000 00000000 00000000  01 000000
            20000000 1000 0200 05000000 99000000  00 00 0000 02000000 00000000 00000000
            14000000 0300 0200 05000000 99000000  00000000
            """);

        var messages = NetlinkMessage.ParseAll(datagram);

        Assert.Equal([16, 16, 3], messages.Select(m => (int)m.Header.Type));
        Assert.Equal(17, messages[0].Payload.Length);
        Assert.Equal([1, 2], messages.Take(2).Select(m => m.ReadHeader<InterfaceInfoMessage>().Index));
    }

    [Fact]
    public void Message_longer_than_the_datagram_is_rejected()
    {
        var truncated = Hex("40000000 1000 0200 05000000 99000000 00000000");
        Assert.Throws<FormatException>(() => NetlinkMessage.ParseAll(truncated));

        var tooShort = Hex("08000000 1000 0200 05000000 99000000");
        Assert.Throws<FormatException>(() => NetlinkMessage.ParseAll(tooShort));
    }
}
