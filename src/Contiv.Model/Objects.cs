using System.Text.Json.Serialization;

namespace Contiv.Model;

// The REST objects keep Contiv's field names and order (contivmodel), because users script
// against `netctl ... --json` and the REST API. Empty values are left out like Go's omitempty.

/// <summary>A link to another object, as contivmodel renders relations.</summary>
public sealed record ObjectLink(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("key")] string Key);

public sealed class NetworkLinks
{
    [JsonPropertyName("Tenant")]
    public ObjectLink? Tenant { get; set; }
}

public sealed class Tenant
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("defaultNetwork")]
    public string? DefaultNetwork { get; set; }

    [JsonPropertyName("tenantName")]
    public string TenantName { get; set; } = string.Empty;
}

public sealed class Network
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("cfgdTag")]
    public string? CfgdTag { get; set; }

    [JsonPropertyName("encap")]
    public string? Encap { get; set; }

    [JsonPropertyName("gateway")]
    public string? Gateway { get; set; }

    [JsonPropertyName("ipv6Gateway")]
    public string? Ipv6Gateway { get; set; }

    [JsonPropertyName("ipv6Subnet")]
    public string? Ipv6Subnet { get; set; }

    [JsonPropertyName("networkName")]
    public string NetworkName { get; set; } = string.Empty;

    [JsonPropertyName("nwType")]
    public string? NwType { get; set; }

    [JsonPropertyName("pktTag")]
    public int PktTag { get; set; }

    [JsonPropertyName("subnet")]
    public string? Subnet { get; set; }

    [JsonPropertyName("tenantName")]
    public string TenantName { get; set; } = string.Empty;

    [JsonPropertyName("link-sets")]
    public Dictionary<string, string>? LinkSets { get; set; }

    [JsonPropertyName("links")]
    public NetworkLinks? Links { get; set; }
}

public sealed class GlobalSettings
{
    public const string DefaultVlans = "1-4094";
    public const string DefaultVxlans = "1-10000";

    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("arpMode")]
    public string ArpMode { get; set; } = "proxy";

    [JsonPropertyName("fwdMode")]
    public string FwdMode { get; set; } = "bridge";

    [JsonPropertyName("name")]
    public string Name { get; set; } = "global";

    [JsonPropertyName("networkInfraType")]
    public string NetworkInfraType { get; set; } = "default";

    [JsonPropertyName("pvtSubnet")]
    public string PvtSubnet { get; set; } = "172.19.0.0/16";

    [JsonPropertyName("vlans")]
    public string Vlans { get; set; } = DefaultVlans;

    [JsonPropertyName("vxlans")]
    public string Vxlans { get; set; } = DefaultVxlans;
}

/// <summary>One container attachment, as every host sees it (the source of remote FDB/ARP entries).</summary>
public sealed class EndpointOper
{
    [JsonPropertyName("containerID")]
    public string? ContainerId { get; set; }

    [JsonPropertyName("containerName")]
    public string? ContainerName { get; set; }

    [JsonPropertyName("endpointID")]
    public string EndpointId { get; set; } = string.Empty;

    /// <summary>The endpoint's group as Contiv keys it, <c>GROUP:TENANT</c> (e.g. <c>web:default</c>); absent for an endpoint in no group.</summary>
    [JsonPropertyName("endpointGroupKey")]
    public string? EndpointGroupKey { get; set; }

    [JsonPropertyName("homingHost")]
    public string HomingHost { get; set; } = string.Empty;

    /// <summary>Always two entries, IPv4 then IPv6 (empty when none), as Contiv prints it.</summary>
    [JsonPropertyName("ipAddress")]
    public string[] IpAddress { get; set; } = [string.Empty, string.Empty];

    [JsonPropertyName("labels")]
    public string? Labels { get; set; } = "map[]";

    [JsonPropertyName("macAddress")]
    public string? MacAddress { get; set; }

    [JsonPropertyName("network")]
    public string Network { get; set; } = string.Empty;

    /// <summary>The endpoint's group name (Contiv's service name); absent for an endpoint in no group.</summary>
    [JsonPropertyName("serviceName")]
    public string? ServiceName { get; set; }

