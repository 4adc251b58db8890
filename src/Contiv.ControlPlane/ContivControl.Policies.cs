using System.Net;
using Contiv.Model;
using Contiv.Policy;
using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>Policies, their rules and netprofiles, and the reads the datapath compiles from.</summary>
public sealed partial class ContivControl
{
    // ---- policies --------------------------------------------------------------------------------

    public Task<PolicyConfig> CreatePolicyAsync(PolicyConfig policy, CancellationToken ct = default)
    {
        var tenant = policy.TenantName;
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(policy.PolicyName, "policy");
        policy.Key = ObjectKey(tenant, policy.PolicyName);
        var tenantKey = StateKeys.Tenant(tenant);
        var policyKey = StateKeys.Policy(tenant, policy.PolicyName);
        return RunTenantAsync(tenant, [tenantKey, policyKey], [], (_, snapshot, _) =>
        {
            if (snapshot[tenantKey] is null)
            {
                throw TenantNotFound(tenant);
            }

            return snapshot[policyKey] is not null
                ? throw ContivException.Conflict($"policy {policy.Key} already exists")
                : new TransactionPlan<PolicyConfig>([Write(policyKey, policy, StateJson.Default.PolicyConfig)], policy);
        }, ct);
    }

    /// <summary>Refused while a group uses the policy; deletes its rules with it.</summary>
    public Task DeletePolicyAsync(string tenant, string policy, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(policy, "policy");
        var policyKey = StateKeys.Policy(tenant, policy);
        return RunTenantAsync(tenant, [policyKey], [], (view, snapshot, _) =>
        {
            if (snapshot[policyKey] is null)
            {
                throw PolicyNotFound(tenant, policy);
            }

            var user = view.Groups.Values.FirstOrDefault(g => g.Policies?.Contains(policy, StringComparer.Ordinal) == true);
            if (user is not null)
            {
                // Contiv's words, and which group to detach it from.
                throw ContivException.Conflict($"Policy is being used: policy {ObjectKey(tenant, policy)} is attached to endpoint group {user.Key}");
            }

            var rules = view.Rules.Where(r => r.PolicyName == policy).Select(r => new KeyWrite(StateKeys.Rule(tenant, policy, r.RuleId), null));
            return new TransactionPlan<bool>([new KeyWrite(policyKey, null), .. rules], true);
        }, ct);
    }

    public async Task<PolicyConfig> GetPolicyAsync(string tenant, string policy, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(policy, "policy");
        return await GetOneAsync(StateKeys.Policy(tenant, policy), ct) is { } text ? Read(text, StateJson.Default.PolicyConfig) : throw PolicyNotFound(tenant, policy);
    }

    public async Task<IReadOnlyList<PolicyConfig>> ListPoliciesAsync(string? tenant, CancellationToken ct = default) =>
        [.. (await store.ListAsync(tenant is null ? StateKeys.PoliciesPrefix : StateKeys.PoliciesOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.PolicyConfig))];

    /// <summary>The policy and the endpoints it applies to (those of the groups it is attached to).</summary>
    public async Task<PolicyInspect> InspectPolicyAsync(string tenant, string policy, CancellationToken ct = default)
    {
        var config = await GetPolicyAsync(tenant, policy, ct);
        var endpoints = new List<EndpointOper>();
        foreach (var group in (await ListGroupsAsync(tenant, ct)).Where(g => g.Policies?.Contains(policy, StringComparer.Ordinal) == true))
        {
            endpoints.AddRange(await GroupEndpointsAsync(tenant, group.GroupName, group.NetworkName, ct));
        }

        return new PolicyInspect { Config = config, Oper = new PolicyOper { NumEndpoints = endpoints.Count, Endpoints = endpoints.Count == 0 ? null : endpoints } };
    }

    // ---- rules -----------------------------------------------------------------------------------

