using System.Text.Json.Serialization;
using Contiv.Model;

namespace Contiv.ControlPlane;

/// <summary>Where each piece of state lives in the key/value store.</summary>
public static class StateKeys
{
    public const string Global = "obj/global";
    public const string TenantsPrefix = "obj/tenants/";
    public const string NetworksPrefix = "obj/networks/";
    public const string IpamPrefix = "state/ipam/";
    public const string EndpointsPrefix = "state/eps/";
    public const string HostsPrefix = "state/hosts/";

    public static string Tenant(string tenant) => TenantsPrefix + tenant;

    public static string Network(string tenant, string network) => NetworksPrefix + Names.NetworkKey(tenant, network);

    public static string NetworksOfTenant(string tenant) => NetworksPrefix + tenant + ":";

    /// <summary>Tags in use per encapsulation, as a compact number set ("1-3,112").</summary>
    public static string Tags(string encap) => "state/tags/" + encap;

    public static string Ipam(string networkId) => IpamPrefix + networkId;

    public static string EndpointsOf(string networkId) => EndpointsPrefix + networkId + "/";

    public static string Endpoint(string networkId, string endpointId) => EndpointsOf(networkId) + endpointId;

    public static string Host(string host) => HostsPrefix + host;

    public const string LeasesPrefix = "state/leases/";

    /// <summary>One host's Docker network ids and the Contiv networks they stand for (ids are per engine).</summary>
    public static string DockerNetworksOf(string host) => $"state/docknets/{host}/";

    /// <summary>A node's use of an address the swarm manager allocated (see <see cref="SwarmAddressEchoes"/>).</summary>
    public static string SwarmEcho(string networkId, string address, string host) => $"state/swarmechoes/{networkId}/{address}/{host}";

    /// <summary>Who took an address and when: lets a host reclaim addresses whose container never came (or went while it was down).</summary>
    public static string Lease(string networkId, string address) => LeasesOf(networkId) + address;

    public static string LeasesOf(string networkId) => $"{LeasesPrefix}{networkId}/";

    /// <summary>
    /// The network's address pool (a store-held bitmap, see <see cref="Contiv.State.AddressPool"/>):
    /// named like its IPAM record, in the stores' separate pool namespace.
    /// </summary>
    public static string IpamPool(string networkId) => Ipam(networkId);

    public const string GroupsPrefix = "obj/groups/";
    public const string PoliciesPrefix = "obj/policies/";
    public const string RulesPrefix = "obj/rules/";
    public const string NetProfilesPrefix = "obj/netprofiles/";
    public const string PolicyRevisionsPrefix = "state/policyrev/";

    public static string Group(string tenant, string group) => GroupsPrefix + tenant + ":" + group;

    public static string GroupsOfTenant(string tenant) => GroupsPrefix + tenant + ":";

    public static string Policy(string tenant, string policy) => PoliciesPrefix + tenant + ":" + policy;

    public static string PoliciesOfTenant(string tenant) => PoliciesPrefix + tenant + ":";

    public static string Rule(string tenant, string policy, string ruleId) => RulesOfPolicy(tenant, policy) + ruleId;

    public static string RulesOfPolicy(string tenant, string policy) => RulesPrefix + tenant + ":" + policy + ":";

    public static string RulesOfTenant(string tenant) => RulesPrefix + tenant + ":";

    public static string NetProfile(string tenant, string profile) => NetProfilesPrefix + tenant + ":" + profile;

    public static string NetProfilesOfTenant(string tenant) => NetProfilesPrefix + tenant + ":";

    /// <summary>
    /// A counter every change of a tenant's groups, policies, rules or netprofiles increments in its
    /// commit. Those changes check each other's objects (a policy in use, a group named by a rule),
    /// so each (and a network delete, which checks for groups and rules) commits on the condition
    /// that the counter is still the one it read with the tenant's objects. Also a cheap key to watch
    /// for "this tenant's policy objects changed" (endpoints and networks have their own keys).
    /// </summary>
    public static string PolicyRevision(string tenant) => PolicyRevisionsPrefix + tenant;

