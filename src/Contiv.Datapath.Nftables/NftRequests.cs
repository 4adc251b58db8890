using System.Text;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.Uapi;
using static Contiv.Datapath.Nftables.NftUapi;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// Builds nf_tables requests: <c>nlmsghdr</c> with type NFNL_SUBSYS_NFTABLES &lt;&lt; 8 | NFT_MSG_*,
/// <c>nfgenmsg</c> with the table's family, then attributes (numbers big-endian, nested attributes
/// flagged NLA_F_NESTED as libnftnl sends them). Changes go in a batch framed by BATCH_BEGIN /
/// BATCH_END (nfgenmsg resource id NFNL_SUBSYS_NFTABLES) that the kernel applies as one transaction.
/// </summary>
internal static class NftRequests
{
    /// <summary>Elements per NEWSETELEM message: each is ~20 bytes and one attribute holds at most 64 KiB.</summary>
    internal const int ElementsPerMessage = 1000;

    /// <summary>nft keeps a rule's comment in its userdata as a TLV: type 0 (comment), length, text with NUL.</summary>
    private const byte UserdataComment = 0;

    private const ushort ChangeFlags = NLM_F_REQUEST | NLM_F_ACK;

    public static ushort MessageType(ushort nftMessage) => (ushort)((NFNL_SUBSYS_NFTABLES << 8) | nftMessage);

    public static NetlinkMessageBuilder BatchBegin() => Batch(NFNL_MSG_BATCH_BEGIN);

    public static NetlinkMessageBuilder BatchEnd() => Batch(NFNL_MSG_BATCH_END);

    /// <summary>
    /// The messages of one transaction that makes the kernel's table exactly <paramref name="table"/>:
    /// add the table (a no-op when it exists, so the delete cannot fail), delete it with everything in
    /// it, then create it again with its chains, sets, elements and rules; what `nft -f` does for
    /// "table x; delete table x; table x { ... }". Packets see the old table or the new one, never
    /// neither: the old chains stay hooked until the new generation is committed.
    /// </summary>
    public static List<NetlinkMessageBuilder> ReplaceTable(NftTable table)
    {
        var messages = new List<NetlinkMessageBuilder> { BatchBegin(), NewTable(table.Family, table.Name), DeleteTable(table.Family, table.Name) };
        messages.AddRange(CreateTableContents(table));
        messages.Add(BatchEnd());
        return messages;
    }

    /// <summary>NEWTABLE + chains + sets + elements + rules, in that order (rules refer to chains and sets by name).</summary>
    public static IEnumerable<NetlinkMessageBuilder> CreateTableContents(NftTable table)
    {
        yield return NewTable(table.Family, table.Name);
        foreach (var chain in table.Chains)
        {
            yield return NewChain(table.Family, table.Name, chain);
        }

        uint setId = 1;
        foreach (var set in table.Sets)
        {
            yield return NewSet(table.Family, table.Name, set, setId++);
            foreach (var chunk in set.Elements.Chunk(ElementsPerMessage))
            {
                yield return NewSetElements(table.Family, table.Name, set.Name, chunk);
            }
        }

        foreach (var rule in table.Rules)
        {
            yield return NewRule(table.Family, table.Name, rule);
        }
    }

    public static NetlinkMessageBuilder NewTable(NftFamily family, string name)
    {
        var message = Message(NFT_MSG_NEWTABLE, family, ChangeFlags | NLM_F_CREATE);
        message.AddString(NFTA_TABLE_NAME, name);
        message.AddUInt32BigEndian(NFTA_TABLE_FLAGS, 0);
        return message;
    }

    public static NetlinkMessageBuilder DeleteTable(NftFamily family, string name)
    {
        var message = Message(NFT_MSG_DELTABLE, family, ChangeFlags);
        message.AddString(NFTA_TABLE_NAME, name);
        return message;
    }

    public static NetlinkMessageBuilder NewChain(NftFamily family, string table, NftChain chain)
    {
        var message = Message(NFT_MSG_NEWCHAIN, family, ChangeFlags | NLM_F_CREATE);
        message.AddString(NFTA_CHAIN_TABLE, table);
        message.AddString(NFTA_CHAIN_NAME, chain.Name);
        if (chain.Base is { } hook)
        {
            var nested = message.BeginNested(NFTA_CHAIN_HOOK | NLA_F_NESTED);
            message.AddUInt32BigEndian(NFTA_HOOK_HOOKNUM, (uint)hook.Hook);
            message.AddUInt32BigEndian(NFTA_HOOK_PRIORITY, unchecked((uint)hook.Priority));
            message.EndNested(nested);
            message.AddUInt32BigEndian(NFTA_CHAIN_POLICY, hook.PolicyAccept ? (uint)NF_ACCEPT : NF_DROP);
            message.AddString(NFTA_CHAIN_TYPE, hook.Type);
        }

        return message;
    }

    public static NetlinkMessageBuilder NewSet(NftFamily family, string table, NftSet set, uint id)
    {
        var message = Message(NFT_MSG_NEWSET, family, ChangeFlags | NLM_F_CREATE);
        message.AddString(NFTA_SET_TABLE, table);
        message.AddString(NFTA_SET_NAME, set.Name);
        message.AddUInt32BigEndian(NFTA_SET_FLAGS, 0);
        message.AddUInt32BigEndian(NFTA_SET_KEY_TYPE, set.KeyType);
        message.AddUInt32BigEndian(NFTA_SET_KEY_LEN, set.KeyLength);
        message.AddUInt32BigEndian(NFTA_SET_ID, id);
        return message;
    }

