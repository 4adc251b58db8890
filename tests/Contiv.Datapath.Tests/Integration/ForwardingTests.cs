using System.Net;
using System.Net.NetworkInformation;

namespace Contiv.Datapath.Tests.Integration;

/// <summary>FDB, ARP neighbours, addresses and routes, checked through the library and `bridge`/`ip -j`.</summary>
public class ForwardingTests
{
    private static readonly PhysicalAddress FloodMac = PhysicalAddress.Parse("00:00:00:00:00:00");
    private static readonly PhysicalAddress RemoteMac = PhysicalAddress.Parse("02:77:00:00:00:02");
    private static readonly IPAddress Vtep2 = IPAddress.Parse("192.168.77.2");
    private static readonly IPAddress Vtep3 = IPAddress.Parse("192.168.77.3");

    [Fact]
    public void Fdb_floods_to_two_vteps_and_sends_a_known_mac_to_one()
    {
        using var ns = TestNamespace.Create("fdb");

        ns.Run(netlink =>
        {
            var local = IPAddress.Parse("192.168.77.1");
            LinkTests.CreateUnderlay(netlink, "ul0", local);
            netlink.CreateVxlan(new VxlanOptions("vx42", 42, local, UnderlayDevice: "ul0"));
            netlink.AppendFdbEntry("vx42", FloodMac, Vtep2);
            netlink.AppendFdbEntry("vx42", FloodMac, Vtep3);
            netlink.AddFdbEntry("vx42", RemoteMac, Vtep2);

            var entries = netlink.ListFdbEntries("vx42").Where(e => e.Destination is not null).ToList();
            Assert.Equal(
                ["00:00:00:00:00:00 192.168.77.2", "00:00:00:00:00:00 192.168.77.3", "02:77:00:00:00:02 192.168.77.2"],
                entries.Select(Describe).Order());
            Assert.All(entries, e => Assert.True(e.IsSelf && e.IsPermanent));
        });

        Assert.Equal(
            ["00:00:00:00:00:00 192.168.77.2 permanent", "00:00:00:00:00:00 192.168.77.3 permanent", "02:77:00:00:00:02 192.168.77.2 permanent"],
            BridgeFdb(ns, "vx42"));

        ns.Run(netlink =>
        {
            var duplicate = Assert.Throws<NetlinkException>(() => netlink.AddFdbEntry("vx42", RemoteMac, Vtep3));
            Assert.Equal(LinuxErrno.EEXIST, duplicate.Errno);
            Assert.Equal("add fdb entry 02:77:00:00:00:02 dst 192.168.77.3 dev vx42: File exists (EEXIST)", duplicate.Message);

            netlink.ReplaceFdbEntry("vx42", RemoteMac, Vtep3); // the MAC moved to another host
            netlink.DeleteFdbEntry("vx42", FloodMac, Vtep2);   // one flood destination only
        });

        Assert.Equal(["00:00:00:00:00:00 192.168.77.3 permanent", "02:77:00:00:00:02 192.168.77.3 permanent"], BridgeFdb(ns, "vx42"));

        ns.Run(netlink =>
        {
            netlink.DeleteFdbEntry("vx42", RemoteMac);
            netlink.DeleteFdbEntry("vx42", FloodMac, Vtep3);
            Assert.DoesNotContain(netlink.ListFdbEntries("vx42"), e => e.Destination is not null);
            var missing = Assert.Throws<NetlinkException>(() => netlink.DeleteFdbEntry("vx42", RemoteMac));
            Assert.Equal(LinuxErrno.ENOENT, missing.Errno);
        });

        Assert.Empty(BridgeFdb(ns, "vx42"));
    }

    [Fact]
    public void Permanent_arp_neighbour_is_added_replaced_and_deleted()
    {
        using var ns = TestNamespace.Create("arp");
        var ip = IPAddress.Parse("10.77.0.9");
        var newMac = PhysicalAddress.Parse("02:77:00:00:00:09");

        ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("vh-6", "vc-6"));
            netlink.SetLinkUp("vh-6");
            netlink.AddNeighbour("vh-6", ip, RemoteMac);