    /// <summary>
    /// Adds a rule after Contiv's checks (<see cref="RuleConfig.Validate"/>): the policy and the group
    /// or network it names must exist. The stored rule has its defaults filled in (direction in,
    /// priority 1, action allow).
    /// </summary>
    public Task<RuleObject> AddRuleAsync(RuleObject rule, CancellationToken ct = default)
    {
        var tenant = rule.TenantName;
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(rule.PolicyName, "policy");
        Names.ValidateObjectName(rule.RuleId, "rule id");
        Normalize(rule);
        var tenantKey = StateKeys.Tenant(tenant);
        var policyKey = StateKeys.Policy(tenant, rule.PolicyName);
        var ruleKey = StateKeys.Rule(tenant, rule.PolicyName, rule.RuleId);
        var networks = new[] { rule.FromNetwork, rule.ToNetwork }.OfType<string>().Select(n => StateKeys.Network(tenant, n));
        return RunTenantAsync(tenant, [tenantKey, policyKey, ruleKey, .. networks], [], (view, snapshot, _) =>
        {
            if (snapshot[tenantKey] is null)
            {
                throw TenantNotFound(tenant);
            }

            if (snapshot[policyKey] is null)
            {
                throw PolicyNotFound(tenant, rule.PolicyName);
            }

            if (snapshot[ruleKey] is not null)
            {
                throw ContivException.Conflict($"rule {rule.Key} already exists");
            }

            Checked(() => ToRuleConfig(rule).Validate(new ViewCatalog(view, snapshot)));
            return new TransactionPlan<RuleObject>([Write(ruleKey, rule, StateJson.Default.RuleObject)], rule);
        }, ct);
    }

    public Task DeleteRuleAsync(string tenant, string policy, string ruleId, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(policy, "policy");
        Names.ValidateObjectName(ruleId, "rule id");
        var policyKey = StateKeys.Policy(tenant, policy);
        var ruleKey = StateKeys.Rule(tenant, policy, ruleId);
        return RunTenantAsync(tenant, [policyKey, ruleKey], [], (_, snapshot, _) =>
        {
            if (snapshot[policyKey] is null)
            {
                throw PolicyNotFound(tenant, policy);
            }

            return snapshot[ruleKey] is null
                ? throw ContivException.NotFound($"rule {tenant}:{policy}:{ruleId} does not exist")
                : new TransactionPlan<bool>([new KeyWrite(ruleKey, null)], true);
        }, ct);
    }

    /// <summary>Rules of a tenant's policy, of a whole tenant (policy null) or of everything (both null).</summary>
    public async Task<IReadOnlyList<RuleObject>> ListRulesAsync(string? tenant, string? policy, CancellationToken ct = default)
    {
        var prefix = tenant is null ? StateKeys.RulesPrefix : policy is null ? StateKeys.RulesOfTenant(tenant) : StateKeys.RulesOfPolicy(tenant, policy);
        var rules = (await store.ListAsync(prefix, ct)).Select(kv => Read(kv.Value, StateJson.Default.RuleObject));
        return [.. rules.Where(r => policy is null || r.PolicyName == policy)];
    }

    public async Task<RuleObject> GetRuleAsync(string tenant, string policy, string ruleId, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        return await GetOneAsync(StateKeys.Rule(tenant, policy, ruleId), ct) is { } text
            ? Read(text, StateJson.Default.RuleObject)
            : throw ContivException.NotFound($"rule {tenant}:{policy}:{ruleId} does not exist");
    }

    /// <summary>The REST rule as Contiv.Policy's input (empty strings: not given).</summary>
    public static RuleConfig ToRuleConfig(RuleObject rule) => new(
        rule.TenantName, rule.PolicyName, rule.RuleId, rule.Direction, rule.Priority, rule.FromEndpointGroup, rule.ToEndpointGroup,
        rule.FromNetwork, rule.ToNetwork, rule.FromIpAddress, rule.ToIpAddress, rule.Protocol, rule.Port, rule.Action);

    /// <summary>Contiv.Policy's rule input as the REST object.</summary>
    public static RuleObject FromRuleConfig(RuleConfig rule) => Normalize(new RuleObject
    {
        TenantName = rule.TenantName,
        PolicyName = rule.PolicyName,
        RuleId = rule.RuleId,
        Direction = rule.Direction,
        Priority = rule.Priority,
        FromEndpointGroup = rule.FromEndpointGroup,
        ToEndpointGroup = rule.ToEndpointGroup,
        FromNetwork = rule.FromNetwork,
        ToNetwork = rule.ToNetwork,
        FromIpAddress = rule.FromIpAddress,
        ToIpAddress = rule.ToIpAddress,
        Protocol = rule.Protocol,
        Port = rule.Port,
        Action = rule.Action,
    });

