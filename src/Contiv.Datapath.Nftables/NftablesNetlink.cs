using System.Text;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Nftables.NftUapi;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// nf_tables over a NETLINK_NETFILTER socket in the network namespace of the thread that constructs
/// it (<see cref="Open"/> for another namespace): replace a whole table in one transaction, delete
/// it, read it back. Requests are serialised on one socket, so an instance may be shared between
/// threads. Kernel refusals throw <see cref="NetlinkException"/> naming the refused object, with
/// the kernel's extended-ack text.
/// </summary>
public sealed class NftablesNetlink : IDisposable
{
    private const int DumpAttempts = 3;

    private readonly NetlinkSocket _socket = new(NETLINK_NETFILTER);
    private readonly Lock _lock = new();

    /// <summary>A socket inside <paramref name="networkNamespace"/>, usable from any thread.</summary>
    public static NftablesNetlink Open(NetworkNamespace networkNamespace) =>
        networkNamespace.RunInside(() => new NftablesNetlink());

    /// <summary>
    /// Makes the kernel's table exactly <paramref name="table"/> in one transaction (created if
    /// missing, everything else in it removed). Traffic never sees a half-written table nor none:
    /// until the commit it is filtered by the old table, from the commit on by the new one.
    /// Connection tracking entries are not touched, so established connections carry on.
    /// </summary>
    public void ReplaceTable(NftTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var messages = NftRequests.ReplaceTable(table);
        lock (_lock)
        {
            _socket.ExecuteBatch(messages, $"replace table {Describe(table.Family, table.Name)}", index => DescribeMessage(table, messages, index));
        }
    }

    /// <summary>
    /// Adds and removes elements of sets of an existing table in one transaction (nothing else in
    /// the table changes): a rule looking a set up sees the old elements until the commit, the new
    /// ones from it on. An element to remove that is not there fails the whole batch.
    /// </summary>
    public void UpdateSetElements(NftFamily family, string table, IReadOnlyList<NftSetChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var messages = new List<NetlinkMessageBuilder> { NftRequests.BatchBegin() };
        var described = new List<string> { "batch begin" };
        foreach (var change in changes)
        {
            foreach (var chunk in change.Removed.Chunk(NftRequests.ElementsPerMessage))
            {
                messages.Add(NftRequests.DeleteSetElements(family, table, change.Set, chunk));
                described.Add($"delete {chunk.Length} element(s) from set {change.Set}");
            }

            foreach (var chunk in change.Added.Chunk(NftRequests.ElementsPerMessage))
            {
                messages.Add(NftRequests.NewSetElements(family, table, change.Set, chunk));
                described.Add($"add {chunk.Length} element(s) to set {change.Set}");
            }
        }

        messages.Add(NftRequests.BatchEnd());
        described.Add("batch end");
        if (messages.Count == 2)
        {
            return;
        }

        lock (_lock)
        {
            _socket.ExecuteBatch(messages, $"update sets of {Describe(family, table)}", index => index < described.Count ? described[index] : Describe(family, table));
        }
    }

    /// <summary>Deletes the table and everything in it; returns false when there was none.</summary>
    public bool DeleteTable(NftFamily family, string name)
    {
        List<NetlinkMessageBuilder> messages = [NftRequests.BatchBegin(), NftRequests.DeleteTable(family, name), NftRequests.BatchEnd()];
        try
        {
            lock (_lock)
            {
                _socket.ExecuteBatch(messages, "delete table", _ => Describe(family, name));
            }

            return true;
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.ENOENT)
        {
            return false;
        }
    }

    /// <summary>
    /// The namespace's nf_tables generation: a counter the kernel bumps on every committed
    /// transaction, by anyone, in any table of this namespace. One small request, so a caller that
    /// remembers the generation at which it last read or wrote a table can tell "nothing changed
    /// since" without dumping the table.
    /// </summary>
    public uint GetGeneration()
    {
        NetlinkReply reply;
        lock (_lock)
        {
            reply = _socket.Execute(NftRequests.GetGeneration(), "get generation", null);
        }

        if (reply.Messages.Count == 0)
        {
            throw new NetlinkException(LinuxErrno.EINVAL, "get generation", null, "the kernel sent no NEWGEN message");
        }

        return reply.Messages[0].AttributesAfter<NfGenMessage>().GetUInt32BigEndian(NFTA_GEN_ID)
            ?? throw new NetlinkException(LinuxErrno.EINVAL, "get generation", null, "NEWGEN without NFTA_GEN_ID");
    }

