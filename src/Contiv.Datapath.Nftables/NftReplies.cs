using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Nftables.NftUapi;

namespace Contiv.Datapath.Nftables;

/// <summary>Parses the kernel's nf_tables dump messages back into the model records.</summary>
internal static class NftReplies
{
    public static (NftFamily Family, string Name) ParseTable(NetlinkMessage message)
    {
        var header = message.ReadHeader<NfGenMessage>();
        var attributes = message.AttributesAfter<NfGenMessage>();
        return ((NftFamily)header.Family, attributes.GetString(NFTA_TABLE_NAME) ?? throw new FormatException("table without a name"));
    }

    public static (string Table, NftChain Chain) ParseChain(NetlinkMessage message)
    {
        var attributes = message.AttributesAfter<NfGenMessage>();
        var table = attributes.GetString(NFTA_CHAIN_TABLE) ?? throw new FormatException("chain without a table");
        var name = attributes.GetString(NFTA_CHAIN_NAME) ?? throw new FormatException("chain without a name");
        NftBaseChain? hook = null;
        if (attributes.GetNested(NFTA_CHAIN_HOOK) is { } nested)
        {
            hook = new NftBaseChain(
                (NftHook)(nested.GetUInt32BigEndian(NFTA_HOOK_HOOKNUM) ?? throw new FormatException($"base chain {name} without a hook number")),
                unchecked((int)(nested.GetUInt32BigEndian(NFTA_HOOK_PRIORITY) ?? 0)),
                (attributes.GetUInt32BigEndian(NFTA_CHAIN_POLICY) ?? NF_ACCEPT) == NF_ACCEPT,
                attributes.GetString(NFTA_CHAIN_TYPE) ?? "filter");
        }

        return (table, new NftChain(name, hook));
    }

    public static (string Table, NftSet Set) ParseSet(NetlinkMessage message)
    {
        var attributes = message.AttributesAfter<NfGenMessage>();
        var table = attributes.GetString(NFTA_SET_TABLE) ?? throw new FormatException("set without a table");
        var name = attributes.GetString(NFTA_SET_NAME) ?? throw new FormatException("set without a name");
        return (table, new NftSet(
            name,
            attributes.GetUInt32BigEndian(NFTA_SET_KEY_TYPE) ?? 0,
            attributes.GetUInt32BigEndian(NFTA_SET_KEY_LEN) ?? 0,
            ValueList.Empty<NftValue>()));
    }

    public static IEnumerable<NftValue> ParseSetElements(NetlinkMessage message)
    {
        var attributes = message.AttributesAfter<NfGenMessage>();
        if (attributes.GetNested(NFTA_SET_ELEM_LIST_ELEMENTS) is not { } elements)
        {
            yield break;
        }

        foreach (var element in elements.All.Where(a => a.Type == NFTA_LIST_ELEM))
        {
            if (element.AsNested().GetNested(NFTA_SET_ELEM_KEY) is { } key && key.TryGet(NFTA_DATA_VALUE, out var value))
            {
                yield return new NftValue(value.Value.Span);
            }
        }
    }

    public static (string Table, NftRule Rule) ParseRule(NetlinkMessage message)
    {
        var attributes = message.AttributesAfter<NfGenMessage>();
        var table = attributes.GetString(NFTA_RULE_TABLE) ?? throw new FormatException("rule without a table");
        var chain = attributes.GetString(NFTA_RULE_CHAIN) ?? throw new FormatException("rule without a chain");
        var expressions = attributes.GetNested(NFTA_RULE_EXPRESSIONS)?.All
            .Where(a => a.Type == NFTA_LIST_ELEM)
            .Select(a => NftExpressionCodec.Read(a.AsNested()))
            .ToValueList() ?? ValueList.Empty<NftExpression>();
        string? comment = null;
        if (attributes.TryGet(NFTA_RULE_USERDATA, out var userdata))
        {
            comment = ReadComment(userdata.Value.Span);
        }

        return (table, new NftRule(chain, expressions, comment));
    }

    /// <summary>The comment TLV (type 0) of nft's rule userdata, without its NUL; null when absent.</summary>
    internal static string? ReadComment(ReadOnlySpan<byte> userdata)
    {
        var offset = 0;
        while (offset + 2 <= userdata.Length)
        {
            var type = userdata[offset];
            var length = userdata[offset + 1];
            if (offset + 2 + length > userdata.Length)
            {
                break;
            }

            if (type == 0)
            {
                var text = userdata.Slice(offset + 2, length);
                var end = text.IndexOf((byte)0);
                return System.Text.Encoding.UTF8.GetString(end < 0 ? text : text[..end]);
            }

            offset += 2 + length;
        }

        return null;
    }
}
