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
public sealed class ContivControl(IKeyValueStore store, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public IKeyValueStore Store => store;

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

        await StoreTransaction.RunAsync(store, [key], snapshot =>
            snapshot[key] is null
                ? throw TenantNotFound(name)
                : new TransactionPlan<bool>([new KeyWrite(key, null)], true), ct);
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

        return new TenantInspect { Config = tenant, Oper = new TenantOper { Networks = networks.Count, TotalEndpoints = endpoints } };
    }

    // ---- global settings -------------------------------------------------------------------------

    public async Task<GlobalSettings> GetGlobalAsync(CancellationToken ct = default)
    {
        var value = await GetOneAsync(StateKeys.Global, ct);
        return value is null ? new GlobalSettings { Key = "global" } : Read(value, StateJson.Default.GlobalSettings);
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
        string[] keys = [StateKeys.Global, tenantKey, networkKey, tagsKey, ipamKey];

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

            var global = snapshot[StateKeys.Global] is { } g ? Read(g, StateJson.Default.GlobalSettings) : new GlobalSettings();
            var tagsInUse = RangeText.ParseNumberSet(snapshot[tagsKey]);
            var tag = NetworkRules.AllocateTag(global, network.Encap!, network.PktTag, tagsInUse);
            tagsInUse.Add(tag);

            var bitmap = AddressBitmap.Create(subnet);
            var gatewayIndex = network.Gateway is null ? 0 : subnet.ParseHostIndex(network.Gateway, "gateway");
            if (gatewayIndex != 0)
            {
                bitmap.Take(gatewayIndex);
            }

            var record = new NetworkRecord { Config = network, Tag = tag, CreatedAt = _time.GetUtcNow() };
            var ipam = new IpamRecord { Subnet = subnet.Text, GatewayIndex = gatewayIndex, Bitmap = bitmap.Serialize() };
            return new TransactionPlan<NetworkRecord>(
                [
                    Write(networkKey, record, StateJson.Default.NetworkRecord),
                    new KeyWrite(tagsKey, RangeText.FormatNumbers(tagsInUse)),
                    Write(ipamKey, ipam, StateJson.Default.IpamRecord),
                ],
                record);
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
                $"network {existing.Config.Key} has {endpoints.Count} active endpoint(s) ({string.Join(", ", endpoints.Select(e => e.ContainerName ?? e.EndpointId[..Math.Min(12, e.EndpointId.Length)]))}); remove the containers first");
        }

        var networkKey = StateKeys.Network(tenant, name);
        var tagsKey = StateKeys.Tags(existing.Config.Encap!);
        var ipamKey = StateKeys.Ipam(networkId);
        var leases = (await store.ListAsync(StateKeys.LeasesPrefix + networkId + "/", ct)).Select(kv => new KeyWrite(kv.Key, null)).ToList();
        await StoreTransaction.RunAsync(store, [networkKey, tagsKey, ipamKey], snapshot =>
        {
            if (snapshot[networkKey] is not { } current)
            {
                throw NetworkNotFound(tenant, name);
            }

            var record = Read(current, StateJson.Default.NetworkRecord);

            // Addresses are taken atomically with this key, so checking them here closes the race
            // with a container starting while the network is being deleted.
            if (snapshot[ipamKey] is { } ipamText)
            {
                var inUse = AddressesInUse(Read(ipamText, StateJson.Default.IpamRecord));
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
                true);
        }, ct);
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
            var bitmap = AddressBitmap.Deserialize(ipam.Bitmap, subnet.Size);
            var allocated = Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1).Where(bitmap.IsTaken).ToList();
            var available = Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1).Where(i => !bitmap.IsTaken(i));
            oper.AllocatedIpAddresses = NullIfEmpty(FormatAddresses(subnet, allocated));
            oper.AvailableIpAddresses = NullIfEmpty(FormatAddresses(subnet, available));
            oper.AllocatedAddressesCount = allocated.Count(i => i != ipam.GatewayIndex);
        }

        return new NetworkInspect { Config = record.Config, Oper = oper };
    }

    // ---- addresses -------------------------------------------------------------------------------

    /// <summary>
    /// Takes an address in a network: <paramref name="requested"/> when given (refused if taken),
    /// otherwise the lowest free one.
    /// </summary>
    public Task<AddressLease> AllocateAddressAsync(string networkId, string? requested, CancellationToken ct = default) =>
        AllocateAddressAsync(networkId, requested, holder: null, ct);

    /// <summary>
    /// As above; with a <paramref name="holder"/> host, a lease naming it is written in the same
    /// commit, so that host can later reclaim the address if no container ever uses it.
    /// </summary>
    public Task<AddressLease> AllocateAddressAsync(string networkId, string? requested, string? holder, CancellationToken ct = default)
    {
        var ipamKey = StateKeys.Ipam(networkId);
        return StoreTransaction.RunAsync(store, [ipamKey], snapshot =>
        {
            var ipam = snapshot[ipamKey] is { } text ? Read(text, StateJson.Default.IpamRecord) : throw NetworkIdNotFound(networkId);
            var subnet = Ipv4Subnet.Parse(ipam.Subnet);
            var bitmap = AddressBitmap.Deserialize(ipam.Bitmap, subnet.Size);
            int index;
            if (!string.IsNullOrEmpty(requested))
            {
                index = subnet.ParseHostIndex(requested, "requested address");
                if (bitmap.IsTaken(index))
                {
                    throw ContivException.Conflict(index == ipam.GatewayIndex
                        ? $"address {requested} is the gateway of network {networkId}"
                        : $"address {requested} is already in use in network {networkId}");
                }
            }
            else
            {
                index = bitmap.LowestFree();
                if (index < 0)
                {
                    throw ContivException.Conflict($"auto allocation failed - address exhaustion in subnet {subnet.Cidr} of network {networkId}");
                }
            }

            bitmap.Take(index);
            ipam.Bitmap = bitmap.Serialize();
            var address = subnet.AddressAt(index);
            var allocated = Ipv4Subnet.FormatAddress(address);
            List<KeyWrite> writes = [Write(ipamKey, ipam, StateJson.Default.IpamRecord)];
            if (holder is not null)
            {
                writes.Add(Write(StateKeys.Lease(networkId, allocated), new AddressLeaseRecord { NetworkId = networkId, Address = allocated, Host = holder, At = _time.GetUtcNow() }, StateJson.Default.AddressLeaseRecord));
            }

            return new TransactionPlan<AddressLease>(writes, new AddressLease(allocated, subnet.PrefixLength, MacAddress.FromIPv4(address)));
        }, ct);
    }

    /// <summary>
    /// Makes sure <paramref name="address"/> is taken in the network's IPAM: takes it when free
    /// (an address Docker got elsewhere) and does nothing when already taken (the usual case: our
    /// RequestAddress took it). Returns true when it had to take it.
    /// </summary>
    public Task<bool> ReserveAddressAsync(string networkId, string address, CancellationToken ct = default)
    {
        var ipamKey = StateKeys.Ipam(networkId);
        return StoreTransaction.RunAsync(store, [ipamKey], snapshot =>
        {
            var ipam = snapshot[ipamKey] is { } text ? Read(text, StateJson.Default.IpamRecord) : throw NetworkIdNotFound(networkId);
            var subnet = Ipv4Subnet.Parse(ipam.Subnet);
            var index = subnet.ParseHostIndex(address, "endpoint address");
            var bitmap = AddressBitmap.Deserialize(ipam.Bitmap, subnet.Size);
            if (bitmap.IsTaken(index))
            {
                return new TransactionPlan<bool>([], false);
            }

            bitmap.Take(index);
            ipam.Bitmap = bitmap.Serialize();
            return new TransactionPlan<bool>([Write(ipamKey, ipam, StateJson.Default.IpamRecord)], true);
        }, ct);
    }

    /// <summary>Frees an address. Unknown networks and free addresses are not errors: release is idempotent.</summary>
    public Task<bool> ReleaseAddressAsync(string networkId, string address, CancellationToken ct = default)
    {
        var ipamKey = StateKeys.Ipam(networkId);
        return StoreTransaction.RunAsync(store, [ipamKey], snapshot =>
        {
            if (snapshot[ipamKey] is not { } text)
            {
                return new TransactionPlan<bool>([], false);
            }

            var ipam = Read(text, StateJson.Default.IpamRecord);
            var subnet = Ipv4Subnet.Parse(ipam.Subnet);
            if (!Ipv4Subnet.TryParseAddress(address, out var ip) || !subnet.Contains(ip))
            {
                throw ContivException.Invalid($"address {address} is not inside subnet {subnet.Cidr} of network {networkId}");
            }

            var index = subnet.IndexOf(ip);
            var bitmap = AddressBitmap.Deserialize(ipam.Bitmap, subnet.Size);

            // The gateway stays reserved for the network's lifetime; network/broadcast/out-of-range
            // indexes are never free.
            if (index == ipam.GatewayIndex || index < subnet.FirstHostIndex || index > subnet.LastHostIndex || !bitmap.IsTaken(index))
            {
                return new TransactionPlan<bool>([], false);
            }

            bitmap.Free(index);
            ipam.Bitmap = bitmap.Serialize();
            return new TransactionPlan<bool>(
                [Write(ipamKey, ipam, StateJson.Default.IpamRecord), new KeyWrite(StateKeys.Lease(networkId, Ipv4Subnet.FormatAddress(ip)), null)],
                true);
        }, ct);
    }

    // ---- endpoints -------------------------------------------------------------------------------

    public Task PutEndpointAsync(EndpointOper endpoint, CancellationToken ct = default)
    {
        var key = StateKeys.Endpoint(endpoint.Network, endpoint.EndpointId);
        return store.TryCommitAsync([], [Write(key, endpoint, StateJson.Default.EndpointOper)], ct);
    }

    public Task<bool> DeleteEndpointAsync(string networkId, string endpointId, CancellationToken ct = default)
    {
        var key = StateKeys.Endpoint(networkId, endpointId);
        return StoreTransaction.RunAsync(store, [key], snapshot =>
            new TransactionPlan<bool>(snapshot[key] is null ? [] : [new KeyWrite(key, null)], snapshot[key] is not null), ct);
    }

    public async Task<EndpointOper?> GetEndpointAsync(string networkId, string endpointId, CancellationToken ct = default)
    {
        var value = await GetOneAsync(StateKeys.Endpoint(networkId, endpointId), ct);
        return value is null ? null : Read(value, StateJson.Default.EndpointOper);
    }

    public async Task<IReadOnlyList<EndpointOper>> ListEndpointsAsync(string? networkId, CancellationToken ct = default)
    {
        var prefix = networkId is null ? StateKeys.EndpointsPrefix : StateKeys.EndpointsOf(networkId);
        return [.. (await store.ListAsync(prefix, ct)).Select(kv => Read(kv.Value, StateJson.Default.EndpointOper))];
    }

    /// <summary>Finds an endpoint by Docker endpoint id (or a unique prefix of it) in any network.</summary>
    public async Task<EndpointOper> FindEndpointAsync(string endpointId, CancellationToken ct = default)
    {
        var matches = (await ListEndpointsAsync(null, ct)).Where(e => e.EndpointId.StartsWith(endpointId, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw ContivException.NotFound($"endpoint {endpointId} not found"),
            _ => throw ContivException.Invalid($"endpoint id {endpointId} is ambiguous ({matches.Count} matches)"),
        };
    }

    /// <summary>Address leases taken by <paramref name="host"/> (all hosts when null).</summary>
    public async Task<IReadOnlyList<AddressLeaseRecord>> ListLeasesAsync(string? host, CancellationToken ct = default) =>
        [.. (await store.ListAsync(StateKeys.LeasesPrefix, ct)).Select(kv => Read(kv.Value, StateJson.Default.AddressLeaseRecord)).Where(l => host is null || l.Host == host)];

    // ---- hosts -----------------------------------------------------------------------------------

    public Task RegisterHostAsync(HostRecord host, CancellationToken ct = default) =>
        store.TryCommitAsync([], [Write(StateKeys.Host(host.Name), host, StateJson.Default.HostRecord)], ct);

    public async Task<IReadOnlyList<HostRecord>> ListHostsAsync(CancellationToken ct = default) =>
        [.. (await store.ListAsync(StateKeys.HostsPrefix, ct)).Select(kv => Read(kv.Value, StateJson.Default.HostRecord))];

    /// <summary>
    /// The explicit rule for a host that disappeared: its endpoints, address leases and Docker
    /// network bindings are reclaimed only by this call (netctl host rm), and only once the host has
    /// missed heartbeats for <paramref name="presumedDeadAfter"/>, unless <paramref name="force"/>:
    /// a host cut off by a partition may still be running its containers. Returns the number of
    /// endpoints reclaimed.
    /// </summary>
    public async Task<int> RemoveHostAsync(string name, bool force, TimeSpan presumedDeadAfter, CancellationToken ct = default)
    {
        var key = StateKeys.Host(name);
        var record = await GetOneAsync(key, ct) is { } text ? Read(text, StateJson.Default.HostRecord) : throw ContivException.NotFound($"host {name} is not registered");
        var silentFor = _time.GetUtcNow() - record.LastSeen;
        if (!force && silentFor < presumedDeadAfter)
        {
            throw ContivException.Conflict(
                $"host {name} was seen {silentFor.TotalSeconds:0} s ago and may still be alive; its endpoints are reclaimed once it has been silent for {presumedDeadAfter.TotalSeconds:0} s (or use --force if you know it is gone)");
        }

        var endpoints = (await ListEndpointsAsync(null, ct)).Where(e => e.HomingHost == name).ToList();
        foreach (var endpoint in endpoints)
        {
            await DeleteEndpointAsync(endpoint.Network, endpoint.EndpointId, ct);
            await ReleaseAddressAsync(endpoint.Network, endpoint.IpAddress[0], ct);
        }

        foreach (var lease in await ListLeasesAsync(name, ct))
        {
            await ReleaseAddressAsync(lease.NetworkId, lease.Address, ct);
        }

        var hostKeys = (await store.ListAsync($"state/docknets/{name}/", ct)).Select(kv => new KeyWrite(kv.Key, null)).Append(new KeyWrite(key, null)).ToList();
        await store.TryCommitAsync([], hostKeys, ct);
        return endpoints.Count;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static List<int> AddressesInUse(IpamRecord ipam)
    {
        var subnet = Ipv4Subnet.Parse(ipam.Subnet);
        var bitmap = AddressBitmap.Deserialize(ipam.Bitmap, subnet.Size);
        return [.. Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1)
            .Where(i => bitmap.IsTaken(i) && i != ipam.GatewayIndex)];
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
