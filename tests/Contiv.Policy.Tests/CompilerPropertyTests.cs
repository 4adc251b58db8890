using System.Net;
using FsCheck;
using FsCheck.Fluent;

namespace Contiv.Policy.Tests;

/// <summary>
/// The compiled ruleset, walked first-match as the datapath walks it, decides every packet exactly
/// as a straightforward reading of Contiv's semantics does (highest priority matching rule of the
/// sender's out rules and of the receiver's in rules; deny wins ties; no match allows), for any
/// tenant FsCheck generates: groups on two networks, policies shared between groups, rules with
/// every kind of peer (also an unknown network), protocols and ports, few priorities (many ties).
/// </summary>
public sealed class CompilerPropertyTests
{
    private const string Tenant = "t";
    private static readonly string[] Networks = ["n1", "n2"];
    private static readonly Dictionary<string, IPNetwork> Subnets = new()
    {
        ["n1"] = IPNetwork.Parse("10.1.0.0/24"),
        ["n2"] = IPNetwork.Parse("10.2.0.0/24"),
    };

    private static readonly string[] GroupNames = ["g0", "g1", "g2", "g3"];
    private static readonly string[] PolicyNames = ["p0", "p1", "p2"];

    private static readonly Gen<RulePeer> Peers = Gen.OneOf(
        Gen.Constant(RulePeer.Any),
        Gen.Elements(GroupNames).Select(g => (RulePeer)new GroupPeer(g)),
        Gen.Elements("n1", "n2", "n3").Select(n => (RulePeer)new NetworkPeer(n)),
        Gen.Elements("10.1.0.0/30", "10.1.0.4/32", "10.2.0.0/25", "192.168.0.0/16", "0.0.0.0/0").Select(c => (RulePeer)new CidrPeer(IPNetwork.Parse(c))));

    private static readonly Gen<(byte? Protocol, ushort? Port)> ProtocolsAndPorts = Gen.OneOf(
        Gen.Constant<(byte?, ushort?)>((null, null)),
        Gen.Elements<byte?>(PolicyRule.Icmp, PolicyRule.Tcp, PolicyRule.Udp, 47).Select(p => (p, (ushort?)null)),
        Gen.Elements<byte?>(PolicyRule.Tcp, PolicyRule.Udp).SelectMany(p => Gen.Elements<ushort?>(80, 443).Select(port => (p, port))));

    private static readonly Gen<PolicyRule> Rules =
        from policy in Gen.Elements(PolicyNames)
        from id in Gen.Choose(0, 99)
        from direction in Gen.Elements(RuleDirection.In, RuleDirection.Out)
        from priority in Gen.Choose(1, 4)
        from peer in Peers
        from protocolAndPort in ProtocolsAndPorts
        from action in Gen.Elements(RuleAction.Allow, RuleAction.Deny)
        select new PolicyRule(Tenant, policy, $"r{id}", direction, priority, peer, protocolAndPort.Protocol, protocolAndPort.Port, action);

    private static readonly Gen<TenantPolicyState> States =
        from groupNetworks in Gen.ArrayOf(Gen.Elements(Networks), GroupNames.Length)
        from groupPolicies in Gen.ArrayOf(Gen.SubListOf(PolicyNames), GroupNames.Length)
        from membership in Gen.ArrayOf(Gen.Choose(-1, GroupNames.Length - 1), 12)
        from rules in Gen.ListOf(Rules)
        select Build(groupNetworks, groupPolicies, membership, rules);

    private static readonly IPAddress[] Addresses =
        [.. Enumerable.Range(1, 6).Select(i => IPAddress.Parse($"10.1.0.{i}")), .. Enumerable.Range(1, 6).Select(i => IPAddress.Parse($"10.2.0.{i}")), IPAddress.Parse("192.168.3.4"), IPAddress.Parse("10.1.0.200")];

    private static readonly Gen<(IPAddress Source, IPAddress Destination, byte Protocol, ushort? Port)> Packets =
        from source in Gen.Elements(Addresses)
        from destination in Gen.Elements(Addresses)
        from protocol in Gen.Elements<byte>(PolicyRule.Icmp, PolicyRule.Tcp, PolicyRule.Udp, 47)
        from port in Gen.Elements<ushort>(80, 443, 22)
        select (source, destination, protocol, protocol is PolicyRule.Tcp or PolicyRule.Udp ? (ushort?)port : null);

