namespace Contiv.Datapath.Nftables.Tests.Integration;

/// <summary>The DSCP table (bridge family, payload write): written, read back equal, and as `nft` shows it.</summary>
public sealed class DscpTableTests
{
    [Fact]
    public void Dscp_table_round_trips_and_nft_reads_it_as_dscp_set()
    {
        TestNamespace.RequireNamespaces();
        using var ns = TestNamespace.Create("dscp", prefix: "cvnf");
        using var netns = ns.Open();
        using var nft = NftablesNetlink.Open(netns);

        var table = DscpTableEncoder.With(DscpTableEncoder.With(null, "cvhbbbb", 10), "cvhaaaa", 46)!;
        nft.ReplaceTable(table);
        Assert.Equal(table, nft.GetTable(NftFamily.Bridge, DscpTableEncoder.TableName));
        ns.Exec("nft", ["list", "table", "bridge", DscpTableEncoder.TableName], out var listing, out _);
        Assert.Contains("iifname \"cvhaaaa\" ip dscp set ef comment \"cvhaaaa dscp 46\"", listing, StringComparison.Ordinal);
        Assert.Contains("iifname \"cvhaaaa\" ip6 dscp set ef", listing, StringComparison.Ordinal);
        Assert.Contains("iifname \"cvhbbbb\" ip dscp set af11", listing, StringComparison.Ordinal);

        Assert.Equal(46, DscpTableEncoder.DscpOf(table, "cvhaaaa"));
        Assert.Equal(table, DscpTableEncoder.With(table, "cvhaaaa", 46)); // same mark: same table
        var one = DscpTableEncoder.With(table, "cvhaaaa", null)!;
        Assert.Equal(2, one.Rules.Count);
        Assert.Null(DscpTableEncoder.DscpOf(one, "cvhaaaa"));
        Assert.Null(DscpTableEncoder.With(one, "cvhbbbb", null));
        Assert.Throws<ArgumentOutOfRangeException>(() => DscpTableEncoder.With(null, "cvhaaaa", 64));
    }
}
