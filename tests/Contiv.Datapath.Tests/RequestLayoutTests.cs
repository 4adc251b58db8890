using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Tests.Bytes;

namespace Contiv.Datapath.Tests;

/// <summary>Each rtnetlink request against a layout computed by hand from the uapi headers.</summary>
public class RequestLayoutTests
{
    public RequestLayoutTests() => RequireLittleEndian();

    [Fact]
    public void Get_link_by_name()
    {
        Equal("""
            2c000000 1200 0500 01000000 00000000
            00 00 0000 00000000 00000000 00000000
            0900 0300 65746830 00 000000
            """, RtnetlinkRequests.GetLink("eth0").Build(1));
    }

    [Fact]
    public void Dump_links_asks_for_NLM_F_DUMP_without_ack()
    {
        Equal("""
            20000000 1200 0103 01000000 00000000
            00 00 0000 00000000 00000000 00000000
            """, RtnetlinkRequests.DumpLinks().Build(1));
    }

    [Fact]
    public void Create_bridge()
    {
        Equal("""
            44000000 1000 0506 03000000 00000000
            00 00 0000 00000000 00000000 00000000
            0b00 0300 63766272 2d3700 00
            0800 0400 aa050000
            1000 1200
              0b00 0100 627269646765 00 00
            """, RtnetlinkRequests.CreateBridge("cvbr-7", 1450).Build(3));
    }

    [Fact]
    public void Create_vxlan_with_port_in_network_order_and_learning_off()
    {
        var options = new VxlanOptions("vx42", 42, IPAddress.Parse("192.168.77.1"), "ul0", Port: 4789, Learning: false);

        Equal("""
            68000000 1000 0506 07000000 00000000
            00 00 0000 00000000 00000000 00000000
            0900 0300 76783432 00 000000
            3c00 1200
              0a00 0100 76786c616e 00 0000
              2c00 0200
                0800 0100 2a000000
                0800 0400 c0a84d01
                0800 0300 02000000
                0600 0f00 12b5 0000
                0500 0700 00 000000
            """, RtnetlinkRequests.CreateVxlan(options, underlayIndex: 2).Build(7));
    }

    [Fact]
    public void Create_vxlan_with_ttl_and_without_underlay()
    {
        var options = new VxlanOptions("vx9", 9, IPAddress.Parse("10.0.0.1"), Port: 8472, Learning: true, Ttl: 64);
        var message = NetlinkMessage.ParseAll(RtnetlinkRequests.CreateVxlan(options, null).Build(1))[0];
        var data = message.AttributesAfter<InterfaceInfoMessage>().GetNested(Uapi.IFLA_LINKINFO)!.GetNested(Uapi.IFLA_INFO_DATA)!;

        Assert.Equal([1, 4, 15, 7, 5], data.All.Select(a => (int)a.Type));
        Assert.Equal((byte)64, data.GetUInt8(Uapi.IFLA_VXLAN_TTL));
        Assert.Equal((byte)1, data.GetUInt8(Uapi.IFLA_VXLAN_LEARNING));
        Assert.True(data.TryGet(Uapi.IFLA_VXLAN_PORT, out var port));
        Assert.Equal(8472, port.AsUInt16BigEndian());
    }

    [Fact]
    public void Create_veth_embeds_an_ifinfomsg_for_the_peer_with_its_namespace_fd()
    {
        Equal("""
            78000000 1000 0506 01000000 00000000
            00 00 0000 00000000 00000000 00000000
            0b00 0300 766574682d68 00 00
            0800 0400 aa050000
            4400 1200
              0900 0100 76657468 00 000000
              3400 0200
                3000 0100
                  00 00 0000 00000000 00000000 00000000
                  0900 0300 65746830 00 000000
                  0800 0400 aa050000
                  0800 1c00 05000000
            """, RtnetlinkRequests.CreateVeth("veth-h", "eth0", 1450, peerNamespaceFd: 5).Build(1));
    }

