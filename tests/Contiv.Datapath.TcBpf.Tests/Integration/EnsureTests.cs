using Contiv.Datapath.TcBpf.Tc;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary><see cref="TcBpfVlanUplink.Ensure"/> reconciles what it finds, on one host without traffic.</summary>
public class EnsureTests
{
    [Fact]
    public void Ensure_builds_the_pair_and_repairs_a_deleted_veth_by_retargeting_the_untagger()
    {
        using var host = RootAndBpf.Namespace("ens");
        using var ns = host.Open();
        host.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("eth2", "wire", Mtu: 1400));
            netlink.CreateBridge("cvbr-v7");
        });
        using var uplink = TcBpfVlanUplink.Open(ns);
        using var tc = TrafficControl.Open(ns);

        uplink.Ensure("cvbr-v7", "eth2", 7);

        var (eth2, bridge, cvv, cvu) = host.Run(n => (n.GetLink("eth2")!, n.GetLink("cvbr-v7")!, n.GetLink("cvv-7")!, n.GetLink("cvu-7")!));
        Assert.Equal(bridge.Index, cvv.MasterIndex);
        Assert.Equal(cvu.Index, cvv.ParentIndex);
        Assert.True(cvv.IsAdminUp && cvu.IsAdminUp);
        Assert.Equal((1400, 1400), (cvv.Mtu, cvu.Mtu)); // the uplink's MTU, as eth2.7 would inherit
        var tagger = Assert.Single(tc.ListFilters(cvu.Index, TcHook.Ingress));
        Assert.Equal($"contiv-vlan-tag-7-to-if{eth2.Index}", tagger.BpfName);
        var untagger = Assert.Single(tc.ListFilters(eth2.Index, TcHook.Ingress));
        Assert.Equal($"contiv-vlan-untag-7-to-if{cvu.Index}", untagger.BpfName);
        Assert.Equal((TcBpfVlanUplink.UntagPriority(7), 7u), (untagger.Priority, untagger.Handle));

        // Someone deletes the pair: the next Ensure recreates it and points the untagger at the new cvu-7.
        host.Run(n => n.DeleteLink("cvu-7"));
        uplink.Ensure("cvbr-v7", "eth2", 7);

        var newCvu = host.Run(n => n.GetLink("cvu-7")!);
        Assert.NotEqual(cvu.Index, newCvu.Index);
        var retargeted = Assert.Single(tc.ListFilters(eth2.Index, TcHook.Ingress));
        Assert.Equal($"contiv-vlan-untag-7-to-if{newCvu.Index}", retargeted.BpfName);
        Assert.NotEqual(untagger.BpfProgramId, retargeted.BpfProgramId);
        Assert.Equal(host.Run(n => n.GetLink("cvbr-v7")!.Index), host.Run(n => n.GetLink("cvv-7")!.MasterIndex));

        uplink.Remove("eth2", 7);
        Assert.Empty(tc.ListFilters(eth2.Index, TcHook.Ingress));
        Assert.False(tc.HasClsact(eth2.Index));
        Assert.Null(host.Run(n => n.GetLink("cvv-7")));
    }

    [Fact]
    public void EnsureAcrossNamespaces_puts_cvv_beside_the_bridge_and_cvu_with_both_programs_beside_the_uplink()
    {
        using var host = RootAndBpf.Namespace("ensx");
        using var bridgeHost = RootAndBpf.Namespace("ensxbr");
        using var ns = host.Open();
        using var bridgeNs = bridgeHost.Open();
        host.Run(netlink => netlink.CreateVethPair(new VethPairOptions("eth2", "wire", Mtu: 1400)));
        bridgeHost.Run(netlink => netlink.CreateBridge("cvbr-v5"));
        using var uplink = TcBpfVlanUplink.Open(ns);
        using var bridgeLinks = bridgeNs.OpenNetlink();
        using var tc = TrafficControl.Open(ns);

        uplink.EnsureAcrossNamespaces(bridgeNs, bridgeLinks, "cvbr-v5", "eth2", 5);

        var (eth2, cvu) = host.Run(n => (n.GetLink("eth2")!, n.GetLink("cvu-5")!));
        var (bridge, cvv) = bridgeHost.Run(n => (n.GetLink("cvbr-v5")!, n.GetLink("cvv-5")!));
        Assert.Null(host.Run(n => n.GetLink("cvv-5")));
        Assert.Equal(bridge.Index, cvv.MasterIndex);
        Assert.True(cvv.IsAdminUp && cvu.IsAdminUp);
        Assert.Equal((1400, 1400), (cvv.Mtu, cvu.Mtu));
        Assert.Contains("PROMISC", host.IpText("link", "show", "eth2"));
        var tagger = Assert.Single(tc.ListFilters(cvu.Index, TcHook.Ingress));
        Assert.Equal($"contiv-vlan-tag-5-to-if{eth2.Index}", tagger.BpfName);
        var untagger = Assert.Single(tc.ListFilters(eth2.Index, TcHook.Ingress));
        Assert.Equal($"contiv-vlan-untag-5-to-if{cvu.Index}", untagger.BpfName);

        // Again: nothing is recreated or reloaded.
        uplink.EnsureAcrossNamespaces(bridgeNs, bridgeLinks, "cvbr-v5", "eth2", 5);

        Assert.Equal(cvu.Index, host.Run(n => n.GetLink("cvu-5")!.Index));
        Assert.Equal(tagger.BpfProgramId, Assert.Single(tc.ListFilters(cvu.Index, TcHook.Ingress)).BpfProgramId);
        Assert.Equal(untagger.BpfProgramId, Assert.Single(tc.ListFilters(eth2.Index, TcHook.Ingress)).BpfProgramId);

        uplink.Remove("eth2", 5);
        Assert.Empty(tc.ListFilters(eth2.Index, TcHook.Ingress));
        Assert.Null(bridgeHost.Run(n => n.GetLink("cvv-5")));
    }

    [Fact]
    public void Ensure_refuses_a_missing_uplink_a_missing_bridge_and_a_device_that_is_no_bridge()
    {
        using var host = RootAndBpf.Namespace("enserr");
        using var ns = host.Open();
        host.Run(netlink => netlink.CreateVethPair(new VethPairOptions("eth2", "wire")));
        using var uplink = TcBpfVlanUplink.Open(ns);

        Assert.Equal(LinuxErrno.ENODEV, Assert.Throws<NetlinkException>(() => uplink.Ensure("cvbr-v9", "eth9", 9)).Errno);
        Assert.Equal(LinuxErrno.ENODEV, Assert.Throws<NetlinkException>(() => uplink.Ensure("cvbr-v9", "eth2", 9)).Errno);
        Assert.Contains("not a bridge", Assert.Throws<ArgumentException>(() => uplink.Ensure("wire", "eth2", 9)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => uplink.Ensure("cvbr-v9", "eth2", 4095));
        Assert.Null(host.Run(n => n.GetLink("cvv-9")));

        uplink.Remove("eth9", 9); // nothing there: no error
        Assert.Empty(uplink.ListVlans("eth9"));
    }

    [Fact]
    public void IsSupported_loads_a_probe_program()
    {
        RootAndBpf.Require();

        Assert.True(TcBpfVlanUplink.IsSupported(out var reason), reason);
        Assert.Null(reason);
    }
}
