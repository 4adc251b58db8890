using Contiv.Datapath.TcBpf.Bpf;
using Contiv.Datapath.TcBpf.Tc;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>clsact and bpf filters over netlink, checked against `tc` itself, in a throwaway namespace.</summary>
public class TrafficControlTests
{
    [Fact]
    public void Clsact_and_a_direct_action_bpf_filter_round_trip()
    {
        using var ns = RootAndBpf.Namespace("tc");
        var index = ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("tca", "tcb"));
            return netlink.GetLink("tca")!.Index;
        });
        using var tc = TrafficControl.Open(ns.Open());

        tc.EnsureClsact(index);
        tc.EnsureClsact(index); // idempotent
        Assert.True(tc.HasClsact(index));
        Assert.Contains("qdisc clsact ffff:", ns.Tc("qdisc", "show", "dev", "tca"));

        using (var program = BpfProgram.LoadSchedCls("cv_pass", VlanPrograms.PassAll()))
        {
            tc.ReplaceBpfFilter(index, TcHook.Ingress, 300, 5, program, "cv-pass");
        }

        var filter = Assert.Single(tc.ListFilters(index, TcHook.Ingress));
        Assert.Equal((300, 5u, "bpf", "cv-pass", true, (ushort)0x0003), (filter.Priority, filter.Handle, filter.Kind, filter.BpfName, filter.DirectAction, filter.Protocol));
        Assert.Empty(tc.ListFilters(index, TcHook.Egress));
        var shown = ns.Tc("filter", "show", "dev", "tca", "ingress");
        Assert.Contains("pref 300 bpf", shown);
        Assert.Contains("cv-pass direct-action", shown);

        // Replacing keeps the filter and swaps the program (a new id).
        using (var again = BpfProgram.LoadSchedCls("cv_pass", VlanPrograms.PassAll()))
        {
            tc.ReplaceBpfFilter(index, TcHook.Ingress, 300, 5, again, "cv-pass-2");
        }

        var replaced = Assert.Single(tc.ListFilters(index, TcHook.Ingress));
        Assert.Equal("cv-pass-2", replaced.BpfName);
        Assert.NotEqual(filter.BpfProgramId, replaced.BpfProgramId);

        Assert.True(tc.DeleteFilter(index, TcHook.Ingress, 300, 5));
        Assert.False(tc.DeleteFilter(index, TcHook.Ingress, 300, 5));
        Assert.Empty(tc.ListFilters(index, TcHook.Ingress));

        tc.DeleteClsact(index);
        tc.DeleteClsact(index); // idempotent
        Assert.False(tc.HasClsact(index));
        Assert.DoesNotContain("clsact", ns.Tc("qdisc", "show", "dev", "tca"));
        Assert.False(tc.DeleteFilter(index, TcHook.Ingress, 300, 5)); // no clsact at all
        Assert.Empty(tc.ListFilters(index, TcHook.Ingress));
    }

    [Fact]
    public void Kernel_refusals_carry_the_extended_ack_text()
    {
        using var ns = RootAndBpf.Namespace("tcerr");
        var index = ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("tca", "tcb"));
            return netlink.GetLink("tca")!.Index;
        });
        using var tc = TrafficControl.Open(ns.Open());
        using var program = BpfProgram.LoadSchedCls("cv_pass", VlanPrograms.PassAll());

        // No clsact qdisc yet: the filter has no parent.
        var error = Assert.Throws<NetlinkException>(() => tc.ReplaceBpfFilter(index, TcHook.Ingress, 1, 1, program, "x"));

        Assert.Equal("replace bpf filter", error.Operation);
        Assert.False(string.IsNullOrEmpty(error.KernelMessage), error.Message);
    }
}
