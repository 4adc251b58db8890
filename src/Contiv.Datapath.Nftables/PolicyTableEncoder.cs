using System.Net;
using Contiv.Policy;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// Encodes one network's <see cref="NetworkRuleset"/> as the inet table enforced in that network's
/// namespace (bridged IPv4 frames reach its forward hook through br_netfilter):
/// <code>
/// table inet contiv-policy {
///   set group-db { type ipv4_addr; elements = { ... } }          # and peer-GROUP sets
///   chain forward { type filter hook forward priority filter; policy accept;
///     ct mark and 0x1 != 0 counter drop                          # connections revoked by a change
///     ct state established,related accept                       # replies, later packets
///     ct state invalid counter drop
///     meta nfproto ipv4 ip saddr @group-web jump out-web         # one per Out chain
///     meta nfproto ipv4 ip daddr @group-db jump in-db            # one per In chain
///   }
///   chain in-db {                                                # rules in decision order
///     ip saddr @peer-web meta l4proto tcp th dport 5432 counter return comment "..."   # allow
///     meta l4proto tcp counter drop comment "..."                                       # deny
///   }
/// }
/// </code>
/// An allow returns to the forward chain, so the other side's chain still decides; the chain's
/// end (no match) also returns. Only new connections get past the first rule, and a packet that
/// is dropped leaves no conntrack entry (its unconfirmed entry dies with it), so a denied packet
/// never opens a path for a later one.
/// </summary>
public static class PolicyTableEncoder
{
    public const string TableName = "contiv-policy";
    public const string ForwardChain = "forward";

    /// <summary>
    /// The conntrack mark bit of a connection the current rules deny in its original direction
    /// (set by netplugin after a rule change, <see cref="ConntrackNetlink.Remark"/>): every packet
    /// of it, both ways, is dropped before the established-accept rule, while its entry stays, so
    /// no later packet can be picked up as a new connection in the other direction.
    /// </summary>
    public const uint RevokedMark = 0x1;

    private const byte NfProtoIpv4 = 2;
    private const uint Ipv4SourceOffset = 12;
    private const uint Ipv4DestinationOffset = 16;
    private const uint DestinationPortOffset = 2; // same place in TCP and UDP headers

    public static NftTable Encode(NetworkRuleset ruleset)
    {
        ArgumentNullException.ThrowIfNull(ruleset);
        var chains = new List<NftChain> { new(ForwardChain, new NftBaseChain(NftHook.Forward, 0)) };
        chains.AddRange(ruleset.Chains.Select(c => new NftChain(c.Name)));
        var sets = ruleset.Sets.Select(s => NftSet.Ipv4Addresses(s.Name, s.Addresses)).ToValueList();

        var rules = new List<NftRule>
        {
            new(
                ForwardChain,
                ValueList.Of<NftExpression>(
                    new NftCt(NftCtKey.Mark),
                    new NftBitwise(NftValue.HostOrder32(RevokedMark), NftValue.HostOrder32(0)),
                    new NftCmp(NftCmpOp.NotEqual, NftValue.HostOrder32(0)),
                    new NftCounter(),
                    new NftVerdict(NftVerdictCode.Drop)),
                "connection revoked by a rule change"),
            new(ForwardChain, CtState(NftCtState.Established | NftCtState.Related, new NftVerdict(NftVerdictCode.Accept)), "replies and later packets of passed connections"),
            new(ForwardChain, CtState(NftCtState.Invalid, new NftCounter(), new NftVerdict(NftVerdictCode.Drop)), "conntrack says invalid"),
        };
        foreach (var chain in ruleset.Chains.OrderBy(c => c.Direction == RuleDirection.Out ? 0 : 1))
        {
            var offset = chain.Direction == RuleDirection.Out ? Ipv4SourceOffset : Ipv4DestinationOffset;
            rules.Add(new NftRule(
                ForwardChain,
                ValueList.Of<NftExpression>(
                    new NftMeta(NftMetaKey.NfProto),
                    new NftCmp(NftCmpOp.Equal, NftValue.Byte(NfProtoIpv4)),
                    new NftPayload(NftPayloadBase.Network, offset, 4),
                    new NftLookup(chain.MemberSet),
                    new NftVerdict(NftVerdictCode.Jump, chain.Name)),
                $"{(chain.Direction == RuleDirection.Out ? "from" : "to")} group {chain.Group}"));
        }

        foreach (var chain in ruleset.Chains)
        {
            var peerOffset = chain.Direction == RuleDirection.Out ? Ipv4DestinationOffset : Ipv4SourceOffset;
            rules.AddRange(chain.Rules.Select(rule => new NftRule(chain.Name, RuleExpressions(rule, peerOffset), $"{rule.RuleKey} prio {rule.Priority}")));
        }

        return new NftTable(NftFamily.Inet, TableName, chains.ToValueList(), sets, rules.ToValueList());
    }

    private static ValueList<NftExpression> RuleExpressions(CompiledRule rule, uint peerOffset)
    {
        var expressions = new List<NftExpression>();
        switch (rule.Peer)
        {
            case SetPeer set:
                expressions.Add(new NftPayload(NftPayloadBase.Network, peerOffset, 4));
                expressions.Add(new NftLookup(set.Set.Name));
                break;
            case BlockPeer block when block.Block.PrefixLength == 32:
                expressions.Add(new NftPayload(NftPayloadBase.Network, peerOffset, 4));
                expressions.Add(new NftCmp(NftCmpOp.Equal, NftValue.Ipv4(block.Block.BaseAddress)));
                break;
            case BlockPeer block:
                expressions.Add(new NftPayload(NftPayloadBase.Network, peerOffset, 4));
                expressions.Add(new NftBitwise(NftValue.Ipv4Mask(block.Block.PrefixLength), NftValue.Ipv4(IPAddress.Any)));
                expressions.Add(new NftCmp(NftCmpOp.Equal, NftValue.Ipv4(block.Block.BaseAddress)));
                break;
        }

        if (rule.Protocol is { } protocol)
        {
            expressions.Add(new NftMeta(NftMetaKey.L4Proto));
            expressions.Add(new NftCmp(NftCmpOp.Equal, NftValue.Byte(protocol)));
        }

        if (rule.Port is { } port)
        {
            expressions.Add(new NftPayload(NftPayloadBase.Transport, DestinationPortOffset, 2));
            expressions.Add(new NftCmp(NftCmpOp.Equal, NftValue.BigEndian16(port)));
        }

        expressions.Add(new NftCounter());
        expressions.Add(new NftVerdict(rule.Action == RuleAction.Deny ? NftVerdictCode.Drop : NftVerdictCode.Return));
        return expressions.ToValueList();
    }

    /// <summary>ct state in <paramref name="states"/>: load, mask, compare with zero (as nft compiles it).</summary>
    private static ValueList<NftExpression> CtState(NftCtState states, params NftExpression[] then) =>
        ValueList.Of<NftExpression>(
            [
                new NftCt(NftCtKey.State),
                new NftBitwise(NftValue.HostOrder32((uint)states), NftValue.HostOrder32(0)),
                new NftCmp(NftCmpOp.NotEqual, NftValue.HostOrder32(0)),
                .. then,
            ]);
}
