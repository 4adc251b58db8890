using System.Text.Json.Serialization;

namespace Contiv.Model;

// Contiv's policy objects (contivmodel: endpointGroup, policy, rule, netprofile), with its field
// names and alphabetical order like the other REST objects; empty values are left out (omitempty).

/// <summary>An endpoint group (key <c>tenant:group</c>): a named set of endpoints on one network.</summary>
public sealed class EndpointGroupConfig
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("cfgdTag")]
    public string? CfgdTag { get; set; }

    [JsonPropertyName("groupName")]
    public string GroupName { get; set; } = string.Empty;

    /// <summary>A sub-range of the network's subnet (<c>10.1.2.10-10.1.2.50</c>) the group's containers get their addresses from.</summary>
    [JsonPropertyName("ipPool")]
    public string? IpPool { get; set; }

    [JsonPropertyName("netProfile")]
    public string? NetProfile { get; set; }

    [JsonPropertyName("networkName")]
    public string NetworkName { get; set; } = string.Empty;

    [JsonPropertyName("policies")]
    public List<string>? Policies { get; set; }

    [JsonPropertyName("tenantName")]
    public string TenantName { get; set; } = string.Empty;
}

public sealed class EndpointGroupOper
{
    [JsonPropertyName("allocatedIPAddresses")]
    public string? AllocatedIpAddresses { get; set; }

    [JsonPropertyName("availableIPAddresses")]
    public string? AvailableIpAddresses { get; set; }

    [JsonPropertyName("endpoints")]
    public List<EndpointOper>? Endpoints { get; set; }

    [JsonPropertyName("numEndpoints")]
    public int NumEndpoints { get; set; }
}

public sealed class EndpointGroupInspect
{
    [JsonPropertyName("Config")]
    public EndpointGroupConfig Config { get; set; } = new();

    [JsonPropertyName("Oper")]
    public EndpointGroupOper Oper { get; set; } = new();
}

/// <summary>A policy (key <c>tenant:policy</c>): a named list of rules, attached to groups.</summary>
public sealed class PolicyConfig
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("policyName")]
    public string PolicyName { get; set; } = string.Empty;

    [JsonPropertyName("tenantName")]
    public string TenantName { get; set; } = string.Empty;
}

/// <summary>The endpoints a policy applies to: those of the groups it is attached to.</summary>
public sealed class PolicyOper
{
    [JsonPropertyName("endpoints")]
    public List<EndpointOper>? Endpoints { get; set; }

    [JsonPropertyName("numEndpoints")]
    public int NumEndpoints { get; set; }
}

public sealed class PolicyInspect
{
    [JsonPropertyName("Config")]
    public PolicyConfig Config { get; set; } = new();

    [JsonPropertyName("Oper")]
    public PolicyOper Oper { get; set; } = new();
}

/// <summary>
/// A rule of a policy (key <c>tenant:policy:ruleId</c>), as the REST API carries it. Empty strings
/// and 0 mean "not given" (priority 0 is the default 1, port 0 any port).
/// </summary>
public sealed class RuleObject
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("action")]
    public string? Action { get; set; }

    [JsonPropertyName("direction")]
    public string? Direction { get; set; }

    [JsonPropertyName("fromEndpointGroup")]
    public string? FromEndpointGroup { get; set; }

    [JsonPropertyName("fromIpAddress")]
    public string? FromIpAddress { get; set; }

    [JsonPropertyName("fromNetwork")]
    public string? FromNetwork { get; set; }

    [JsonPropertyName("policyName")]
    public string PolicyName { get; set; } = string.Empty;

    [JsonPropertyName("port")]
    public int Port { get; set; }

    [JsonPropertyName("priority")]
    public int Priority { get; set; }

    [JsonPropertyName("protocol")]
    public string? Protocol { get; set; }

    [JsonPropertyName("ruleId")]
    public string RuleId { get; set; } = string.Empty;

    [JsonPropertyName("tenantName")]
    public string TenantName { get; set; } = string.Empty;

    [JsonPropertyName("toEndpointGroup")]
    public string? ToEndpointGroup { get; set; }

    [JsonPropertyName("toIpAddress")]
    public string? ToIpAddress { get; set; }

    [JsonPropertyName("toNetwork")]
    public string? ToNetwork { get; set; }
}

/// <summary>A bandwidth profile (key <c>tenant:profile</c>) applied to the endpoints of the groups using it.</summary>
public sealed class NetProfileConfig
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    /// <summary>DSCP mark 0..63 (0: none), Contiv's upper-case field name.</summary>
    [JsonPropertyName("DSCP")]
    public int Dscp { get; set; }

    /// <summary>Rate such as <c>10 mbps</c> or <c>1 gbps</c>; empty: no shaping.</summary>
    [JsonPropertyName("bandwidth")]
    public string? Bandwidth { get; set; }

    /// <summary>Burst size in KB (0: the datapath's default).</summary>
    [JsonPropertyName("burst")]
    public int Burst { get; set; }

    [JsonPropertyName("profileName")]
    public string ProfileName { get; set; } = string.Empty;

    [JsonPropertyName("tenantName")]
    public string TenantName { get; set; } = string.Empty;
}

/// <summary>The groups using a profile.</summary>
public sealed class NetProfileOper
{
    [JsonPropertyName("endpointGroups")]
    public List<string>? EndpointGroups { get; set; }
}

public sealed class NetProfileInspect
{
    [JsonPropertyName("Config")]
    public NetProfileConfig Config { get; set; } = new();

    [JsonPropertyName("Oper")]
    public NetProfileOper Oper { get; set; } = new();
}