    [Fact]
    public void Create_vlan_with_8021q_protocol_in_network_order()
    {
        Equal("""
            58000000 1000 0506 01000000 00000000
            00 00 0000 00000000 00000000 00000000
            0b00 0300 657468302e35 00 00
            0800 0500 02000000
            2400 1200
              0900 0100 766c616e 00 000000
              1400 0200
                0600 0100 0500 0000
                0600 0500 8100 0000
            """, RtnetlinkRequests.CreateVlan("eth0.5", 2, 5).Build(1));
    }

    [Fact]
    public void Set_up_changes_only_IFF_UP_on_the_named_device()
    {
        Equal("""
            28000000 1000 0500 01000000 00000000
            00 00 0000 00000000 01000000 01000000
            0800 0300 627230 00
            """, RtnetlinkRequests.SetUp("br0", up: true).Build(1));

        Equal("""
            28000000 1000 0500 01000000 00000000
            00 00 0000 00000000 00000000 01000000
            0800 0300 627230 00
            """, RtnetlinkRequests.SetUp("br0", up: false).Build(1));
    }

    [Fact]
    public void Link_changes_carry_one_attribute_each()
    {
        Equal("""
            30000000 1000 0500 01000000 00000000
            00 00 0000 00000000 00000000 00000000
            0800 0300 627230 00
            0800 0a00 03000000
            """, RtnetlinkRequests.SetMaster("br0", 3).Build(1));

        var master = NetlinkMessage.ParseAll(RtnetlinkRequests.SetMaster("br0", 0).Build(1))[0].AttributesAfter<InterfaceInfoMessage>();
        Assert.Equal(0u, master.GetUInt32(Uapi.IFLA_MASTER));

        var mac = NetlinkMessage.ParseAll(RtnetlinkRequests.SetMacAddress("br0", PhysicalAddress.Parse("02:77:00:00:00:01")).Build(1))[0];
        Assert.True(mac.AttributesAfter<InterfaceInfoMessage>().TryGet(Uapi.IFLA_ADDRESS, out var lladdr));
        Assert.Equal(Hex("027700000001"), lladdr.Value.ToArray());

        var netns = NetlinkMessage.ParseAll(RtnetlinkRequests.MoveToNamespaceFd("eth1", 9).Build(1))[0].AttributesAfter<InterfaceInfoMessage>();
        Assert.Equal(9u, netns.GetUInt32(Uapi.IFLA_NET_NS_FD));
        var pid = NetlinkMessage.ParseAll(RtnetlinkRequests.MoveToNamespaceOfProcess("eth1", 4242).Build(1))[0].AttributesAfter<InterfaceInfoMessage>();
        Assert.Equal(4242u, pid.GetUInt32(Uapi.IFLA_NET_NS_PID));
    }

    [Fact]
    public void Rename_addresses_the_device_by_index()
    {
        Equal("""
            2c000000 1000 0500 01000000 00000000
            00 00 0000 04000000 00000000 00000000
            0a00 0300 657468313000 0000
            """, RtnetlinkRequests.Rename(4, "eth10").Build(1));
    }

    [Fact]
    public void Delete_link_by_name()
    {
        Equal("""
            28000000 1100 0500 01000000 00000000
            00 00 0000 00000000 00000000 00000000
            0800 0300 627230 00
            """, RtnetlinkRequests.DeleteLink("br0").Build(1));
    }

    [Fact]
    public void Add_ipv4_address_sets_IFA_LOCAL_and_IFA_ADDRESS()
    {
        Equal("""
            28000000 1400 0506 01000000 00000000
            02 18 00 00 04000000
            0800 0200 0a4d0001
            0800 0100 0a4d0001
            """, RtnetlinkRequests.Address(Uapi.RTM_NEWADDR, RtnetlinkRequests.CreateFlags, 4, IPAddress.Parse("10.77.0.1"), 24).Build(1));
    }

