using System.Net;
using System.Net.NetworkInformation;
using Contiv.TestSupport;

namespace Contiv.Datapath.Tests.Integration;

/// <summary>Links created by the library inside throwaway namespaces, checked through ListLinks and `ip -d -j link`.</summary>
public class LinkTests
{
    private static readonly IPAddress LocalVtep = IPAddress.Parse("192.168.77.1");

    [Fact]
    public void Bridge_and_vxlan_are_created_enslaved_and_up()
    {
        using var ns = TestNamespace.Create("vx");

        ns.Run(netlink =>
        {
            CreateUnderlay(netlink, "ul0", LocalVtep);
            netlink.CreateBridge("cvbr-42");
            netlink.CreateVxlan(new VxlanOptions("vx42", 42, LocalVtep, UnderlayDevice: "ul0", Port: 4789, Learning: false));
            netlink.SetMaster("vx42", "cvbr-42");
            netlink.SetLinkUp("vx42");
            netlink.SetLinkUp("cvbr-42");

            var links = netlink.ListLinks();
            var bridge = links.Single(l => l.Name == "cvbr-42");
            var vxlan = links.Single(l => l.Name == "vx42");
            var underlay = links.Single(l => l.Name == "ul0");
            Assert.Equal("bridge", bridge.Kind);
            Assert.True(bridge.IsAdminUp);
            Assert.Equal("vxlan", vxlan.Kind);
            Assert.Equal(new VxlanInfo(42, LocalVtep, 4789, Learning: false, underlay.Index, Ttl: 0), vxlan.Vxlan);
            Assert.Equal(bridge.Index, vxlan.MasterIndex);
            Assert.True(vxlan.IsAdminUp);
            Assert.True(vxlan.IsOperUp);
            Assert.Equal(vxlan, netlink.GetLink("vx42"));
            Assert.Equal("vx42", netlink.GetLink(vxlan.Index)!.Name);
        });

        var json = ns.Link("vx42");
        var info = json.GetProperty("linkinfo");
        Assert.Equal("vxlan", info.String("info_kind"));
        var data = info.GetProperty("info_data");
        Assert.Equal(42, data.Int("id"));
        Assert.Equal(4789, data.Int("port"));
        Assert.Equal("192.168.77.1", data.String("local"));
        Assert.Equal("ul0", data.String("link"));
        Assert.False(data.GetProperty("learning").GetBoolean());
        Assert.Equal("cvbr-42", json.String("master"));
        Assert.Contains("UP", json.Strings("flags"));
        Assert.Equal("bridge", ns.Link("cvbr-42").GetProperty("linkinfo").String("info_kind"));
        Assert.Contains("UP", ns.Link("cvbr-42").Strings("flags"));
    }

    [Fact]
    public void Vxlan_ttl_and_learning_are_passed_through()
    {
        using var ns = TestNamespace.Create("vxttl");

        var vxlan = ns.Run(netlink =>
        {
            netlink.CreateVxlan(new VxlanOptions("vx7", 7, LocalVtep, Port: 8472, Learning: true, Ttl: 16, Mtu: 1400));
            return netlink.GetLink("vx7")!;
        });

        Assert.Equal(new VxlanInfo(7, LocalVtep, 8472, Learning: true, UnderlayIndex: null, Ttl: 16), vxlan.Vxlan);
        Assert.Equal(1400, vxlan.Mtu);
        var data = ns.Link("vx7").GetProperty("linkinfo").GetProperty("info_data");
        Assert.Equal(16, data.Int("ttl"));
        Assert.True(data.GetProperty("learning").GetBoolean());
    }