    /// <summary>Fills in Contiv's defaults and drops empty fields, so the stored rule says what it does.</summary>
    private static RuleObject Normalize(RuleObject rule)
    {
        rule.Key = $"{rule.TenantName}:{rule.PolicyName}:{rule.RuleId}";
        rule.Direction = NullIfEmpty(rule.Direction?.Trim()) ?? "in";
        rule.Action = NullIfEmpty(rule.Action?.Trim()) ?? "allow";
        rule.Priority = rule.Priority == 0 ? RuleConfig.MinPriority : rule.Priority;
        rule.Protocol = NullIfEmpty(rule.Protocol?.Trim());
        rule.FromEndpointGroup = NullIfEmpty(rule.FromEndpointGroup?.Trim());
        rule.ToEndpointGroup = NullIfEmpty(rule.ToEndpointGroup?.Trim());
        rule.FromNetwork = NullIfEmpty(rule.FromNetwork?.Trim());
        rule.ToNetwork = NullIfEmpty(rule.ToNetwork?.Trim());
        rule.FromIpAddress = NullIfEmpty(rule.FromIpAddress?.Trim());
        rule.ToIpAddress = NullIfEmpty(rule.ToIpAddress?.Trim());
        return rule;
    }

    // ---- netprofiles -----------------------------------------------------------------------------

    public Task<NetProfileConfig> CreateNetProfileAsync(NetProfileConfig profile, CancellationToken ct = default) => PutNetProfileAsync(profile, create: true, ct);

    /// <summary>Changes a profile's bandwidth, DSCP and burst (the groups using it keep it).</summary>
    public Task<NetProfileConfig> UpdateNetProfileAsync(NetProfileConfig profile, CancellationToken ct = default) => PutNetProfileAsync(profile, create: false, ct);

    public Task DeleteNetProfileAsync(string tenant, string profile, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(profile, "netprofile");
        var key = StateKeys.NetProfile(tenant, profile);
        return RunTenantAsync(tenant, [key], [], (view, snapshot, _) =>
        {
            if (snapshot[key] is null)
            {
                throw NetProfileNotFound(tenant, profile);
            }

            var user = view.Groups.Values.FirstOrDefault(g => g.NetProfile == profile);
            return user is not null
                ? throw ContivException.Conflict($"netprofile {ObjectKey(tenant, profile)} is used by endpoint group {user.Key}")
                : new TransactionPlan<bool>([new KeyWrite(key, null)], true);
        }, ct);
    }

    public async Task<NetProfileConfig> GetNetProfileAsync(string tenant, string profile, CancellationToken ct = default) =>
        await FindNetProfileAsync(tenant, profile, ct) ?? throw NetProfileNotFound(tenant, profile);

    public async Task<NetProfileConfig?> FindNetProfileAsync(string tenant, string profile, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(profile, "netprofile");
        return await GetOneAsync(StateKeys.NetProfile(tenant, profile), ct) is { } text ? Read(text, StateJson.Default.NetProfileConfig) : null;
    }

    public async Task<IReadOnlyList<NetProfileConfig>> ListNetProfilesAsync(string? tenant, CancellationToken ct = default) =>
        [.. (await store.ListAsync(tenant is null ? StateKeys.NetProfilesPrefix : StateKeys.NetProfilesOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.NetProfileConfig))];

    public async Task<NetProfileInspect> InspectNetProfileAsync(string tenant, string profile, CancellationToken ct = default)
    {
        var config = await GetNetProfileAsync(tenant, profile, ct);
        var users = (await ListGroupsAsync(tenant, ct)).Where(g => g.NetProfile == profile).Select(g => g.Key ?? ObjectKey(tenant, g.GroupName)).ToList();
        return new NetProfileInspect { Config = config, Oper = new NetProfileOper { EndpointGroups = users.Count == 0 ? null : users } };
    }

    private Task<NetProfileConfig> PutNetProfileAsync(NetProfileConfig profile, bool create, CancellationToken ct)
    {
        var tenant = profile.TenantName;
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(profile.ProfileName, "netprofile");
        profile.Key = ObjectKey(tenant, profile.ProfileName);
        profile.Bandwidth = NullIfEmpty(profile.Bandwidth?.Trim());
        Checked(() => ObjectValidation.ValidateNetProfile(tenant, profile.ProfileName, profile.Bandwidth, profile.Dscp, profile.Burst));
        var tenantKey = StateKeys.Tenant(tenant);
        var key = StateKeys.NetProfile(tenant, profile.ProfileName);
        return RunTenantAsync(tenant, [tenantKey, key], [], (_, snapshot, _) =>
        {
            if (snapshot[tenantKey] is null)
            {
                throw TenantNotFound(tenant);
            }

            if (create && snapshot[key] is not null)
            {
                throw ContivException.Conflict($"netprofile {profile.Key} already exists");
            }

            return !create && snapshot[key] is null
                ? throw NetProfileNotFound(tenant, profile.ProfileName)
                : new TransactionPlan<NetProfileConfig>([Write(key, profile, StateJson.Default.NetProfileConfig)], profile);
        }, ct);
    }

