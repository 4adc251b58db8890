using System.Net;
using System.Net.NetworkInformation;

namespace Contiv.Datapath.Tests.Integration;

/// <summary>
/// Two "hosts" (namespaces h1, h2) joined by a veth underlay 192.168.77.0/24, each with a bridge and
/// a vxlan (VNI 42) on it, and one "container" namespace per host attached by a veth into the bridge.
/// All of it, FDB and ARP entries included, is programmed by the library; busybox ping proves it works.
/// </summary>
public class EndToEndTests
{
    [Fact]
    public void Containers_on_two_hosts_ping_each_other_over_vxlan()
    {
        using var h1 = TestNamespace.Create("h1");
        using var h2 = TestNamespace.Create("h2");
        using var c1 = TestNamespace.Create("c1");
        using var c2 = TestNamespace.Create("c2");
        var host1 = new Host(h1, c1, IPAddress.Parse("192.168.77.1"), IPAddress.Parse("10.77.0.1"), PhysicalAddress.Parse("02:77:00:00:00:01"));
        var host2 = new Host(h2, c2, IPAddress.Parse("192.168.77.2"), IPAddress.Parse("10.77.0.2"), PhysicalAddress.Parse("02:77:00:00:00:02"));

        // The underlay: one veth whose far end is created straight inside h2.
        using (var h2Namespace = h2.Open())
        {
            h1.Run(netlink => netlink.CreateVethPair(new VethPairOptions("ul-h1", "ul-h2", PeerNamespace: h2Namespace)));
        }

        host1.Build("ul-h1");
        host2.Build("ul-h2");
        host1.Learn(host2);
        host2.Learn(host1);

        var exit = Tool.TryRun("ip", ["netns", "exec", c1.Name, "/usr/bin/busybox", "ping", "-c", "2", "-W", "2", "10.77.0.2"], out var output, out var error);

        Assert.True(exit == 0, $"ping 10.77.0.2 from c1 failed ({exit}): {output} {error}");
        Assert.Contains("2 packets received", output);

        // The echo requests really were encapsulated: h1's vxlan sent them and h2's received them.
        Assert.True(Packets(h1, "vx42", "tx") >= 2);
        Assert.True(Packets(h2, "vx42", "rx") >= 2);
    }

    private static long Packets(TestNamespace ns, string device, string direction) =>
        ns.Ip("-s", "link", "show", "dev", device).EnumerateArray().Single()
            .GetProperty("stats64").GetProperty(direction).GetProperty("packets").GetInt64();

    private sealed record Host(TestNamespace Namespace, TestNamespace Container, IPAddress Vtep, IPAddress ContainerIp, PhysicalAddress ContainerMac)
    {
        public void Build(string underlay)
        {
            using var container = Container.Open();
            Namespace.Run(netlink =>
            {
                netlink.AddAddress(underlay, Vtep, 24);
                netlink.SetLinkUp(underlay);
                netlink.CreateBridge("cvbr-42");
                netlink.CreateVxlan(new VxlanOptions("vx42", 42, Vtep, UnderlayDevice: underlay));
                netlink.SetMaster("vx42", "cvbr-42");
                netlink.CreateVethPair(new VethPairOptions("vh-c", "eth0", Mtu: 1450, PeerNamespace: container));
                netlink.SetMaster("vh-c", "cvbr-42");
                foreach (var device in (string[])["vx42", "vh-c", "cvbr-42"])
                {
                    netlink.SetLinkUp(device);
                }
            });
            Container.Run(netlink =>
            {
                netlink.SetMacAddress("eth0", ContainerMac);
                netlink.AddAddress("eth0", ContainerIp, 24);
                netlink.SetLinkUp("eth0");
                netlink.SetLinkUp("lo");
            });
        }

        /// <summary>What the netplugin does when an endpoint appears on another host.</summary>
        public void Learn(Host remote)
        {
            Namespace.Run(netlink =>
            {
                netlink.AppendFdbEntry("vx42", PhysicalAddress.Parse("00:00:00:00:00:00"), remote.Vtep);
                netlink.AddFdbEntry("vx42", remote.ContainerMac, remote.Vtep);
            });
            Container.Run(netlink => netlink.AddNeighbour("eth0", remote.ContainerIp, remote.ContainerMac));
        }
    }
}