    [Fact]
    public void Add_ipv6_address_uses_AF_INET6()
    {
        var message = NetlinkMessage.ParseAll(
            RtnetlinkRequests.Address(Uapi.RTM_NEWADDR, RtnetlinkRequests.CreateFlags, 4, IPAddress.Parse("fd77::1"), 64).Build(1))[0];

        Assert.Equal(new AddressMessage(10, 64, 0, 0, 4), message.ReadHeader<AddressMessage>());
        Assert.Equal(IPAddress.Parse("fd77::1"), message.AttributesAfter<AddressMessage>().GetAddress(Uapi.IFA_LOCAL));
    }

    [Fact]
    public void Append_zero_mac_fdb_entry_for_flooding_to_a_vtep()
    {
        Equal("""
            30000000 1c00 050c 03000000 00000000
            07 00 0000 05000000 8000 02 00
            0a00 0200 000000000000 0000
            0800 0100 c0a84d02
            """, RtnetlinkRequests.FdbEntry(Uapi.RTM_NEWNEIGH, RtnetlinkRequests.AppendFlags, 5,
                PhysicalAddress.Parse("00:00:00:00:00:00"), IPAddress.Parse("192.168.77.2")).Build(3));
    }

    [Fact]
    public void Delete_fdb_entry_without_destination_omits_NDA_DST()
    {
        Equal("""
            28000000 1d00 0500 01000000 00000000
            07 00 0000 05000000 8000 02 00
            0a00 0200 027700000002 0000
            """, RtnetlinkRequests.FdbEntry(Uapi.RTM_DELNEIGH, RtnetlinkRequests.ChangeFlags, 5,
                PhysicalAddress.Parse("02:77:00:00:00:02"), null).Build(1));
    }

    [Fact]
    public void Add_permanent_arp_neighbour()
    {
        Equal("""
            30000000 1c00 0506 01000000 00000000
            02 00 0000 04000000 8000 00 00
            0800 0100 0a4d0002
            0a00 0200 027700000002 0000
            """, RtnetlinkRequests.Neighbour(Uapi.RTM_NEWNEIGH, RtnetlinkRequests.CreateFlags, 4,
                IPAddress.Parse("10.77.0.2"), PhysicalAddress.Parse("02:77:00:00:00:02")).Build(1));
    }

    [Fact]
    public void Add_route_via_gateway_has_universe_scope_and_RTA_TABLE()
    {
        Equal("""
            3c000000 1800 0506 09000000 00000000
            02 10 00 00 fe 03 00 01 00000000
            0800 0100 0a4e0000
            0800 0500 0a4d00fe
            0800 0400 03000000
            0800 0f00 fe000000
            """, RtnetlinkRequests.Route(Uapi.RTM_NEWROUTE, RtnetlinkRequests.CreateFlags,
                new RouteSpec(IPAddress.Parse("10.78.0.0"), 16, IPAddress.Parse("10.77.0.254")), outputIndex: 3).Build(9));
    }

    [Fact]
    public void On_link_route_in_a_big_table_has_link_scope_and_table_only_in_RTA_TABLE()
    {
        var message = NetlinkMessage.ParseAll(RtnetlinkRequests.Route(Uapi.RTM_NEWROUTE, RtnetlinkRequests.CreateFlags,
            new RouteSpec(IPAddress.Parse("10.79.0.0"), 24, Table: 1000, Metric: 5), outputIndex: 3).Build(1))[0];

        var header = message.ReadHeader<RouteMessage>();
        Assert.Equal(Uapi.RT_SCOPE_LINK, header.Scope);
        Assert.Equal(Uapi.RT_TABLE_UNSPEC, header.Table);
        var attributes = message.AttributesAfter<RouteMessage>();
        Assert.Equal(1000u, attributes.GetUInt32(Uapi.RTA_TABLE));
        Assert.Equal(5u, attributes.GetUInt32(Uapi.RTA_PRIORITY));
        Assert.Null(attributes.GetAddress(Uapi.RTA_GATEWAY));
    }
}
