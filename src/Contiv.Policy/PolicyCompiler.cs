using System.Net;

namespace Contiv.Policy;

/// <summary>
/// A tenant's policy objects as the compiler reads them: its groups, the rules of its policies,
/// its endpoints (every network, every host: peers may be anywhere) and the subnets of its networks.
/// </summary>
public sealed record TenantPolicyState(
    string Tenant,
    IReadOnlyList<EndpointGroup> Groups,
    IReadOnlyList<PolicyRule> Rules,
    IReadOnlyList<PolicyEndpoint> Endpoints,
    IReadOnlyDictionary<string, IPNetwork> NetworkSubnets);

/// <summary>
/// Compiles a tenant's groups, policies and rules into the ruleset of one network's namespace.
/// A group's In rules filter traffic to its endpoints, its Out rules traffic from them. Within one
/// group and direction the matching rule with the highest priority decides; at equal priority a
/// deny beats an allow (the safe choice: order never decides); no matching rule allows. The In and
/// Out decisions are separate: a packet passes only when the sender's Out rules and the receiver's
/// In rules both let it, so no group's rules can open another group's endpoints.
/// </summary>
public static class PolicyCompiler
{
    public static NetworkRuleset Compile(TenantPolicyState state, string network)
    {
        ArgumentNullException.ThrowIfNull(state);
        var groups = state.Groups.Where(g => g.Tenant == state.Tenant).ToDictionary(g => g.Name, StringComparer.Ordinal);
        var rulesByPolicy = state.Rules
            .Where(r => r.Tenant == state.Tenant)
            .GroupBy(r => r.Policy, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        // Endpoints whose group no longer exists count as in no group.
        var endpointsByGroup = state.Endpoints
            .Where(e => e.Group is not null && groups.ContainsKey(e.Group))
            .GroupBy(e => e.Group!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        var sets = new SortedDictionary<string, AddressSet>(StringComparer.Ordinal);
        AddressSet SetOf(string name, IEnumerable<IPAddress> addresses)
        {
            if (!sets.TryGetValue(name, out var set))
            {
                set = new AddressSet(name, [.. addresses.Distinct().OrderBy(Ipv4.ToUInt32)]);
                sets.Add(name, set);
            }

            return set;
        }

        // A group's endpoints anywhere in the tenant (addresses are unique within a tenant: its subnets do not overlap).
        AddressSet PeerSet(string group) =>
            SetOf($"peer-{group}", endpointsByGroup.GetValueOrDefault(group)?.Select(e => e.Address) ?? []);

        var chains = new List<GroupChain>();
        foreach (var group in groups.Values.Where(g => g.Network == network).OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            var rules = group.PolicyNames
                .Distinct(StringComparer.Ordinal)
                .SelectMany(p => rulesByPolicy.GetValueOrDefault(p) ?? [])
                .ToList();
            foreach (var direction in (RuleDirection[])[RuleDirection.In, RuleDirection.Out])
            {
                var ordered = rules
                    .Where(r => r.Direction == direction)
                    .OrderByDescending(r => r.Priority)
                    .ThenBy(r => r.Action == RuleAction.Deny ? 0 : 1)
                    .ThenBy(r => r.Key, StringComparer.Ordinal)
                    .Select(r => CompileRule(r, PeerSet, state.NetworkSubnets))
                    .OfType<CompiledRule>()
                    .ToList();
                if (ordered.Count == 0)
                {
                    continue;
                }

                var members = SetOf(
                    $"group-{group.Name}",
                    endpointsByGroup.GetValueOrDefault(group.Name)?.Where(e => e.Network == network).Select(e => e.Address) ?? []);
                chains.Add(new GroupChain(group.Name, direction, members.Name, TrimAfterCatchAll(ordered)));
            }
        }

        return new NetworkRuleset(state.Tenant, network, [.. sets.Values], chains);
    }

    /// <summary>
    /// First-match evaluation of <paramref name="ruleset"/> for the first packet of a connection,
    /// exactly as the datapath walks it: true when the packet passes.
    /// </summary>
    public static bool Allows(NetworkRuleset ruleset, IPAddress source, IPAddress destination, byte protocol, ushort? destinationPort)
    {
        ArgumentNullException.ThrowIfNull(ruleset);
        var members = ruleset.Sets.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var chain in ruleset.Chains)
        {
            var self = chain.Direction == RuleDirection.Out ? source : destination;
            var peer = chain.Direction == RuleDirection.Out ? destination : source;
            if (!members[chain.MemberSet].Addresses.Contains(self))
            {
                continue;
            }

            var decision = chain.Rules.FirstOrDefault(r => r.Matches(peer, protocol, destinationPort));
            if (decision?.Action == RuleAction.Deny)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Null when the rule can match nothing (it names a network whose subnet is unknown).</summary>
    private static CompiledRule? CompileRule(PolicyRule rule, Func<string, AddressSet> peerSet, IReadOnlyDictionary<string, IPNetwork> subnets)
    {
        CompiledPeer? peer = rule.Peer switch
        {
            AnyPeer => AnyAddress.Instance,
            GroupPeer g => new SetPeer(peerSet(g.Group)),
            NetworkPeer n => subnets.TryGetValue(n.Network, out var subnet) ? new BlockPeer(subnet) : null,
            CidrPeer c => new BlockPeer(c.Block),
            _ => throw new ArgumentException($"unknown peer {rule.Peer}", nameof(rule)),
        };
        return peer is null ? null : new CompiledRule(rule.Key, rule.Priority, rule.Action, peer, rule.Protocol, rule.Port);
    }

    /// <summary>Rules after one that matches every packet can never decide; leaving them out keeps chains short.</summary>
    private static List<CompiledRule> TrimAfterCatchAll(List<CompiledRule> rules)
    {
        var catchAll = rules.FindIndex(r => r.Peer is AnyAddress && r.Protocol is null && r.Port is null);
        return catchAll < 0 ? rules : rules[..(catchAll + 1)];
    }
}
