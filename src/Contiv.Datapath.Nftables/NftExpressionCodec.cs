using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.Uapi;
using static Contiv.Datapath.Nftables.NftUapi;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// Encodes and decodes one expression: NFTA_LIST_ELEM { NFTA_EXPR_NAME "cmp", NFTA_EXPR_DATA { ... } },
/// the attributes in the order libnftnl writes them. Decoding gives back the same record, so a rule
/// read from the kernel equals the rule written.
/// </summary>
internal static class NftExpressionCodec
{
    public static void Write(NetlinkMessageBuilder message, NftExpression expression)
    {
        var element = message.BeginNested(NFTA_LIST_ELEM | NLA_F_NESTED);
        message.AddString(NFTA_EXPR_NAME, NameOf(expression));
        var data = message.BeginNested(NFTA_EXPR_DATA | NLA_F_NESTED);
        switch (expression)
        {
            case NftMeta meta:
                message.AddUInt32BigEndian(NFTA_META_KEY, (uint)meta.Key);
                message.AddUInt32BigEndian(NFTA_META_DREG, meta.Register);
                break;
            case NftPayload payload:
                message.AddUInt32BigEndian(NFTA_PAYLOAD_DREG, payload.Register);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_BASE, (uint)payload.Base);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_OFFSET, payload.Offset);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_LEN, payload.Length);
                break;
            case NftPayloadWrite write:
                message.AddUInt32BigEndian(NFTA_PAYLOAD_SREG, write.SourceRegister);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_BASE, (uint)write.Base);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_OFFSET, write.Offset);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_LEN, write.Length);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_CSUM_TYPE, (uint)write.Checksum);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_CSUM_OFFSET, write.ChecksumOffset);
                message.AddUInt32BigEndian(NFTA_PAYLOAD_CSUM_FLAGS, 0);
                break;
            case NftCmp cmp:
                message.AddUInt32BigEndian(NFTA_CMP_SREG, cmp.Register);
                message.AddUInt32BigEndian(NFTA_CMP_OP, (uint)cmp.Op);
                NftRequests.AddData(message, NFTA_CMP_DATA, cmp.Data);
                break;
            case NftBitwise bitwise:
                if (bitwise.Mask.Length != bitwise.Xor.Length)
                {
                    throw new ArgumentException("a bitwise expression's mask and xor have the same length", nameof(expression));
                }

                message.AddUInt32BigEndian(NFTA_BITWISE_SREG, bitwise.SourceRegister);
                message.AddUInt32BigEndian(NFTA_BITWISE_DREG, bitwise.DestinationRegister);
                message.AddUInt32BigEndian(NFTA_BITWISE_LEN, (uint)bitwise.Mask.Length);
                NftRequests.AddData(message, NFTA_BITWISE_MASK, bitwise.Mask);
                NftRequests.AddData(message, NFTA_BITWISE_XOR, bitwise.Xor);
                break;
            case NftLookup lookup:
                message.AddUInt32BigEndian(NFTA_LOOKUP_SREG, lookup.Register);
                message.AddString(NFTA_LOOKUP_SET, lookup.Set);
                if (lookup.Invert)
                {
                    message.AddUInt32BigEndian(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
                }

                break;
            case NftCt ct:
                message.AddUInt32BigEndian(NFTA_CT_KEY, (uint)ct.Key);
                message.AddUInt32BigEndian(NFTA_CT_DREG, ct.Register);
                break;
            case NftVerdict verdict:
                message.AddUInt32BigEndian(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                var immediate = message.BeginNested(NFTA_IMMEDIATE_DATA | NLA_F_NESTED);
                var nested = message.BeginNested(NFTA_DATA_VERDICT | NLA_F_NESTED);
                message.AddUInt32BigEndian(NFTA_VERDICT_CODE, unchecked((uint)(int)verdict.Code));
                if (verdict.Chain is { } chain)
                {
                    message.AddString(NFTA_VERDICT_CHAIN, chain);
                }

                message.EndNested(nested);
                message.EndNested(immediate);
                break;
            case NftCounter counter:
                message.AddUInt64BigEndian(NFTA_COUNTER_BYTES, counter.Bytes);
                message.AddUInt64BigEndian(NFTA_COUNTER_PACKETS, counter.Packets);
                break;
            default:
                throw new ArgumentException($"no encoding for {expression.GetType().Name}", nameof(expression));
        }

        message.EndNested(data);
        message.EndNested(element);
    }

    /// <summary>Decodes one NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS.</summary>
    public static NftExpression Read(NetlinkAttributes element)
    {
        var name = element.GetString(NFTA_EXPR_NAME) ?? throw new FormatException("expression without a name");
        var data = element.GetNested(NFTA_EXPR_DATA) ?? throw new FormatException($"{name} expression without data");
        return name switch
        {
            "meta" => new NftMeta((NftMetaKey)Number(data, NFTA_META_KEY, name), Number(data, NFTA_META_DREG, name)),
            "payload" when data.TryGet(NFTA_PAYLOAD_SREG, out _) => new NftPayloadWrite(
                (NftPayloadBase)Number(data, NFTA_PAYLOAD_BASE, name),
                Number(data, NFTA_PAYLOAD_OFFSET, name),
                Number(data, NFTA_PAYLOAD_LEN, name),
                (NftChecksum)(data.GetUInt32BigEndian(NFTA_PAYLOAD_CSUM_TYPE) ?? 0),
                data.GetUInt32BigEndian(NFTA_PAYLOAD_CSUM_OFFSET) ?? 0,
                Number(data, NFTA_PAYLOAD_SREG, name)),
            "payload" => new NftPayload(
                (NftPayloadBase)Number(data, NFTA_PAYLOAD_BASE, name),
                Number(data, NFTA_PAYLOAD_OFFSET, name),
                Number(data, NFTA_PAYLOAD_LEN, name),
                Number(data, NFTA_PAYLOAD_DREG, name)),
            "cmp" => new NftCmp((NftCmpOp)Number(data, NFTA_CMP_OP, name), Value(data, NFTA_CMP_DATA, name), Number(data, NFTA_CMP_SREG, name)),
            "bitwise" => new NftBitwise(
                Value(data, NFTA_BITWISE_MASK, name),
                Value(data, NFTA_BITWISE_XOR, name),
                Number(data, NFTA_BITWISE_SREG, name),
                Number(data, NFTA_BITWISE_DREG, name)),
            "lookup" => new NftLookup(
                data.GetString(NFTA_LOOKUP_SET) ?? throw new FormatException("lookup without a set"),
                ((data.GetUInt32BigEndian(NFTA_LOOKUP_FLAGS) ?? 0) & NFT_LOOKUP_F_INV) != 0,
                Number(data, NFTA_LOOKUP_SREG, name)),
            "ct" => new NftCt((NftCtKey)Number(data, NFTA_CT_KEY, name), Number(data, NFTA_CT_DREG, name)),
            "immediate" => ReadVerdict(data),
            "counter" => new NftCounter(data.GetUInt64BigEndian(NFTA_COUNTER_PACKETS) ?? 0, data.GetUInt64BigEndian(NFTA_COUNTER_BYTES) ?? 0),
            _ => throw new FormatException($"expression '{name}' is not one this library writes"),
        };
    }

    public static string NameOf(NftExpression expression) => expression switch
    {
        NftMeta => "meta",
        NftPayload or NftPayloadWrite => "payload",
        NftCmp => "cmp",
        NftBitwise => "bitwise",
        NftLookup => "lookup",
        NftCt => "ct",
        NftVerdict => "immediate",
        NftCounter => "counter",
        _ => throw new ArgumentException($"no encoding for {expression.GetType().Name}", nameof(expression)),
    };

    private static NftVerdict ReadVerdict(NetlinkAttributes data)
    {
        if (Number(data, NFTA_IMMEDIATE_DREG, "immediate") != NFT_REG_VERDICT)
        {
            throw new FormatException("immediate expression into a data register is not one this library writes");
        }

        var verdict = data.GetNested(NFTA_IMMEDIATE_DATA)?.GetNested(NFTA_DATA_VERDICT)
            ?? throw new FormatException("immediate expression without a verdict");
        var code = unchecked((int)(verdict.GetUInt32BigEndian(NFTA_VERDICT_CODE) ?? throw new FormatException("verdict without a code")));
        return new NftVerdict((NftVerdictCode)code, verdict.GetString(NFTA_VERDICT_CHAIN));
    }

    private static uint Number(NetlinkAttributes data, ushort type, string expression) =>
        data.GetUInt32BigEndian(type) ?? throw new FormatException($"{expression} expression without attribute {type}");

    private static NftValue Value(NetlinkAttributes data, ushort type, string expression) =>
        data.GetNested(type)?.TryGet(NFTA_DATA_VALUE, out var value) == true
            ? new NftValue(value.Value.Span)
            : throw new FormatException($"{expression} expression without a value in attribute {type}");
}