    /// <summary>The homing host's VTEP address, so peers can program FDB entries without another lookup.</summary>
    [JsonPropertyName("vtepIP")]
    public string? VtepIp { get; set; }

    [JsonPropertyName("interfaceName")]
    public string? InterfaceName { get; set; }
}

public sealed class NetworkOper
{
    [JsonPropertyName("allocatedAddressesCount")]
    public int AllocatedAddressesCount { get; set; }

    [JsonPropertyName("allocatedIPAddresses")]
    public string? AllocatedIpAddresses { get; set; }

    [JsonPropertyName("availableIPAddresses")]
    public string? AvailableIpAddresses { get; set; }

    [JsonPropertyName("endpoints")]
    public List<EndpointOper>? Endpoints { get; set; }

    [JsonPropertyName("externalPktTag")]
    public int ExternalPktTag { get; set; }

    [JsonPropertyName("networkTag")]
    public string? NetworkTag { get; set; }

    [JsonPropertyName("numEndpoints")]
    public int NumEndpoints { get; set; }

    [JsonPropertyName("pktTag")]
    public int PktTag { get; set; }
}

public sealed class NetworkInspect
{
    [JsonPropertyName("Config")]
    public Network Config { get; set; } = new();

    [JsonPropertyName("Oper")]
    public NetworkOper Oper { get; set; } = new();
}

public sealed class TenantOper
{
    [JsonPropertyName("endpointGroups")]
    public int EndpointGroups { get; set; }

    [JsonPropertyName("networks")]
    public int Networks { get; set; }

    [JsonPropertyName("policies")]
    public int Policies { get; set; }

    [JsonPropertyName("totalEndpoints")]
    public int TotalEndpoints { get; set; }

    [JsonPropertyName("totalNetprofiles")]
    public int TotalNetprofiles { get; set; }
}

public sealed class TenantInspect
{
    [JsonPropertyName("Config")]
    public Tenant Config { get; set; } = new();

    [JsonPropertyName("Oper")]
    public TenantOper Oper { get; set; } = new();
}

public sealed class GlobalOper
{
    [JsonPropertyName("clusterMode")]
    public string? ClusterMode { get; set; }

    [JsonPropertyName("numNetworks")]
    public int NumNetworks { get; set; }

    [JsonPropertyName("vlansInUse")]
    public string? VlansInUse { get; set; }

    [JsonPropertyName("vxlansInUse")]
    public string? VxlansInUse { get; set; }
}

public sealed class GlobalInspect
{
    [JsonPropertyName("Config")]
    public GlobalSettings Config { get; set; } = new();

    [JsonPropertyName("Oper")]
    public GlobalOper Oper { get; set; } = new();
}

public sealed class EndpointInspect
{
    [JsonPropertyName("Oper")]
    public EndpointOper Oper { get; set; } = new();
}

/// <summary>The error body of netmaster's REST API.</summary>
public sealed record ApiError([property: JsonPropertyName("error")] string Error);

public sealed class VersionInfo
{
    [JsonPropertyName("Version")]
    public string Version { get; set; } = string.Empty;

    [JsonPropertyName("GitCommit")]
    public string GitCommit { get; set; } = string.Empty;

    [JsonPropertyName("BuildTime")]
    public string BuildTime { get; set; } = string.Empty;
}

/// <summary>A host running netplugin, as netctl host ls shows it.</summary>
public sealed class HostStatus
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("vtepIP")]
    public string? VtepIp { get; set; }

    [JsonPropertyName("lastSeen")]
    public DateTimeOffset LastSeen { get; set; }

    /// <summary><c>alive</c>, or <c>presumed-dead</c> after the netmaster's --host-timeout without a heartbeat.</summary>
    [JsonPropertyName("state")]
    public string State { get; set; } = "alive";

    [JsonPropertyName("endpoints")]
    public int Endpoints { get; set; }
}

/// <summary>The reply of a host removal.</summary>
public sealed class HostRemoval
{
    [JsonPropertyName("reclaimedEndpoints")]
    public int ReclaimedEndpoints { get; set; }
}