    /// <summary>The tables of <paramref name="family"/> (all families when null): family and name.</summary>
    public IReadOnlyList<(NftFamily Family, string Name)> ListTables(NftFamily? family = null) =>
        [.. Dump(NftRequests.DumpTables(family), "list tables").Select(NftReplies.ParseTable)];

    /// <summary>
    /// The table as the kernel has it (chains in order, sets with their elements in the ordinal
    /// order of their text, as <see cref="NftSet.Ipv4Addresses"/> sorts them, rules in chain order
    /// with the kernel's counter values), or null when it does not exist. Comparable with the
    /// table given to <see cref="ReplaceTable"/> by value.
    /// </summary>
    public NftTable? GetTable(NftFamily family, string name)
    {
        if (!ListTables(family).Contains((family, name)))
        {
            return null;
        }

        var chains = Dump(NftRequests.DumpChains(family), "list chains")
            .Select(NftReplies.ParseChain)
            .Where(c => c.Table == name)
            .Select(c => c.Chain)
            .ToValueList();
        var sets = Dump(NftRequests.DumpSets(family, name), "list sets")
            .Select(NftReplies.ParseSet)
            .Where(s => s.Table == name)
            .Select(s => s.Set with { Elements = ReadElements(family, name, s.Set.Name) })
            .ToValueList();
        var rules = Dump(NftRequests.DumpRules(family, name), "list rules")
            .Select(NftReplies.ParseRule)
            .Where(r => r.Table == name)
            .Select(r => r.Rule);

        // The dump lists rules chain by chain; order them by the chain order like the table given to ReplaceTable.
        var chainOrder = chains.Select((c, i) => (c.Name, i)).ToDictionary(p => p.Name, p => p.i);
        var ordered = rules.OrderBy(r => chainOrder.GetValueOrDefault(r.Chain, int.MaxValue)).ToValueList();
        return new NftTable(family, name, chains, sets, ordered);
    }

    public void Dispose() => _socket.Dispose();

    internal static string Describe(NftFamily family, string name) => $"{family.ToString().ToLowerInvariant()} {name}";

    private static string DescribeMessage(NftTable table, List<NetlinkMessageBuilder> messages, int index)
    {
        var type = messages[index].Type & 0xff;
        var what = type switch
        {
            NFT_MSG_NEWTABLE or NFT_MSG_DELTABLE => "table",
            NFT_MSG_NEWCHAIN => "chain",
            NFT_MSG_NEWSET => "set",
            NFT_MSG_NEWSETELEM => "set elements",
            NFT_MSG_NEWRULE => "rule",
            _ => "message",
        };
        if (type == NFT_MSG_NEWRULE)
        {
            var ruleIndex = messages.Take(index).Count(m => (m.Type & 0xff) == NFT_MSG_NEWRULE);
            var rule = table.Rules[ruleIndex];
            var builder = new StringBuilder($"{Describe(table.Family, table.Name)} rule #{ruleIndex} in chain {rule.Chain}");
            if (rule.Comment is { } comment)
            {
                builder.Append($" ({comment})");
            }

            return builder.ToString();
        }

        return $"{Describe(table.Family, table.Name)} {what} (message {index})";
    }

    /// <summary>
    /// A set's elements, sorted. A hash set's dump spans several reads and walks a table the kernel
    /// may be resizing meanwhile (right after a large set was created, say), which can show an
    /// element twice and miss another without flagging the dump as interrupted; so the dump is
    /// repeated until two in a row agree.
    /// </summary>
    private ValueList<NftValue> ReadElements(NftFamily family, string table, string set)
    {
        ValueList<NftValue>? previous = null;
        for (var attempt = 0; attempt < 2 * DumpAttempts; attempt++)
        {
            var elements = Dump(NftRequests.DumpSetElements(family, table, set), $"list set {set}")
                .SelectMany(NftReplies.ParseSetElements)
                .OrderBy(v => v.ToString(), StringComparer.Ordinal)
                .ToValueList();
            if (elements.Equals(previous) || elements.Count <= NftRequests.ElementsPerMessage / 4)
            {
                return elements; // small sets fit in one read: nothing to disagree about
            }

            previous = elements;
        }

        throw new NetlinkException(LinuxErrno.EAGAIN, "list set", set, "the set's elements kept changing between dumps");
    }

    private List<NetlinkMessage> Dump(NetlinkMessageBuilder request, string operation)
    {
        NetlinkReply reply;
        var attempt = 0;
        do
        {
            lock (_lock)
            {
                reply = _socket.Execute(request, operation, null);
            }
        }
        while (reply.DumpInterrupted && ++attempt < DumpAttempts);

        return [.. reply.Messages];
    }
}
