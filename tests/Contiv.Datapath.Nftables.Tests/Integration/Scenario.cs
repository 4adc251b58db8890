using System.Net;
using Contiv.Policy;

namespace Contiv.Datapath.Nftables.Tests.Integration;

/// <summary>
/// Builds a tenant's policy state the way netctl would create it (groups on contiv-net, policies,
/// rule-add lines) and compiles it for the lab's network.
/// </summary>
internal sealed class Scenario : ITenantCatalog
{
    private const string Tenant = "default";
    private const string Network = "contiv-net";
    private readonly Dictionary<string, List<string>> _groupPolicies = [];
    private readonly Dictionary<IPAddress, string> _membership = [];
    private readonly HashSet<string> _policies = [];
    private readonly List<PolicyRule> _rules = [];

    public Scenario Group(string name, string? policy, params IPAddress[] members)
    {
        _groupPolicies[name] = policy is null ? [] : [policy];
        foreach (var member in members)
        {
            _membership[member] = name;
        }

        return this;
    }

    public Scenario Policy(string name)
    {
        _policies.Add(name);
        return this;
    }

    /// <summary>`netctl policy rule-add` with its flags as a config.</summary>
    public Scenario Rule(RuleConfig config)
    {
        _rules.Add((config with { TenantName = Tenant }).Validate(this));
        return this;
    }

    public Scenario RemoveRule(string policy, string ruleId)
    {
        _rules.RemoveAll(r => r.Policy == policy && r.RuleId == ruleId);
        return this;
    }

    public NetworkRuleset Compile() => PolicyCompiler.Compile(
        new TenantPolicyState(
            Tenant,
            [.. _groupPolicies.Select(g => new EndpointGroup(Tenant, g.Key, Network, Policies: g.Value))],
            _rules,
            [.. ((IPAddress[])[PolicyLab.A, PolicyLab.B, PolicyLab.C]).Select(a => new PolicyEndpoint(a, Network, _membership.GetValueOrDefault(a)))],
            new Dictionary<string, IPNetwork> { [Network] = PolicyLab.Subnet }),
        Network);

    public static RuleConfig In(string policy, string ruleId) => new(Tenant, policy, ruleId, Direction: "in");

    public static RuleConfig Out(string policy, string ruleId) => new(Tenant, policy, ruleId, Direction: "out");

    public bool HasGroup(string tenant, string group) => _groupPolicies.ContainsKey(group);

    public bool HasNetwork(string tenant, string network) => network == Network;

    public bool HasPolicy(string tenant, string policy) => _policies.Contains(policy);

    public bool HasNetProfile(string tenant, string profile) => false;
}
