using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Contiv.Model;
using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>An address handed out by the IPAM: the address, its prefix length and its derived MAC.</summary>
public sealed record AddressLease(string Address, int PrefixLength, string MacAddress)
{
    public string Cidr => $"{Address}/{PrefixLength}";
}

/// <summary>
/// The control plane's operations over the shared store: tenants, networks, global settings, address
/// allocation and endpoint records. Every mutation is one optimistic transaction
/// (<see cref="StoreTransaction"/>), so netmaster and every netplugin can call these concurrently
/// from any host without handing out a tag or an address twice.
/// </summary>
public sealed partial class ContivControl(IKeyValueStore store, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>Every committed change (and resync requests), for consumers that react to state, such as the host agent.</summary>
    public IDisposable Subscribe(Action<StoreChange> onChange) => store.Subscribe(string.Empty, onChange);

    /// <summary>This host's Docker network map.</summary>
    public DockerNetworkMap DockerNetworks(string hostName) => new(store, hostName);

    /// <summary>This host's swarm address echoes.</summary>
    public SwarmAddressEchoes SwarmEchoes(string hostName) => new(store, hostName);

    /// <summary>Creates the global settings and the default tenant if they are missing.</summary>
    public async Task InitializeAsync(string? fwdMode = null, CancellationToken ct = default)
    {
        await StoreTransaction.RunAsync(store, [StateKeys.Global, StateKeys.Tenant(Names.DefaultTenant)], snapshot =>
        {
            var writes = new List<KeyWrite>();
            if (snapshot[StateKeys.Global] is null)
            {
                var global = new GlobalSettings();
                if (fwdMode is not null)
                {
                    global.FwdMode = fwdMode;
                }

                NetworkRules.ValidateGlobal(global, new HashSet<int>(), new HashSet<int>());
                writes.Add(Write(StateKeys.Global, global, StateJson.Default.GlobalSettings));
            }

            if (snapshot[StateKeys.Tenant(Names.DefaultTenant)] is null)
            {
                writes.Add(Write(StateKeys.Tenant(Names.DefaultTenant), new Tenant { Key = Names.DefaultTenant, TenantName = Names.DefaultTenant }, StateJson.Default.Tenant));
            }

            return new TransactionPlan<bool>(writes, true);
        }, ct);
    }

    // ---- tenants -------------------------------------------------------------------------------

    public async Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken ct = default)
    {
        var tenants = (await store.ListAsync(StateKeys.TenantsPrefix, ct))
            .Select(kv => Read(kv.Value, StateJson.Default.Tenant))
            .ToList();

        // The default tenant first (it always exists), then the others by name.
        return [.. tenants.OrderBy(t => t.TenantName == Names.DefaultTenant ? 0 : 1).ThenBy(t => t.TenantName, StringComparer.Ordinal)];
    }

    public async Task<Tenant> GetTenantAsync(string name, CancellationToken ct = default)
    {
        Names.ValidateTenant(name);
        var value = await GetOneAsync(StateKeys.Tenant(name), ct);
        return value is null ? throw TenantNotFound(name) : Read(value, StateJson.Default.Tenant);
    }

    public Task<Tenant> CreateTenantAsync(Tenant tenant, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant.TenantName);
        tenant.Key = tenant.TenantName;
        var key = StateKeys.Tenant(tenant.TenantName);
        return StoreTransaction.RunAsync(store, [key], snapshot =>
        {
            if (snapshot[key] is not null)
            {
                throw ContivException.Conflict($"tenant {tenant.TenantName} already exists");
            }

            return new TransactionPlan<Tenant>([Write(key, tenant, StateJson.Default.Tenant)], tenant);
        }, ct);
    }

    public async Task DeleteTenantAsync(string name, CancellationToken ct = default)
    {
        Names.ValidateTenant(name);
        if (name == Names.DefaultTenant)
        {
            throw ContivException.Invalid("the default tenant cannot be deleted");
        }

        var key = StateKeys.Tenant(name);
        var networks = await ListNetworksAsync(name, ct);
        if (networks.Count > 0)
        {
            throw ContivException.Conflict(
                $"tenant {name} has {networks.Count} network(s) ({string.Join(", ", networks.Select(n => n.Config.NetworkName))}); delete them first");
        }

        await RunTenantAsync(name, [key], [], (view, snapshot, _) =>
        {
            if (snapshot[key] is null)
            {
                throw TenantNotFound(name);
            }

            CheckTenantEmpty(view);
            return new TransactionPlan<bool>([new KeyWrite(key, null)], true);
        }, ct);

        // The revision counter goes with the tenant (unconditionally: a tenant re-created later starts its count afresh).
        await store.TryCommitAsync([], [new KeyWrite(StateKeys.PolicyRevision(name), null)], ct);
    }

    public async Task<TenantInspect> InspectTenantAsync(string name, CancellationToken ct = default)
    {
        var tenant = await GetTenantAsync(name, ct);
        var networks = await ListNetworksAsync(name, ct);
        var endpoints = 0;
        foreach (var network in networks)
        {
            endpoints += (await ListEndpointsAsync(network.NetworkId, ct)).Count;
        }

        var view = await ReadViewAsync(name, ct);
        return new TenantInspect
        {
            Config = tenant,
            Oper = new TenantOper
            {
                EndpointGroups = view.Groups.Count,
                Networks = networks.Count,
                Policies = view.Policies.Count,
                TotalEndpoints = endpoints,
                TotalNetprofiles = view.NetProfiles.Count,
            },
        };
    }

    // ---- global settings -------------------------------------------------------------------------

    public async Task<GlobalSettings> GetGlobalAsync(CancellationToken ct = default)
    {
        var value = await GetOneAsync(StateKeys.Global, ct);
        var global = value is null ? new GlobalSettings() : Read(value, StateJson.Default.GlobalSettings);

        // Contiv's object always says "key": "global", whatever a client posted or omitted.
        global.Key = "global";
        return global;
    }

    public Task<GlobalSettings> SetGlobalAsync(GlobalSettings update, CancellationToken ct = default)
    {
        update.Name = "global";
        update.Key = "global";
        string[] keys = [StateKeys.Global, StateKeys.Tags("vlan"), StateKeys.Tags("vxlan")];
        return StoreTransaction.RunAsync(store, keys, snapshot =>
        {
            NetworkRules.ValidateGlobal(
                update,
                RangeText.ParseNumberSet(snapshot[StateKeys.Tags("vlan")]),
                RangeText.ParseNumberSet(snapshot[StateKeys.Tags("vxlan")]));
            return new TransactionPlan<GlobalSettings>([Write(StateKeys.Global, update, StateJson.Default.GlobalSettings)], update);
        }, ct);
    }

    public async Task<GlobalInspect> InspectGlobalAsync(CancellationToken ct = default)
    {
        var global = await GetGlobalAsync(ct);
        var snapshot = await store.GetAsync([StateKeys.Tags("vlan"), StateKeys.Tags("vxlan")], ct);
        var networks = await ListNetworksAsync(null, ct);
        return new GlobalInspect
        {
            Config = global,
            Oper = new GlobalOper
            {
                ClusterMode = "docker",
                NumNetworks = networks.Count,
                VlansInUse = NullIfEmpty(snapshot[StateKeys.Tags("vlan")]),
                VxlansInUse = NullIfEmpty(snapshot[StateKeys.Tags("vxlan")]),
            },
        };
    }

    // ---- networks --------------------------------------------------------------------------------

    public Task<NetworkRecord> CreateNetworkAsync(Network network, CancellationToken ct = default)
    {
        var subnet = NetworkRules.Normalize(network);
        var networkId = Names.NetworkId(network.TenantName, network.NetworkName);
        var networkKey = StateKeys.Network(network.TenantName, network.NetworkName);
        var tenantKey = StateKeys.Tenant(network.TenantName);
        var tagsKey = StateKeys.Tags(network.Encap!);
        var ipamKey = StateKeys.Ipam(networkId);
        var sameNameGroupKey = StateKeys.Group(network.TenantName, network.NetworkName);
        string[] keys = [StateKeys.Global, tenantKey, networkKey, tagsKey, ipamKey, sameNameGroupKey];

        return StoreTransaction.RunAsync(store, keys, snapshot =>
        {
            if (snapshot[tenantKey] is null)
            {
                throw TenantNotFound(network.TenantName);
            }

            if (snapshot[networkKey] is not null)
            {
                throw ContivException.Conflict($"network {network.Key} already exists");
            }

            // Both would be the same Docker network name.
            if (snapshot[sameNameGroupKey] is not null)
            {
                throw ContivException.Conflict($"Network {network.NetworkName} conflicts with the endpointGroup name");
            }

            var global = snapshot[StateKeys.Global] is { } g ? Read(g, StateJson.Default.GlobalSettings) : new GlobalSettings();
            var tagsInUse = RangeText.ParseNumberSet(snapshot[tagsKey]);
            var tag = NetworkRules.AllocateTag(global, network.Encap!, network.PktTag, tagsInUse);
            tagsInUse.Add(tag);

            var gatewayIndex = network.Gateway is null ? 0 : subnet.ParseHostIndex(network.Gateway, "gateway");
            var record = new NetworkRecord { Config = network, Tag = tag, CreatedAt = _time.GetUtcNow() };
            var ipam = new IpamRecord { Subnet = subnet.Text, GatewayIndex = gatewayIndex };
            return new TransactionPlan<NetworkRecord>(
                [
                    Write(networkKey, record, StateJson.Default.NetworkRecord),
                    new KeyWrite(tagsKey, RangeText.FormatNumbers(tagsInUse)),
                    Write(ipamKey, ipam, StateJson.Default.IpamRecord),
                ],
                record)
            {
                PoolWrites = [new PoolWrite(StateKeys.IpamPool(networkId), PoolSpec(subnet, gatewayIndex, taken: []))],
            };
        }, ct);
    }

    public async Task DeleteNetworkAsync(string tenant, string name, CancellationToken ct = default)
    {
        var existing = await GetNetworkAsync(tenant, name, ct);
        var networkId = existing.NetworkId;
        var endpoints = await ListEndpointsAsync(networkId, ct);
        if (endpoints.Count > 0)
        {
            throw ContivException.Conflict(
                $"network {existing.Config.Key} has {endpoints.Count} active endpoint(s) ({string.Join(", ", endpoints.Select(e => e.ContainerName ?? ShortId.Of(e.EndpointId)))}); remove the containers first");
        }

        var networkKey = StateKeys.Network(tenant, name);
        var tagsKey = StateKeys.Tags(existing.Config.Encap!);
        var ipamKey = StateKeys.Ipam(networkId);
        var poolName = StateKeys.IpamPool(networkId);
        var leases = (await store.ListAsync(StateKeys.LeasesOf(networkId), ct)).Select(kv => new KeyWrite(kv.Key, null)).ToList();
        await RunTenantAsync(tenant, [networkKey, tagsKey, ipamKey], [poolName], (view, snapshot, pools) =>
        {
            if (snapshot[networkKey] is not { } current)
            {
                throw NetworkNotFound(tenant, name);
            }

            var record = Read(current, StateJson.Default.NetworkRecord);
            CheckNetworkUnused(view, name);

            // The commit is conditioned on the pool's version, so checking the addresses here closes
            // the race with a container starting while the network is being deleted.
            if (snapshot[ipamKey] is { } ipamText)
            {
                var ipam = Read(ipamText, StateJson.Default.IpamRecord);
                var inUse = AddressesInUse(ipam, pools[poolName]);
                if (inUse.Count > 0)
                {
                    throw ContivException.Conflict(
                        $"network {record.Config.Key} has {inUse.Count} active endpoint(s) (addresses {FormatAddresses(Ipv4Subnet.Parse(record.Config.Subnet), inUse)} in use); remove the containers first");
                }
            }

            var tags = RangeText.ParseNumberSet(snapshot[tagsKey]);
            tags.Remove(record.Tag);
            return new TransactionPlan<bool>(
                [new KeyWrite(networkKey, null), new KeyWrite(tagsKey, tags.Count == 0 ? null : RangeText.FormatNumbers(tags)), new KeyWrite(ipamKey, null), .. leases],
                true)
            {
                PoolWrites = pools[poolName] is null ? [] : [new PoolWrite(poolName, null)],
            };
        }, ct, bumpRevision: false);
    }

    /// <summary>Networks of one tenant (or all when null), ordered by tenant then name.</summary>
    public async Task<IReadOnlyList<NetworkRecord>> ListNetworksAsync(string? tenant, CancellationToken ct = default)
    {
        var prefix = tenant is null ? StateKeys.NetworksPrefix : StateKeys.NetworksOfTenant(tenant);
        return [.. (await store.ListAsync(prefix, ct)).Select(kv => Read(kv.Value, StateJson.Default.NetworkRecord))];
    }

    public async Task<NetworkRecord?> FindNetworkAsync(string tenant, string name, CancellationToken ct = default)
    {
        var value = await GetOneAsync(StateKeys.Network(tenant, name), ct);
        return value is null ? null : Read(value, StateJson.Default.NetworkRecord);
    }

    public async Task<NetworkRecord> GetNetworkAsync(string tenant, string name, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateNetwork(name);
        return await FindNetworkAsync(tenant, name, ct) ?? throw NetworkNotFound(tenant, name);
    }

    public async Task<NetworkInspect> InspectNetworkAsync(string tenant, string name, CancellationToken ct = default)
    {
        var record = await GetNetworkAsync(tenant, name, ct);
        var ipamText = await GetOneAsync(StateKeys.Ipam(record.NetworkId), ct);
        var endpoints = (await ListEndpointsAsync(record.NetworkId, ct)).ToList();
        var oper = new NetworkOper
        {
            ExternalPktTag = record.Tag,
            PktTag = record.Tag,
            NetworkTag = record.Config.CfgdTag ?? record.NetworkId,
            NumEndpoints = endpoints.Count,
            Endpoints = endpoints.Count == 0 ? null : endpoints,
        };

        if (ipamText is not null)
        {
            var ipam = Read(ipamText, StateJson.Default.IpamRecord);
            var subnet = Ipv4Subnet.Parse(ipam.Subnet);
            var pool = await GetPoolAsync(record.NetworkId, ipam, ct);
            var isTaken = await AddressUseAsync(record.NetworkId, ipam, subnet, pool, ct);
            var allocated = Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1).Where(isTaken).ToList();
            var available = Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1).Where(i => !isTaken(i));
            oper.AllocatedIpAddresses = NullIfEmpty(FormatAddresses(subnet, allocated));
            oper.AvailableIpAddresses = NullIfEmpty(FormatAddresses(subnet, available));
            oper.AllocatedAddressesCount = allocated.Count(i => i != ipam.GatewayIndex);
        }

        return new NetworkInspect { Config = record.Config, Oper = oper };
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static List<int> AddressesInUse(IpamRecord ipam, AddressPool? pool)
    {
        var subnet = Ipv4Subnet.Parse(ipam.Subnet);
        var taken = pool ?? LegacyPool(ipam, subnet);
        return [.. Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1)
            .Where(i => taken.IsTaken(i) && i != ipam.GatewayIndex)];
    }

    /// <summary>A network's pool: network, broadcast, outside the range and the gateway reserved, plus <paramref name="taken"/>.</summary>
    private static AddressPoolSpec PoolSpec(Ipv4Subnet subnet, int gatewayIndex, IEnumerable<int> taken)
    {
        var reserved = Enumerable.Range(0, subnet.Size).Where(i => i < subnet.FirstHostIndex || i > subnet.LastHostIndex);
        if (gatewayIndex != 0)
        {
            reserved = reserved.Append(gatewayIndex);
        }

        return new AddressPoolSpec(subnet.NetworkAddress, subnet.Size, [.. reserved.Concat(taken).Distinct()]);
    }

    /// <summary>The pool a record from before address pools describes (its bitmap), or a fresh one when it has none.</summary>
    private static AddressPool LegacyPool(IpamRecord ipam, Ipv4Subnet subnet)
    {
        var taken = new List<int>();
        if (ipam.Bitmap is not null)
        {
            var bitmap = AddressBitmap.Deserialize(ipam.Bitmap, subnet.Size);
            taken.AddRange(Enumerable.Range(0, subnet.Size).Where(bitmap.IsTaken));
        }

        return AddressPool.Create(PoolSpec(subnet, ipam.GatewayIndex, taken));
    }

    private async Task<IpamRecord?> GetIpamAsync(string networkId, CancellationToken ct) =>
        await GetOneAsync(StateKeys.Ipam(networkId), ct) is { } text ? Read(text, StateJson.Default.IpamRecord) : null;

    /// <summary>The network's pool as the store holds it (or as its legacy record describes it, not yet moved).</summary>
    private async Task<AddressPool> GetPoolAsync(string networkId, IpamRecord ipam, CancellationToken ct) =>
        await store.GetPoolAsync(StateKeys.IpamPool(networkId), ct) ?? LegacyPool(ipam, Ipv4Subnet.Parse(ipam.Subnet));

    /// <summary>Takes from the network's pool, first moving a pre-pool record's bitmap into the store when there is no pool yet.</summary>
    private async Task<PoolTakeResult> TakeAsync(string networkId, PoolTake take, CancellationToken ct)
    {
        var result = await store.TakeFromPoolAsync(take, ct);
        if (result.Outcome == PoolTakeOutcome.NoPool && await MovePoolIntoStoreAsync(networkId, ct))
        {
            result = await store.TakeFromPoolAsync(take, ct);
        }

        return result;
    }

    /// <summary>
    /// Upgrades a network created before address pools: creates its pool from the record's bitmap
    /// and drops the bitmap, in one commit. Returns false when the network does not exist.
    /// </summary>
    private Task<bool> MovePoolIntoStoreAsync(string networkId, CancellationToken ct)
    {
        var ipamKey = StateKeys.Ipam(networkId);
        var poolName = StateKeys.IpamPool(networkId);
        return StoreTransaction.RunAsync(store, [ipamKey], [poolName], (snapshot, pools) =>
        {
            if (snapshot[ipamKey] is not { } text)
            {
                return new TransactionPlan<bool>([], false);
            }

            var ipam = Read(text, StateJson.Default.IpamRecord);
            if (pools[poolName] is not null && ipam.Bitmap is null)
            {
                return new TransactionPlan<bool>([], true);
            }

            var subnet = Ipv4Subnet.Parse(ipam.Subnet);
            // A pool that exists already is the truth (a record's stale bitmap never overrides it).
            var pool = pools[poolName] ?? LegacyPool(ipam, subnet);
            ipam.Bitmap = null;
            return new TransactionPlan<bool>([Write(ipamKey, ipam, StateJson.Default.IpamRecord)], true)
            {
                PoolWrites = pools[poolName] is null ? [new PoolWrite(poolName, new AddressPoolSpec(pool.FirstAddress, pool.Size, [.. pool.TakenSlots()]))] : [],
            };
        }, ct);
    }

    private static int PrefixLength(int size) => 32 - System.Numerics.BitOperations.Log2((uint)size);

    private static AddressLeaseRecord ReadLease(KeyValuePair<string, string> entry)
    {
        var lease = Read(entry.Value, StateJson.Default.AddressLeaseRecord);
        lease.Address = entry.Key[(entry.Key.LastIndexOf('/') + 1)..];
        return lease;
    }

    private static string FormatAddresses(Ipv4Subnet subnet, IEnumerable<int> indexes) =>
        RangeText.Format(indexes, i => Ipv4Subnet.FormatAddress(subnet.AddressAt(i)));

    private async Task<string?> GetOneAsync(string key, CancellationToken ct) => (await store.GetAsync([key], ct))[key];

    private static KeyWrite Write<T>(string key, T value, JsonTypeInfo<T> type) => new(key, JsonSerializer.Serialize(value, type));

    private static T Read<T>(string json, JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(json, type) ?? throw new InvalidDataException($"corrupt state value: {json}");

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static ContivException TenantNotFound(string tenant) => ContivException.NotFound($"tenant {tenant} does not exist");

    private static ContivException NetworkNotFound(string tenant, string name) =>
        ContivException.NotFound($"network {Names.NetworkKey(tenant, name)} does not exist");

    private static ContivException NetworkIdNotFound(string networkId) => ContivException.NotFound($"network {networkId} does not exist");
}