    /// <summary>Whether a key holds a group, policy, rule or netprofile (what hosts compile their rules from).</summary>
    public static bool IsPolicyObject(string key) =>
        key.StartsWith(GroupsPrefix, StringComparison.Ordinal)
        || key.StartsWith(PoliciesPrefix, StringComparison.Ordinal)
        || key.StartsWith(RulesPrefix, StringComparison.Ordinal)
        || key.StartsWith(NetProfilesPrefix, StringComparison.Ordinal);

    /// <summary>The address pool of a group with an ipPool: its range only, in the pool namespace ('@' never occurs in names).</summary>
    public static string GroupPool(string networkId, string group) => IpamPool(networkId) + "@" + group;
}

/// <summary>The host that allocated an address, and when.</summary>
public sealed class AddressLeaseRecord
{
    public string NetworkId { get; set; } = string.Empty;

    /// <summary>
    /// Taken from the lease's key, not stored in its value: the store writes the lease in the same
    /// step as it picks the address (<see cref="Contiv.State.PoolTake"/>), before anyone knows it.
    /// </summary>
    [JsonIgnore]
    public string Address { get; set; } = string.Empty;

    public string Host { get; set; } = string.Empty;

    public DateTimeOffset At { get; set; }
}

/// <summary>A network as stored: its configuration plus the tag allocated to it.</summary>
public sealed class NetworkRecord
{
    public Network Config { get; set; } = new();

    /// <summary>The VNI (vxlan) or VLAN id (vlan) in use on the wire.</summary>
    public int Tag { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    [JsonIgnore]
    public string NetworkId => Names.NetworkId(Config.TenantName, Config.NetworkName);
}

/// <summary>
/// The address configuration of one network. Which addresses are taken lives in the network's
/// address pool (<see cref="StateKeys.IpamPool"/>), written with this record and deleted with it;
/// the record itself never changes during the network's life, so allocations do not rewrite it.
/// </summary>
public sealed class IpamRecord
{
    public string Subnet { get; set; } = string.Empty;

    /// <summary>Host index of the configured gateway, 0 when the network has none.</summary>
    public int GatewayIndex { get; set; }

    /// <summary>
    /// Only in records written before address pools: the taken host indexes (base64 of a
    /// least-significant-bit-first bitmap). Moved into the pool, and dropped, on first use.
    /// </summary>
    public string? Bitmap { get; set; }

    /// <summary>Next IPv6 host id to hand out (Contiv counts up rather than reusing).</summary>
    public long NextIpv6HostId { get; set; } = 1;

    /// <summary>
    /// The ipPool of each group of the network that has one (group name to <c>first-last</c>): those
    /// addresses are taken in the network's pool and handed out by the group's own pool
    /// (<see cref="StateKeys.GroupPool"/>). Lets release and reserve find an address's pool.
    /// </summary>
    public SortedDictionary<string, string>? GroupPools { get; set; }

    /// <summary>
    /// Counts rewrites of the network's pool by group create/delete. A rewritten pool starts again at
    /// version 1, so this changes the record to keep commits conditioned on record and pool from
    /// mistaking a rewritten pool for the one they read.
    /// </summary>
    public long? PoolGeneration { get; set; }
}

/// <summary>A host running netplugin, registered so peers know its VTEP and can tell if it is alive.</summary>
public sealed class HostRecord
{
    public string Name { get; set; } = string.Empty;

    public string? VtepIp { get; set; }

    public string? VlanInterface { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset LastSeen { get; set; }

    /// <summary>
    /// Whether this host's agent creates the Docker side of networks and groups on its engine
    /// (local scope); false in swarm mode, where Docker networks are swarm-scoped, and in records of
    /// agents that predate the field (nobody waits for them).
    /// </summary>
    public bool CreatesDockerNetworks { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NetworkRecord))]
[JsonSerializable(typeof(IpamRecord))]
[JsonSerializable(typeof(HostRecord))]
[JsonSerializable(typeof(AddressLeaseRecord))]
[JsonSerializable(typeof(Tenant))]
[JsonSerializable(typeof(GlobalSettings))]
[JsonSerializable(typeof(EndpointOper))]
[JsonSerializable(typeof(EndpointGroupConfig))]
[JsonSerializable(typeof(PolicyConfig))]
[JsonSerializable(typeof(RuleObject))]
[JsonSerializable(typeof(NetProfileConfig))]
public sealed partial class StateJson : JsonSerializerContext;
