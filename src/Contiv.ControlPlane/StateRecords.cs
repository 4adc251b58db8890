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
}

/// <summary>A host running netplugin, registered so peers know its VTEP and can tell if it is alive.</summary>
public sealed class HostRecord
{
    public string Name { get; set; } = string.Empty;

    public string? VtepIp { get; set; }

    public string? VlanInterface { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset LastSeen { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NetworkRecord))]
[JsonSerializable(typeof(IpamRecord))]
[JsonSerializable(typeof(HostRecord))]
[JsonSerializable(typeof(AddressLeaseRecord))]
[JsonSerializable(typeof(Tenant))]
[JsonSerializable(typeof(GlobalSettings))]
[JsonSerializable(typeof(EndpointOper))]
public sealed partial class StateJson : JsonSerializerContext;
