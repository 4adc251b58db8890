using System.Net;

namespace Contiv.Policy.Tests;

public sealed class CompilerTests
{
    private static readonly IPAddress Web = IPAddress.Parse("10.1.2.1");
    private static readonly IPAddress Db = IPAddress.Parse("10.1.2.2");
    private static readonly IPAddress Other = IPAddress.Parse("10.1.2.3");
    private static readonly IPAddress Remote = IPAddress.Parse("10.1.3.9"); // web endpoint on another network
    private static readonly Dictionary<string, IPNetwork> Subnets = new()
    {
        ["contiv-net"] = IPNetwork.Parse("10.1.2.0/24"),
        ["other-net"] = IPNetwork.Parse("10.1.3.0/24"),
    };

    private static PolicyRule Rule(string id, RuleDirection direction, int priority, RuleAction action, RulePeer? peer = null, byte? protocol = null, ushort? port = null, string policy = "db-policy") =>
        new("default", policy, id, direction, priority, peer ?? RulePeer.Any, protocol, port, action);

    private static TenantPolicyState State(params PolicyRule[] rules) => new(
        "default",
        [new EndpointGroup("default", "web", "contiv-net"), new EndpointGroup("default", "db", "contiv-net", Policies: ["db-policy"])],
        rules,
        [
            new PolicyEndpoint(Web, "contiv-net", "web"),
            new PolicyEndpoint(Db, "contiv-net", "db"),
            new PolicyEndpoint(Other, "contiv-net", null),
            new PolicyEndpoint(Remote, "other-net", "web"),
        ],
        Subnets);

    [Fact]
    public void Contivs_db_policy_compiles_to_one_in_chain_highest_priority_first()
    {
        var ruleset = PolicyCompiler.Compile(
            State(
                Rule("1", RuleDirection.In, 1, RuleAction.Deny, protocol: PolicyRule.Tcp),
                Rule("2", RuleDirection.In, 10, RuleAction.Allow, new GroupPeer("web"), PolicyRule.Tcp, 5432)),
            "contiv-net");

        Assert.Equal(
            """
            set group-db { 10.1.2.2 }
            set peer-web { 10.1.2.1, 10.1.3.9 }
            chain in-db (in of @group-db)
              @peer-web proto 6 dport 5432 allow (prio 10, default:db-policy:2)
              any proto 6 deny (prio 1, default:db-policy:1)

            """.ReplaceLineEndings("\n"),
            ruleset.Describe());

        Assert.True(PolicyCompiler.Allows(ruleset, Web, Db, PolicyRule.Tcp, 5432));
        Assert.False(PolicyCompiler.Allows(ruleset, Other, Db, PolicyRule.Tcp, 5432));
        Assert.False(PolicyCompiler.Allows(ruleset, Web, Db, PolicyRule.Tcp, 80));
        Assert.True(PolicyCompiler.Allows(ruleset, Web, Db, PolicyRule.Icmp, null));
        Assert.True(PolicyCompiler.Allows(ruleset, Db, Web, PolicyRule.Tcp, 80), "db's out traffic has no rule");
    }

    [Fact]
    public void At_equal_priority_deny_wins_whatever_the_order()
    {
        var allowFirst = PolicyCompiler.Compile(State(
            Rule("a", RuleDirection.In, 5, RuleAction.Allow, protocol: PolicyRule.Tcp),
            Rule("b", RuleDirection.In, 5, RuleAction.Deny, new GroupPeer("web"))), "contiv-net");
        Assert.False(PolicyCompiler.Allows(allowFirst, Web, Db, PolicyRule.Tcp, 80));
        Assert.True(PolicyCompiler.Allows(allowFirst, Other, Db, PolicyRule.Tcp, 80));
        Assert.Equal(RuleAction.Deny, allowFirst.Chains.Single().Rules[0].Action);
    }

    [Fact]
    public void Rules_after_a_catch_all_are_left_out_and_unknown_networks_match_nothing()
    {
        var ruleset = PolicyCompiler.Compile(State(
            Rule("1", RuleDirection.Out, 50, RuleAction.Deny),
            Rule("2", RuleDirection.Out, 10, RuleAction.Allow, protocol: PolicyRule.Udp),
            Rule("3", RuleDirection.In, 20, RuleAction.Deny, new NetworkPeer("gone-net")),
            Rule("4", RuleDirection.In, 10, RuleAction.Deny, new NetworkPeer("other-net"))), "contiv-net");

        var outChain = ruleset.Chains.Single(c => c.Direction == RuleDirection.Out);
        Assert.Equal(["default:db-policy:1"], outChain.Rules.Select(r => r.RuleKey));
        var inChain = ruleset.Chains.Single(c => c.Direction == RuleDirection.In);
        Assert.Equal(["default:db-policy:4"], inChain.Rules.Select(r => r.RuleKey));
        Assert.False(PolicyCompiler.Allows(ruleset, Remote, Db, PolicyRule.Tcp, 80), "from other-net's subnet");
        Assert.True(PolicyCompiler.Allows(ruleset, Web, Db, PolicyRule.Tcp, 80));
    }

    [Fact]
    public void Groups_of_other_networks_get_no_chain_and_no_policy_means_an_empty_ruleset()
    {
        Assert.True(PolicyCompiler.Compile(State(Rule("1", RuleDirection.In, 1, RuleAction.Deny)), "other-net").IsEmpty);
        Assert.True(PolicyCompiler.Compile(State(), "contiv-net").IsEmpty);
    }

    [Fact]
    public void Cidr_peers_outside_the_cluster_and_endpoints_of_deleted_groups()
    {
        var state = State(Rule("1", RuleDirection.In, 1, RuleAction.Deny, new CidrPeer(IPNetwork.Parse("192.168.0.0/16")))) with
        {
            Endpoints = [new PolicyEndpoint(Db, "contiv-net", "db"), new PolicyEndpoint(Other, "contiv-net", "deleted-group")],
        };
        var ruleset = PolicyCompiler.Compile(state, "contiv-net");
        Assert.False(PolicyCompiler.Allows(ruleset, IPAddress.Parse("192.168.7.7"), Db, PolicyRule.Udp, 53));
        Assert.True(PolicyCompiler.Allows(ruleset, IPAddress.Parse("172.16.0.1"), Db, PolicyRule.Udp, 53));
        Assert.DoesNotContain(ruleset.Sets, s => s.Name.Contains("deleted", StringComparison.Ordinal));
    }
}
