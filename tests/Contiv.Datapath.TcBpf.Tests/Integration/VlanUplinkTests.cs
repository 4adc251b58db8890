using System.Diagnostics;
using System.Net;
using System.Text;
using Contiv.Datapath.TcBpf.Tc;
using Contiv.TestSupport;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>
/// Two "hosts" (namespaces h1, h2) joined by a veth underlay named eth2 on both sides, each with
/// the bridges cvbr-v112 and cvbr-v113 and one "container" namespace per bridge, the way Contiv
/// lays out `netctl net create -e vlan -p 112 -s 10.1.3.0/24` with `--vlan-if eth2`. The uplinks
/// are built by <see cref="TcBpfVlanUplink"/> only; busybox ping and tcpdump check the result.
/// All four containers share 10.1.3.0/24, so only VLAN separation can keep 112 and 113 apart.
/// </summary>
public class VlanUplinkTests
{
    private const string Uplink = "eth2";

    /// <param name="tagInFrameBytes">
    /// With tx-vlan-offload off on both eth2 ends, the sender's validate_xmit_vlan() writes the tag
    /// into the frame, and the receiver's skb_vlan_untag() takes it out again before tc ingress, as
    /// with a NIC without VLAN offload; with it on (veth's default) the tag crosses out of band.
    /// The programs must work either way.
    /// </param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Containers_on_two_hosts_talk_over_a_tagged_uplink_and_vlans_stay_isolated(bool tagInFrameBytes)
    {
        using var h1 = RootAndBpf.Namespace("h1");
        using var h2 = RootAndBpf.Namespace("h2");
        using var c1 = RootAndBpf.Namespace("c1");
        using var c2 = RootAndBpf.Namespace("c2");
        using var c3 = RootAndBpf.Namespace("c3");
        using var c4 = RootAndBpf.Namespace("c4");

        // The wire: a veth whose ends are both called eth2, one in each host. The underlay
        // addresses let the test check that untagged traffic still reaches the host stack.
        using var h1Namespace = h1.Open();
        using var h2Namespace = h2.Open();
        h1.Run(netlink => netlink.CreateVethPair(new VethPairOptions(Uplink, Uplink, Mtu: 1500, PeerNamespace: h2Namespace)));

        BuildHost(h1, IPAddress.Parse("192.168.78.1"), (c1, 112, "10.1.3.1"), (c3, 113, "10.1.3.3"));
        BuildHost(h2, IPAddress.Parse("192.168.78.2"), (c2, 112, "10.1.3.2"), (c4, 113, "10.1.3.4"));

        if (tagInFrameBytes)
        {
            foreach (var host in (TestNamespace[])[h1, h2])
            {
                SetTxVlanOffload(host, on: false);
            }
        }

        using var uplink1 = TcBpfVlanUplink.Open(h1Namespace);
        using var uplink2 = TcBpfVlanUplink.Open(h2Namespace);
        foreach (var uplink in (TcBpfVlanUplink[])[uplink1, uplink2])
        {
            uplink.Ensure("cvbr-v112", Uplink, 112);
            uplink.Ensure("cvbr-v113", Uplink, 113);
        }

        // Ensure is idempotent: a second round keeps the attached programs (same ids).
        var before = UplinkFilters(h1);
        uplink1.Ensure("cvbr-v112", Uplink, 112);
        uplink1.Ensure("cvbr-v113", Uplink, 113);
        Assert.Equal(before, UplinkFilters(h1));
        Assert.Equal([112, 113], uplink1.ListVlans(Uplink));
        Assert.Equal(
            [(TcBpfVlanUplink.UntagPriority(112), 112u, true), (TcBpfVlanUplink.UntagPriority(113), 113u, true)],
            before.Select(f => (f.Priority, f.Handle, f.DirectAction)));
        Assert.Contains("PROMISC", h1.IpText("link", "show", Uplink));

        // VLAN 112 across the wire, watched on host1's uplink: the frames carry the 802.1Q tag.
        using (var capture = Capture.Start(h1, Uplink, "icmp or arp"))
        {
            Ping(c2, "10.1.3.1", expectSuccess: true);
            var frames = capture.Finish();
            Assert.Contains("ethertype 802.1Q (0x8100)", frames);
            Assert.Contains("vlan 112", frames);
            Assert.DoesNotContain("vlan 113", frames);
        }

        // VLAN 113 works too, and neither VLAN reaches the other although they share a subnet.
        Ping(c4, "10.1.3.3", expectSuccess: true);
        Ping(c4, "10.1.3.1", expectSuccess: false);
        Ping(c2, "10.1.3.3", expectSuccess: false);

        // Untagged traffic on the uplink falls through every untagger to the host stack.
        Ping(h2, "192.168.78.1", expectSuccess: true);

        // Removing 112 leaves 113 alone; removing both leaves no trace on either host.
        uplink1.Remove(Uplink, 112);
        uplink2.Remove(Uplink, 112);
        Assert.Equal([113], uplink1.ListVlans(Uplink));
        Ping(c4, "10.1.3.3", expectSuccess: true);
        Ping(c2, "10.1.3.1", expectSuccess: false);

        uplink1.Remove(Uplink, 113);
        uplink2.Remove(Uplink, 113);
        uplink1.Remove(Uplink, 113); // idempotent
        foreach (var host in (TestNamespace[])[h1, h2])
        {
            Assert.Empty(UplinkFilters(host));
            Assert.Equal("", host.Tc("filter", "show", "dev", Uplink, "ingress").Trim());
            Assert.DoesNotContain("clsact", host.Tc("qdisc", "show", "dev", Uplink));
            var links = host.IpText("-o", "link", "show");
            Assert.DoesNotContain("cvu-", links);
            Assert.DoesNotContain("cvv-", links);
        }
    }

