using System.Net;

namespace Contiv.Datapath.Nftables.Tests.Integration;

/// <summary>Tables written with the library, checked by reading them back and with `nft list`.</summary>
public sealed class TableTests
{
    private static NftTable Sample(params string[] addresses) => new(
        NftFamily.Inet,
        "cvtest",
        ValueList.Of(new NftChain("forward", new NftBaseChain(NftHook.Forward, 0)), new NftChain("in-db")),
        ValueList.Of(NftSet.Ipv4Addresses("group-db", addresses.Select(IPAddress.Parse))),
        ValueList.Of(
            new NftRule("forward", ValueList.Of<NftExpression>(
                new NftCt(NftCtKey.State),
                new NftBitwise(NftValue.HostOrder32(6), NftValue.HostOrder32(0)),
                new NftCmp(NftCmpOp.NotEqual, NftValue.HostOrder32(0)),
                new NftVerdict(NftVerdictCode.Accept))),
            new NftRule("forward", ValueList.Of<NftExpression>(
                new NftMeta(NftMetaKey.NfProto),
                new NftCmp(NftCmpOp.Equal, NftValue.Byte(2)),
                new NftPayload(NftPayloadBase.Network, 16, 4),
                new NftLookup("group-db"),
                new NftVerdict(NftVerdictCode.Jump, "in-db")), "to group db"),
            new NftRule("in-db", ValueList.Of<NftExpression>(
                new NftMeta(NftMetaKey.L4Proto),
                new NftCmp(NftCmpOp.Equal, NftValue.Byte(6)),
                new NftPayload(NftPayloadBase.Transport, 2, 2),
                new NftCmp(NftCmpOp.Equal, NftValue.BigEndian16(5432)),
                new NftCounter(),
                new NftVerdict(NftVerdictCode.Drop)), "default:db-policy:1 prio 1")));

    [Fact]
    public void Replaced_table_reads_back_equal_and_nft_sees_it()
    {
        using var ns = TestNamespace.Create("table", prefix: "cvnf");
        using var netns = ns.Open();
        using var nft = NftablesNetlink.Open(netns);

        Assert.Null(nft.GetTable(NftFamily.Inet, "cvtest"));
        var table = Sample("10.9.0.2", "10.9.0.3");
        nft.ReplaceTable(table);

        Assert.Equal(table, nft.GetTable(NftFamily.Inet, "cvtest"));
        var listing = Nft(ns, "list", "table", "inet", "cvtest");
        Assert.Contains("type filter hook forward priority filter; policy accept;", listing, StringComparison.Ordinal);
        Assert.Contains("elements = { 10.9.0.2, 10.9.0.3 }", listing, StringComparison.Ordinal);
        Assert.Contains("ct state established,related accept", listing, StringComparison.Ordinal);
        Assert.Contains("ip daddr @group-db jump in-db comment \"to group db\"", listing, StringComparison.Ordinal);
        Assert.Contains("tcp dport 5432 counter packets 0 bytes 0 drop comment \"default:db-policy:1 prio 1\"", listing, StringComparison.Ordinal);

        // Replace again with other elements: the same table, only the new contents.
        var changed = Sample("10.9.0.7");
        nft.ReplaceTable(changed);
        Assert.Equal(changed, nft.GetTable(NftFamily.Inet, "cvtest"));
        Assert.Contains((NftFamily.Inet, "cvtest"), nft.ListTables());

        Assert.True(nft.DeleteTable(NftFamily.Inet, "cvtest"));
        Assert.False(nft.DeleteTable(NftFamily.Inet, "cvtest"));
        Assert.Null(nft.GetTable(NftFamily.Inet, "cvtest"));
    }

    [Fact]
    public void Set_element_changes_alone_are_written_as_elements_and_read_back_equal()
    {
        using var ns = TestNamespace.Create("setelems", prefix: "cvnf");
        using var netns = ns.Open();
        using var nft = NftablesNetlink.Open(netns);
        var before = Sample("10.9.0.2", "10.9.0.3");
        nft.ReplaceTable(before);
        var generation = nft.GetGeneration();

        // One member left, two joined: only the elements change, in one transaction.
        var after = Sample("10.9.0.3", "10.9.0.4", "10.9.0.5");
        var changes = NftSetChanges.Between(before, after);
        var change = Assert.Single(changes!);
        Assert.Equal(("group-db", 2, 1), (change.Set, change.Added.Count, change.Removed.Count));
        nft.UpdateSetElements(after.Family, after.Name, changes!);
        Assert.Equal(after, nft.GetTable(NftFamily.Inet, "cvtest"));
        Assert.Equal(generation + 1, nft.GetGeneration());

        // Anything but elements (here a rule's comment) takes a whole-table replace.
        var otherRule = after with { Rules = ValueList.Of(after.Rules[0], after.Rules[1], after.Rules[2] with { Comment = "changed" }) };
        Assert.Null(NftSetChanges.Between(after, otherRule));
        Assert.Empty(NftSetChanges.Between(after, after)!);
    }

    [Fact]
    public void Refused_batch_names_the_rule_and_leaves_the_old_table()
    {
        using var ns = TestNamespace.Create("refused", prefix: "cvnf");
        using var netns = ns.Open();
        using var nft = NftablesNetlink.Open(netns);
        var table = Sample("10.9.0.2");
        nft.ReplaceTable(table);

        var broken = table with
        {
            Rules = ValueList.Of(new NftRule("in-db", ValueList.Of<NftExpression>(new NftLookup("no-such-set"), new NftVerdict(NftVerdictCode.Drop)), "broken rule")),
        };
        var error = Assert.Throws<NetlinkException>(() => nft.ReplaceTable(broken));
        Assert.Equal(LinuxErrno.ENOENT, error.Errno);
        Assert.Contains("rule #0 in chain in-db (broken rule)", error.Message, StringComparison.Ordinal);
        Assert.Equal(table, nft.GetTable(NftFamily.Inet, "cvtest"));
    }

    [Fact]
    public void Large_sets_are_sent_in_several_element_messages_of_one_transaction()
    {
        using var ns = TestNamespace.Create("large", prefix: "cvnf");
        using var netns = ns.Open();
        using var nft = NftablesNetlink.Open(netns);
        var addresses = Enumerable.Range(0, 2500).Select(i => $"10.{100 + i / 65536}.{i / 256 % 256}.{i % 256}").ToArray();
        var table = Sample(addresses);
        Assert.True(NftRequests.ReplaceTable(table).Count(m => (m.Type & 0xff) == 12) >= 3, "NEWSETELEM split");

        nft.ReplaceTable(table);
        var read = nft.GetTable(NftFamily.Inet, "cvtest");
        Assert.Equal(2500, read!.Sets.Single().Elements.Count);
        Assert.Equal(table, read);
    }

    internal static string Nft(TestNamespace ns, params string[] arguments) =>
        ns.Exec("nft", arguments, out var output, out var error) == 0
            ? output
            : throw new InvalidOperationException($"nft {string.Join(' ', arguments)}: {error}");
}