    [Fact]
    public void Veth_pair_has_the_mtu_on_both_ends_and_the_host_end_joins_the_bridge()
    {
        using var ns = TestNamespace.Create("veth");

        ns.Run(netlink =>
        {
            netlink.CreateBridge("cvbr-1");
            netlink.CreateVethPair(new VethPairOptions("vh-1", "vc-1", Mtu: 1450));
            netlink.SetMaster("vh-1", "cvbr-1");
            netlink.SetLinkUp("vh-1");

            var host = netlink.GetLink("vh-1")!;
            var container = netlink.GetLink("vc-1")!;
            Assert.Equal("veth", host.Kind);
            Assert.Equal(1450, host.Mtu);
            Assert.Equal(1450, container.Mtu);
            Assert.Equal(container.Index, host.ParentIndex);
            Assert.Equal(netlink.GetLink("cvbr-1")!.Index, host.MasterIndex);
            Assert.True(host.IsAdminUp);
            Assert.False(host.IsOperUp); // its peer is still down
        });

        Assert.Equal(1450, ns.Link("vh-1").Int("mtu"));
        Assert.Equal(1450, ns.Link("vc-1").Int("mtu"));
        Assert.Equal("cvbr-1", ns.Link("vh-1").String("master"));
        Assert.Equal("veth", ns.Link("vc-1").GetProperty("linkinfo").String("info_kind"));
    }