    // ---- what the datapath compiles --------------------------------------------------------------

    /// <summary>
    /// A tenant's groups, the rules of its policies (checked when they were added; a rule naming a
    /// network deleted since is kept, the compiler matches nothing for it), all its endpoints with
    /// their network name and group, and its networks' subnets.
    /// </summary>
    public async Task<TenantPolicyState> ReadTenantPolicyAsync(string tenant, CancellationToken ct = default) =>
        (await ReadTenantPolicySnapshotAsync(tenant, ct)).State;

    /// <summary>
    /// As <see cref="ReadTenantPolicyAsync"/>, with the endpoint records it was read from: a host
    /// finds its own endpoints there (for their bandwidth profiles) without listing them again.
    /// </summary>
    public async Task<TenantPolicySnapshot> ReadTenantPolicySnapshotAsync(string tenant, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        var view = await ReadViewAsync(tenant, ct);
        var groups = view.Groups.Values.Select(g => TenantView.ToPolicyGroup(g) with
        {
            IpPool = g.IpPool is null ? null : ObjectValidation.ParseRange(g.IpPool),
        }).ToList();
        var rules = new List<PolicyRule>();
        foreach (var rule in view.Rules)
        {
            try
            {
                rules.Add(ToRuleConfig(rule).Validate(AnyNameCatalog.Instance));
            }
            catch (PolicyException)
            {
                // Only a rule written by a version with other checks could fail here; it is skipped rather than failing the whole tenant.
            }
        }

        var endpoints = new List<PolicyEndpoint>();
        var records = new List<EndpointOper>();
        var subnets = new Dictionary<string, IPNetwork>(StringComparer.Ordinal);
        foreach (var network in view.Networks)
        {
            if (network.Config.Subnet is { } subnetText)
            {
                subnets[network.Config.NetworkName] = IPNetwork.Parse(Ipv4Subnet.Parse(subnetText).Cidr);
            }

            foreach (var endpoint in await ListEndpointsAsync(network.NetworkId, ct))
            {
                records.Add(endpoint);
                if (IPAddress.TryParse(endpoint.IpAddress.ElementAtOrDefault(0), out var address))
                {
                    var suffix = ":" + tenant;
                    var group = endpoint.EndpointGroupKey is { } key && key.EndsWith(suffix, StringComparison.Ordinal) && key.Length > suffix.Length
                        ? key[..^suffix.Length]
                        : NullIfEmpty(endpoint.ServiceName);
                    endpoints.Add(new PolicyEndpoint(address, network.Config.NetworkName, group));
                }
            }
        }

        return new TenantPolicySnapshot(new TenantPolicyState(tenant, groups, rules, endpoints, subnets), records);
    }

    /// <summary>A tenant's netprofiles by name, validated (bandwidth in bits/s).</summary>
    public async Task<IReadOnlyDictionary<string, NetProfile>> ReadNetProfilesAsync(string tenant, CancellationToken ct = default)
    {
        var profiles = new Dictionary<string, NetProfile>(StringComparer.Ordinal);
        foreach (var p in await ListNetProfilesAsync(tenant, ct))
        {
            profiles[p.ProfileName] = ObjectValidation.ValidateNetProfile(tenant, p.ProfileName, p.Bandwidth, p.Dscp, p.Burst);
        }

        return profiles;
    }

    private static ContivException PolicyNotFound(string tenant, string policy) => ContivException.NotFound($"policy {ObjectKey(tenant, policy)} does not exist");

    private static ContivException NetProfileNotFound(string tenant, string profile) => ContivException.NotFound($"netprofile {ObjectKey(tenant, profile)} does not exist");
}

/// <summary>A tenant's policy input (<see cref="TenantPolicyState"/>) and the endpoint records it was read from.</summary>
public sealed record TenantPolicySnapshot(TenantPolicyState State, IReadOnlyList<EndpointOper> Endpoints);