    /// <summary>
    /// A host with its uplink up (and an underlay address), and per VLAN a bridge cvbr-vV with a
    /// container namespace attached by a veth (host end vh-V, container end eth0, MTU 1500).
    /// </summary>
    private static void BuildHost(TestNamespace host, IPAddress underlay, params (TestNamespace Container, int VlanId, string Address)[] containers)
    {
        host.Run(netlink =>
        {
            netlink.AddAddress(Uplink, underlay, 24);
            netlink.SetLinkUp(Uplink);
            netlink.SetLinkUp("lo");
        });
        foreach (var (container, vlanId, address) in containers)
        {
            var bridge = $"cvbr-v{vlanId}";
            var hostEnd = $"vh-{vlanId}";
            using (var containerNamespace = container.Open())
            {
                host.Run(netlink =>
                {
                    netlink.CreateBridge(bridge);
                    netlink.CreateVethPair(new VethPairOptions(hostEnd, "eth0", Mtu: 1500, PeerNamespace: containerNamespace));
                    netlink.SetMaster(hostEnd, bridge);
                    netlink.SetLinkUp(hostEnd);
                    netlink.SetLinkUp(bridge);
                });
            }

            container.Run(netlink =>
            {
                netlink.AddAddress("eth0", IPAddress.Parse(address), 24);
                netlink.SetLinkUp("eth0");
                netlink.SetLinkUp("lo");
            });
        }
    }

    private static void SetTxVlanOffload(TestNamespace host, bool on)
    {
        try
        {
            if (host.Exec("ethtool", ["-K", Uplink, "txvlan", on ? "on" : "off"], out var output, out var error) != 0)
            {
                // The veth driver's doing, not a missing package.
                Prerequisite.Impossible($"ethtool cannot switch tx-vlan-offload on {Uplink}: {error.Trim()} {output.Trim()}");
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Prerequisite.MissingPackage("ethtool", "ethtool", $"needed to put the tag into the frame bytes: {e.Message}");
        }
    }

    private static List<TcFilter> UplinkFilters(TestNamespace host)
    {
        using var ns = host.Open();
        using var tc = TrafficControl.Open(ns);
        var index = host.Run(netlink => netlink.GetLink(Uplink)!.Index);
        return [.. tc.ListFilters(index, TcHook.Ingress)];
    }

    private static void Ping(TestNamespace from, string address, bool expectSuccess)
    {
        // Two probes when success is expected (the first may wait for ARP), one short one otherwise.
        string[] arguments = expectSuccess
            ? ["ping", "-c", "2", "-W", "2", address]
            : ["ping", "-c", "1", "-W", "1", address];
        var exit = from.Exec("/usr/bin/busybox", arguments, out var output, out var error);
        if (expectSuccess)
        {
            Assert.True(exit == 0, $"ping {address} from {from.Name} failed ({exit}): {output} {error}");
        }
        else
        {
            // Failing for the right reason: the probe went out and nothing came back.
            Assert.True(exit != 0, $"ping {address} from {from.Name} crossed VLANs: {output}");
            Assert.Contains("1 packets transmitted, 0 packets received", output);
        }
    }

    /// <summary>`tcpdump -e -nn -c 2 -i DEV FILTER` in a namespace, started and ready before traffic flows, bounded by `timeout`.</summary>
    private sealed class Capture : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly StringBuilder _error = new();

        private Capture(Process process) => _process = process;

        public static Capture Start(TestNamespace ns, string device, string filter)
        {
            var process = new Process
            {
                StartInfo = Tool.StartInfo("ip", ["netns", "exec", ns.Name, "timeout", "10", "tcpdump", "-e", "-nn", "-l", "-i", device, "-c", "2", filter]),
            };
            var capture = new Capture(process);
            var listening = new ManualResetEventSlim();
            process.OutputDataReceived += (_, e) =>
            {
                lock (capture._output)
                {
                    capture._output.AppendLine(e.Data);
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (capture._error)
                {
                    capture._error.AppendLine(e.Data);
                }

                if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true)
                {
                    listening.Set();
                }
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!listening.Wait(TimeSpan.FromSeconds(5)))
            {
                capture.Dispose();
                throw new InvalidOperationException($"tcpdump did not start listening on {device}: {capture._error}");
            }

            return capture;
        }

        /// <summary>Waits for tcpdump to see its two frames (or time out) and returns what it printed.</summary>
        public string Finish()
        {
            _process.WaitForExit(TimeSpan.FromSeconds(12));
            _process.WaitForExit(); // drains the redirected streams
            lock (_output)
            {
                return $"{_output}\n{_error}";
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