            var entry = Assert.Single(netlink.ListNeighbours("vh-6"), n => n.Address.Equals(ip));
            Assert.Equal(RemoteMac, entry.MacAddress);
            Assert.True(entry.IsPermanent);
            Assert.Equal(LinuxErrno.EEXIST, Assert.Throws<NetlinkException>(() => netlink.AddNeighbour("vh-6", ip, newMac)).Errno);
        });

        var shown = Assert.Single(ns.Ip("neigh", "show", "dev", "vh-6").EnumerateArray());
        Assert.Equal("10.77.0.9", shown.String("dst"));
        Assert.Equal("02:77:00:00:00:02", shown.String("lladdr"));
        Assert.Contains("PERMANENT", shown.Strings("state"));

        ns.Run(netlink => netlink.ReplaceNeighbour("vh-6", ip, newMac));
        Assert.Equal("02:77:00:00:00:09", Assert.Single(ns.Ip("neigh", "show", "dev", "vh-6").EnumerateArray()).String("lladdr"));

        ns.Run(netlink =>
        {
            netlink.DeleteNeighbour("vh-6", ip);
            Assert.DoesNotContain(netlink.ListNeighbours("vh-6"), n => n.Address.Equals(ip));
        });
        Assert.Empty(ns.Ip("neigh", "show", "dev", "vh-6").EnumerateArray());
    }

    [Fact]
    public void Addresses_are_added_listed_and_deleted()
    {
        using var ns = TestNamespace.Create("addr");

        ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("vh-7", "vc-7"));
            netlink.AddAddress("vh-7", IPAddress.Parse("10.77.1.1"), 24);
            netlink.AddAddress("vh-7", IPAddress.Parse("fd77::1"), 64);

            var addresses = netlink.ListAddresses("vh-7");
            Assert.Contains(addresses, a => a.Address.Equals(IPAddress.Parse("10.77.1.1")) && a.PrefixLength == 24 && a.Label == "vh-7");
            Assert.Contains(addresses, a => a.Address.Equals(IPAddress.Parse("fd77::1")) && a.PrefixLength == 64);
            Assert.Equal(LinuxErrno.EEXIST,
                Assert.Throws<NetlinkException>(() => netlink.AddAddress("vh-7", IPAddress.Parse("10.77.1.1"), 24)).Errno);
        });

        var info = ns.Ip("addr", "show", "dev", "vh-7").EnumerateArray().Single().GetProperty("addr_info").EnumerateArray()
            .Select(a => $"{a.String("local")}/{a.Int("prefixlen")}").ToList();
        Assert.Contains("10.77.1.1/24", info);
        Assert.Contains("fd77::1/64", info);

        ns.Run(netlink =>
        {
            netlink.DeleteAddress("vh-7", IPAddress.Parse("10.77.1.1"), 24);
            Assert.DoesNotContain(netlink.ListAddresses("vh-7"), a => a.Address.Equals(IPAddress.Parse("10.77.1.1")));
        });
    }

    [Fact]
    public void Routes_are_added_listed_and_deleted()
    {
        using var ns = TestNamespace.Create("route");
        var viaGateway = new RouteSpec(IPAddress.Parse("10.78.0.0"), 16, IPAddress.Parse("10.77.2.254"), "vh-8");
        var onLink = new RouteSpec(IPAddress.Parse("10.79.0.0"), 24, OutputDevice: "vh-8", Metric: 7);
        var otherTable = new RouteSpec(IPAddress.Parse("10.80.0.0"), 24, OutputDevice: "vh-8", Table: 1000);

        ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("vh-8", "vc-8"));
            netlink.AddAddress("vh-8", IPAddress.Parse("10.77.2.1"), 24);
            netlink.SetLinkUp("vh-8");
            netlink.SetLinkUp("vc-8");
            netlink.AddRoute(viaGateway);
            netlink.AddRoute(onLink);
            netlink.AddRoute(otherTable);

            var index = netlink.GetLink("vh-8")!.Index;
            var routes = netlink.ListRoutes();
            Assert.Contains(new RouteEntry(IPAddress.Parse("10.78.0.0"), 16, IPAddress.Parse("10.77.2.254"), index, 254, 0, 3, null), routes);
            Assert.Contains(new RouteEntry(IPAddress.Parse("10.79.0.0"), 24, null, index, 254, 253, 3, 7), routes);
            Assert.Contains(routes, r => r.Destination.Equals(IPAddress.Parse("10.77.2.0")) && r.PrefixLength == 24); // kernel's prefix route
            Assert.DoesNotContain(routes, r => r.Destination.Equals(IPAddress.Parse("10.80.0.0")));
            Assert.Contains(netlink.ListRoutes(1000), r => r.Destination.Equals(IPAddress.Parse("10.80.0.0")));
            Assert.Equal(LinuxErrno.EEXIST, Assert.Throws<NetlinkException>(() => netlink.AddRoute(viaGateway)).Errno);
        });

        var shown = ns.Ip("route", "show").EnumerateArray().ToList();
        var gatewayRoute = shown.Single(r => r.String("dst") == "10.78.0.0/16");
        Assert.Equal("10.77.2.254", gatewayRoute.String("gateway"));
        Assert.Equal("vh-8", gatewayRoute.String("dev"));
        var linkRoute = shown.Single(r => r.String("dst") == "10.79.0.0/24");
        Assert.Equal("link", linkRoute.String("scope"));
        Assert.Equal(7, linkRoute.Int("metric"));
        Assert.Single(ns.Ip("route", "show", "table", "1000").EnumerateArray(), r => r.String("dst") == "10.80.0.0/24");

        ns.Run(netlink =>
        {
            netlink.DeleteRoute(viaGateway);
            netlink.DeleteRoute(otherTable);
            Assert.DoesNotContain(netlink.ListRoutes(), r => r.Destination.Equals(IPAddress.Parse("10.78.0.0")));
            Assert.Empty(netlink.ListRoutes(1000));
        });
        Assert.DoesNotContain(ns.Ip("route", "show").EnumerateArray(), r => r.String("dst") == "10.78.0.0/16");
    }

    private static string Describe(FdbEntry entry) => $"{RouteNetlink.FormatMac(entry.MacAddress)} {entry.Destination}";

    private static List<string> BridgeFdb(TestNamespace ns, string device) =>
        [.. ns.Bridge("fdb", "show", "dev", device).EnumerateArray()
            .Where(e => e.String("dst") is not null)
            .Select(e => $"{e.String("mac")} {e.String("dst")} {e.String("state")}")
            .Order()];
}
