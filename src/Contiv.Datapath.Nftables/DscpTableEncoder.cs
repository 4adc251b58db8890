using System.Text;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// DSCP marks for what endpoints send, as one bridge-family table in the network's namespace:
/// <code>
/// table bridge contiv-qos {
///   chain prerouting { type filter hook prerouting priority -200; policy accept;
///     iifname "cvh…" meta protocol ip ip dscp set 46 comment "cvh… dscp 46"
///     iifname "cvh…" meta protocol ip6 ip6 dscp set 46 comment "cvh… dscp 46"
///   }
/// }
/// </code>
/// Why here and not in tc: this kernel has neither act_skbedit nor act_pedit; and not in the inet
/// policy table: br_netfilter hands bridged frames to the inet hooks with the bridge as input device,
/// not the port, while the bridge family's prerouting hook sees the port (the endpoint's veth),
/// for every frame the bridge receives, br_netfilter on or off. The rewrite keeps the ECN bits and
/// updates the IPv4 header checksum (IPv6 has none), as nft's `ip dscp set` does. Frames shaped by
/// the endpoint's ifb come back through the veth first, so they are marked too. Pure.
/// </summary>
public static class DscpTableEncoder
{
    public const string TableName = "contiv-qos";
    public const string Chain = "prerouting";

    /// <summary>NF_BR_PRI_FILTER_BRIDGED (-200): nft's "filter" priority in the bridge family.</summary>
    public const int Priority = -200;

    private const int InterfaceNameSize = 16; // IFNAMSIZ: iifname compares the whole zero-padded name
    private const ushort EthernetIpv4 = 0x0800;
    private const ushort EthernetIpv6 = 0x86DD;
    private const uint Ipv4ChecksumOffset = 10;

    /// <summary>
    /// <paramref name="current"/> with <paramref name="device"/>'s rules replaced by ones marking
    /// <paramref name="dscp"/> (null: removed); null when no rule is left (no table at all). Rules
    /// stay sorted by device, so the same marks always give the same table.
    /// </summary>
    public static NftTable? With(NftTable? current, string device, int? dscp)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        if (dscp is < 0 or > 63)
        {
            throw new ArgumentOutOfRangeException(nameof(dscp), dscp, "DSCP is 0..63");
        }

        var kept = (current?.Rules ?? ValueList.Of<NftRule>()).Where(r => !IsFor(r, device));
        var rules = dscp is { } value ? kept.Concat(Rules(device, value)) : kept;
        var sorted = rules.OrderBy(r => r.Comment ?? "", StringComparer.Ordinal).ToValueList();
        return sorted.Count == 0
            ? null
            : new NftTable(
                NftFamily.Bridge,
                TableName,
                ValueList.Of(new NftChain(Chain, new NftBaseChain(NftHook.Prerouting, Priority))),
                ValueList.Of<NftSet>(),
                sorted);
    }

    /// <summary>The DSCP <paramref name="table"/> marks <paramref name="device"/>'s frames with, or null.</summary>
    public static int? DscpOf(NftTable? table, string device)
    {
        var rule = table?.Rules.FirstOrDefault(r => IsFor(r, device));
        return rule?.Comment is { } comment && int.TryParse(comment.AsSpan(comment.LastIndexOf(' ') + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var dscp)
            ? dscp
            : null;
    }

    /// <summary>The IPv4 and the IPv6 rule for one device (the comment names both, and keys the device's rules).</summary>
    public static IReadOnlyList<NftRule> Rules(string device, int dscp)
    {
        var comment = FormattableString.Invariant($"{device} dscp {dscp}");
        var tos = (byte)(dscp << 2);
        return
        [
            // First 16 bits of IPv4: version/IHL, then DSCP(6) ECN(2); keep all but the DSCP.
            new NftRule(Chain, Mark(device, EthernetIpv4, mask: [0xff, 0x03], xor: [0x00, tos], NftChecksum.Inet, Ipv4ChecksumOffset), comment),

            // First 16 bits of IPv6: version(4), traffic class = DSCP(6) ECN(2), flow label(4 of 20).
            new NftRule(Chain, Mark(device, EthernetIpv6, mask: [0xf0, 0x3f], xor: [(byte)(dscp >> 2), (byte)((dscp & 3) << 6)], NftChecksum.None, 0), comment),
        ];
    }

    private static bool IsFor(NftRule rule, string device) =>
        rule.Comment?.StartsWith(device + " ", StringComparison.Ordinal) == true;

    private static ValueList<NftExpression> Mark(string device, ushort etherType, byte[] mask, byte[] xor, NftChecksum checksum, uint checksumOffset)
    {
        var name = new byte[InterfaceNameSize];
        Encoding.ASCII.GetBytes(device, name);
        return ValueList.Of<NftExpression>(
            new NftMeta(NftMetaKey.InputInterfaceName),
            new NftCmp(NftCmpOp.Equal, new NftValue(name)),
            new NftMeta(NftMetaKey.Protocol),
            new NftCmp(NftCmpOp.Equal, NftValue.BigEndian16(etherType)),
            new NftPayload(NftPayloadBase.Network, 0, 2),
            new NftBitwise(new NftValue(mask), new NftValue(xor)),
            new NftPayloadWrite(NftPayloadBase.Network, 0, 2, checksum, checksumOffset));
    }
}