    public static NetlinkMessageBuilder NewSetElements(NftFamily family, string table, string set, IEnumerable<NftValue> keys) =>
        SetElements(NFT_MSG_NEWSETELEM, ChangeFlags | NLM_F_CREATE, family, table, set, keys);

    public static NetlinkMessageBuilder DeleteSetElements(NftFamily family, string table, string set, IEnumerable<NftValue> keys) =>
        SetElements(NFT_MSG_DELSETELEM, ChangeFlags, family, table, set, keys);

    private static NetlinkMessageBuilder SetElements(ushort nftMessage, ushort flags, NftFamily family, string table, string set, IEnumerable<NftValue> keys)
    {
        var message = Message(nftMessage, family, flags);
        message.AddString(NFTA_SET_ELEM_LIST_TABLE, table);
        message.AddString(NFTA_SET_ELEM_LIST_SET, set);
        var elements = message.BeginNested(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
        foreach (var key in keys)
        {
            var element = message.BeginNested(NFTA_LIST_ELEM | NLA_F_NESTED);
            AddData(message, NFTA_SET_ELEM_KEY, key);
            message.EndNested(element);
        }

        message.EndNested(elements);
        return message;
    }

    public static NetlinkMessageBuilder NewRule(NftFamily family, string table, NftRule rule)
    {
        var message = Message(NFT_MSG_NEWRULE, family, ChangeFlags | NLM_F_CREATE | NLM_F_APPEND);
        message.AddString(NFTA_RULE_TABLE, table);
        message.AddString(NFTA_RULE_CHAIN, rule.Chain);
        var expressions = message.BeginNested(NFTA_RULE_EXPRESSIONS | NLA_F_NESTED);
        foreach (var expression in rule.Expressions)
        {
            NftExpressionCodec.Write(message, expression);
        }

        message.EndNested(expressions);
        if (rule.Comment is { } comment)
        {
            message.AddAttribute(NFTA_RULE_USERDATA, CommentUserdata(comment));
        }

        return message;
    }

    public static NetlinkMessageBuilder GetTable(NftFamily family, string name)
    {
        var message = Message(NFT_MSG_GETTABLE, family, NLM_F_REQUEST | NLM_F_ACK);
        message.AddString(NFTA_TABLE_NAME, name);
        return message;
    }

    /// <summary>NFT_MSG_GETGEN: the namespace's ruleset generation, one NEWGEN reply (then the ack).</summary>
    public static NetlinkMessageBuilder GetGeneration() =>
        Message(NFT_MSG_GETGEN, null, ChangeFlags);

    public static NetlinkMessageBuilder DumpTables(NftFamily? family) =>
        Message(NFT_MSG_GETTABLE, family, NLM_F_REQUEST | NLM_F_DUMP);

    public static NetlinkMessageBuilder DumpChains(NftFamily family) =>
        Message(NFT_MSG_GETCHAIN, family, NLM_F_REQUEST | NLM_F_DUMP);

    public static NetlinkMessageBuilder DumpSets(NftFamily family, string table)
    {
        var message = Message(NFT_MSG_GETSET, family, NLM_F_REQUEST | NLM_F_DUMP);
        message.AddString(NFTA_SET_TABLE, table);
        return message;
    }

    public static NetlinkMessageBuilder DumpSetElements(NftFamily family, string table, string set)
    {
        var message = Message(NFT_MSG_GETSETELEM, family, NLM_F_REQUEST | NLM_F_DUMP);
        message.AddString(NFTA_SET_ELEM_LIST_TABLE, table);
        message.AddString(NFTA_SET_ELEM_LIST_SET, set);
        return message;
    }

    public static NetlinkMessageBuilder DumpRules(NftFamily family, string table)
    {
        var message = Message(NFT_MSG_GETRULE, family, NLM_F_REQUEST | NLM_F_DUMP);
        message.AddString(NFTA_RULE_TABLE, table);
        return message;
    }

    /// <summary>NFTA_DATA_VALUE nested in <paramref name="type"/> (set keys, cmp data, bitwise mask/xor).</summary>
    internal static void AddData(NetlinkMessageBuilder message, ushort type, NftValue value)
    {
        var nested = message.BeginNested((ushort)(type | NLA_F_NESTED));
        message.AddAttribute(NFTA_DATA_VALUE, value.Bytes);
        message.EndNested(nested);
    }

    internal static byte[] CommentUserdata(string comment)
    {
        var text = Encoding.UTF8.GetBytes(comment.Length > 120 ? comment[..120] : comment);
        return [UserdataComment, (byte)(text.Length + 1), .. text, 0];
    }

    private static NetlinkMessageBuilder Batch(ushort type)
    {
        var message = new NetlinkMessageBuilder(type, NLM_F_REQUEST);
        message.AddHeader(new NfGenMessage(AF_UNSPEC, NFNETLINK_V0, NFNL_SUBSYS_NFTABLES));
        return message;
    }

    private static NetlinkMessageBuilder Message(ushort nftMessage, NftFamily? family, ushort flags)
    {
        var message = new NetlinkMessageBuilder(MessageType(nftMessage), flags);
        message.AddHeader(new NfGenMessage((byte)(family ?? 0), NFNETLINK_V0, 0));
        return message;
    }
}
