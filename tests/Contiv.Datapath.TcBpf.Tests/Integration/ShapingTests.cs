using Contiv.Datapath.TcBpf.Tc;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>tbf, ifb and the u32 mirred redirect over netlink, checked against `tc` and `ip` themselves, in a throwaway namespace.</summary>
public class ShapingTests
{
    [Fact]
    public void Root_tbf_changes_in_place_and_reads_back_its_rate_and_limit()
    {
        TestNamespace.RequireNamespaces();
        using var ns = TestNamespace.Create("tbf", prefix: "cvtc");
        var index = ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("tsa", "tsb"));
            return netlink.GetLink("tsa")!.Index;
        });
        using var tc = TrafficControl.Open(ns.Open());
        Assert.Null(tc.RootQdisc(index)); // the default (noqueue) is not "ours"
        Assert.False(tc.DeleteRootQdisc(index));

        tc.ReplaceRootTokenBucket(index, new TokenBucket(6_250_000, 65_536, 378_036));
        var root = Assert.IsType<TcQdisc>(tc.RootQdisc(index));
        Assert.Equal("tbf", root.Kind);
        Assert.Equal(new TokenBucket(6_250_000, 0, 378_036), root.TokenBucket);
        Assert.Contains("rate 50Mbit burst 64Kb", ns.Tc("qdisc", "show", "dev", "tsa"), StringComparison.Ordinal);

        tc.ReplaceRootTokenBucket(index, new TokenBucket(2_500_000, 32_768, 157_768));
        var changed = Assert.IsType<TcQdisc>(tc.RootQdisc(index));
        Assert.Equal(root.Handle, changed.Handle); // changed in place, not re-created
        Assert.Equal(2_500_000UL, changed.TokenBucket!.BytesPerSecond);
        Assert.Contains("rate 20Mbit burst 32Kb", ns.Tc("qdisc", "show", "dev", "tsa"), StringComparison.Ordinal);

        Assert.True(tc.DeleteRootQdisc(index));
        Assert.Null(tc.RootQdisc(index));
        Assert.DoesNotContain("tbf", ns.Tc("qdisc", "show", "dev", "tsa"), StringComparison.Ordinal);
    }

    [Fact]
    public void Ingress_redirect_to_an_ifb_is_ensured_once_and_deleted_by_priority()
    {
        TestNamespace.RequireNamespaces();
        using var ns = TestNamespace.Create("ifb", prefix: "cvtc");
        using var tc = TrafficControl.Open(ns.Open());
        tc.CreateIfb("tsq");
        var (veth, ifb) = ns.Run(netlink =>
        {
            netlink.CreateVethPair(new VethPairOptions("tsa", "tsb"));
            return (netlink.GetLink("tsa")!.Index, netlink.GetLink("tsq")!.Index);
        });
        Assert.Equal("ifb", ns.Link("tsq").GetProperty("linkinfo").GetProperty("info_kind").GetString());

        tc.EnsureClsact(veth);
        Assert.True(tc.EnsureRedirectFilter(veth, TcHook.Ingress, 10, ifb));
        Assert.False(tc.EnsureRedirectFilter(veth, TcHook.Ingress, 10, ifb));
        Assert.Contains(tc.ListFilters(veth, TcHook.Ingress), f => f.Kind == "u32" && f.RedirectIndex == ifb);
        var shown = ns.Tc("filter", "show", "dev", "tsa", "ingress");
        Assert.Contains("match 00000000/00000000 at 0", shown, StringComparison.Ordinal);
        Assert.Contains("mirred (Egress Redirect to device tsq) stolen", shown, StringComparison.Ordinal);

        Assert.True(tc.DeletePriority(veth, TcHook.Ingress, 10));
        Assert.False(tc.DeletePriority(veth, TcHook.Ingress, 10));
        Assert.Empty(tc.ListFilters(veth, TcHook.Ingress));
    }
}