    [Fact]
    public void Veth_end_moves_into_a_second_namespace_by_fd()
    {
        using var host = TestNamespace.Create("mvh");
        using var container = TestNamespace.Create("mvc");
        using var target = container.Open();

        host.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("vh-2", "vc-2", Mtu: 1450));
            netlink.MoveToNamespace("vc-2", target);
            Assert.Null(netlink.GetLink("vc-2"));
        });

        var moved = container.Run(netlink => netlink.GetLink("vc-2"));
        Assert.NotNull(moved);
        Assert.Equal(1450, moved.Mtu);
        Assert.True(container.HasLink("vc-2"));
        Assert.False(host.HasLink("vc-2"));
    }

    [Fact]
    public void Veth_peer_is_created_directly_inside_another_namespace()
    {
        using var host = TestNamespace.Create("pnh");
        using var container = TestNamespace.Create("pnc");
        using var target = container.Open();

        host.Run(netlink => netlink.CreateVethPair(new VethPairOptions("vh-3", "eth0", Mtu: 1450, PeerNamespace: target)));

        Assert.False(host.HasLink("eth0"));
        Assert.Equal(1450, container.Link("eth0").Int("mtu"));

        // A socket opened inside the namespace keeps it, whichever thread uses it afterwards.
        using var netlink = target.OpenNetlink();
        Assert.Equal("veth", netlink.GetLink("eth0")!.Kind);
    }

    [Fact]
    public void Veth_end_moves_into_the_namespace_of_a_process()
    {
        using var host = TestNamespace.Create("pidh");
        using var container = TestNamespace.Create("pidc");
        using var sleeper = SleepInside(container);

        host.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("vh-4", "vc-4"));
            netlink.MoveToNamespaceOfProcess("vc-4", sleeper.Id);
        });

        Assert.True(container.HasLink("vc-4"));
        Assert.NotNull(NetworkNamespace.Run($"/proc/{sleeper.Id}/ns/net", netlink => netlink.GetLink("vc-4")));
    }

    [Fact]
    public void Link_can_be_renamed_readdressed_resized_taken_down_and_released()
    {
        using var ns = TestNamespace.Create("chg");
        var mac = PhysicalAddress.Parse("02:77:00:00:01:01");

        ns.Run(netlink =>
        {
            netlink.CreateBridge("cvbr-2");
            netlink.CreateVethPair(new VethPairOptions("tmp-a", "tmp-b"));
            netlink.RenameLink("tmp-a", "vh-5");
            netlink.SetMacAddress("vh-5", mac);
            netlink.SetMtu("vh-5", 1400);
            netlink.SetMaster("vh-5", "cvbr-2");
            netlink.SetLinkUp("vh-5");
            netlink.SetLinkDown("vh-5");
            netlink.SetNoMaster("vh-5");

            var link = netlink.GetLink("vh-5")!;
            Assert.Null(netlink.GetLink("tmp-a"));
            Assert.Equal(mac, link.MacAddress);
            Assert.Equal(1400, link.Mtu);
            Assert.False(link.IsAdminUp);
            Assert.Null(link.MasterIndex);

            netlink.DeleteLink("vh-5");
            Assert.Null(netlink.GetLink("vh-5"));
            Assert.Null(netlink.GetLink("tmp-b")); // deleting one veth end removes its peer
        });
    }

    /// <summary>The 802.1Q test runs only where the kernel has vlan devices; this one has none (no 8021q).</summary>
    [Fact]
    public void Vlan_sub_interface_is_created_on_its_parent()
    {
        using var ns = TestNamespace.Create("vlan");

        ns.Run(netlink =>
        {
            if (!netlink.SupportsVlanDevices())
            {
                Prerequisite.Impossible("this kernel has no 802.1Q vlan devices (8021q): `ip link add ... type vlan` fails with EOPNOTSUPP");
            }

            netlink.CreateVethPair(new VethPairOptions("trunk0", "trunk1"));
            netlink.CreateVlan("trunk0.100", "trunk0", 100);
            var vlan = netlink.GetLink("trunk0.100")!;
            Assert.Equal("vlan", vlan.Kind);
            Assert.Equal(netlink.GetLink("trunk0")!.Index, vlan.ParentIndex);
        });

        Assert.Equal(100, ns.Link("trunk0.100").GetProperty("linkinfo").GetProperty("info_data").Int("id"));
    }

    [Fact]
    public void Vlan_creation_without_8021q_fails_clearly()
    {
        using var ns = TestNamespace.Create("novlan");

        ns.Run(netlink =>
        {
            if (netlink.SupportsVlanDevices())
            {
                Prerequisite.Impossible("this kernel has 802.1Q vlan devices; the unsupported path cannot be exercised");
            }

            netlink.CreateVethPair(new VethPairOptions("trunk0", "trunk1"));
            var error = Assert.Throws<NetlinkException>(() => netlink.CreateVlan("trunk0.100", "trunk0", 100));
            Assert.Equal(LinuxErrno.EOPNOTSUPP, error.Errno);
            Assert.StartsWith("create link trunk0.100: Operation not supported (EOPNOTSUPP)", error.Message);
            Assert.Contains("8021q", error.Message);
            Assert.Null(netlink.GetLink("trunk0.100"));
            Assert.Null(netlink.GetLink("cvvlanprobe0"));
        });
    }

    internal static void CreateUnderlay(INetlink netlink, string name, IPAddress address)
    {
        netlink.CreateVethPair(new VethPairOptions(name, name + "p"));
        netlink.AddAddress(name, address, 24);
        netlink.SetLinkUp(name);
        netlink.SetLinkUp(name + "p");
    }

    /// <summary>A process living in <paramref name="ns"/>; killed (by its own handle) on Dispose.</summary>
    private static SleepingProcess SleepInside(TestNamespace ns)
    {
        var process = System.Diagnostics.Process.Start("ip", ["netns", "exec", ns.Name, "/usr/bin/busybox", "sleep", "30"]);
        var sleeper = new SleepingProcess(process);

        // Wait for the process to be in exactly that namespace ("net:[inode]" as a thread inside it
        // reads it). This used to wait for "no longer the test's own namespace", comparing link
        // targets that carried each process's /proc directory, so it never waited at all and the
        // veth was sometimes moved before `ip netns exec` had entered the namespace.
        var wanted = ns.Run(_ => ReadLink("/proc/thread-self/ns/net"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ReadLink($"/proc/{process.Id}/ns/net") != wanted)
        {
            if (DateTime.UtcNow > deadline)
            {
                var actual = ReadLink($"/proc/{process.Id}/ns/net");
                sleeper.Dispose();
                throw new TimeoutException($"`ip netns exec` did not enter the namespace {wanted} (the process is in {actual ?? "none"})");
            }

            Thread.Sleep(10);
        }

        return sleeper;
    }

    private static string? ReadLink(string path)
    {
        try
        {
            // The raw link text ("net:[4026532175]"): ResolveLinkTarget would prefix it with the
            // link's own directory, which differs per process.
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private sealed class SleepingProcess(System.Diagnostics.Process process) : IDisposable
    {
        public int Id => process.Id;

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }

            process.Dispose();
        }
    }
}