    [Fact]
    public void Compiled_ruleset_decides_like_the_reference_evaluator()
    {
        Prop.ForAll(Arb.From(States), Arb.From(Gen.ListOf(Packets)), (state, packets) =>
        {
            foreach (var network in Networks)
            {
                var ruleset = PolicyCompiler.Compile(state, network);
                foreach (var (source, destination, protocol, port) in packets)
                {
                    if (PolicyCompiler.Allows(ruleset, source, destination, protocol, port) != ReferenceAllows(state, network, source, destination, protocol, port))
                    {
                        return false;
                    }
                }
            }

            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Compilation_is_deterministic_whatever_the_input_order()
    {
        Prop.ForAll(Arb.From(States), state =>
        {
            var reversed = state with { Rules = [.. state.Rules.Reverse()], Groups = [.. state.Groups.Reverse()], Endpoints = [.. state.Endpoints.Reverse()] };
            return Networks.All(n => PolicyCompiler.Compile(state, n).Describe() == PolicyCompiler.Compile(reversed, n).Describe());
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>Contiv's semantics read directly off the objects, with no ordering or sets.</summary>
    private static bool ReferenceAllows(TenantPolicyState state, string network, IPAddress source, IPAddress destination, byte protocol, ushort? port)
    {
        string? GroupOf(IPAddress address, string? onNetwork)
        {
            var endpoint = state.Endpoints.FirstOrDefault(e => e.Address.Equals(address) && (onNetwork is null || e.Network == onNetwork));
            return endpoint?.Group is { } g && state.Groups.Any(x => x.Name == g && (onNetwork is null || x.Network == onNetwork)) ? g : null;
        }

        bool PeerMatches(RulePeer peer, IPAddress address) => peer switch
        {
            AnyPeer => true,
            GroupPeer g => GroupOf(address, null) == g.Group,
            NetworkPeer n => Subnets.TryGetValue(n.Network, out var subnet) && subnet.Contains(address),
            CidrPeer c => c.Block.Contains(address),
            _ => false,
        };

        bool Decide(string? group, RuleDirection direction, IPAddress peer)
        {
            if (group is null)
            {
                return true;
            }

            var policies = state.Groups.Single(g => g.Name == group).PolicyNames;
            var matching = state.Rules
                .Where(r => r.Direction == direction && policies.Contains(r.Policy))
                .Where(r => PeerMatches(r.Peer, peer) && (r.Protocol is null || r.Protocol == protocol) && (r.Port is null || r.Port == port))
                .ToList();
            if (matching.Count == 0)
            {
                return true;
            }

            var top = matching.Max(r => r.Priority);
            return !matching.Any(r => r.Priority == top && r.Action == RuleAction.Deny);
        }

        return Decide(GroupOf(source, network), RuleDirection.Out, destination)
            && Decide(GroupOf(destination, network), RuleDirection.In, source);
    }

    private static TenantPolicyState Build(string[] groupNetworks, IList<string>[] groupPolicies, int[] membership, List<PolicyRule> rules)
    {
        var groups = GroupNames.Select((name, i) => new EndpointGroup(Tenant, name, groupNetworks[i], Policies: [.. groupPolicies[i]])).ToList();
        var endpoints = new List<PolicyEndpoint>();
        for (var i = 0; i < membership.Length; i++)
        {
            var network = i < 6 ? "n1" : "n2";
            var address = IPAddress.Parse($"10.{(i < 6 ? 1 : 2)}.0.{i % 6 + 1}");

            // A container joins a group of its own network only; other picks mean no group.
            var group = membership[i] >= 0 && groups[membership[i]].Network == network ? groups[membership[i]].Name : null;
            endpoints.Add(new PolicyEndpoint(address, network, group));
        }

        // Rule keys are unique within a policy, as the store keys them.
        var unique = rules.GroupBy(r => r.Key).Select(g => g.First()).ToList();
        return new TenantPolicyState(Tenant, groups, unique, endpoints, Subnets);
    }
}
