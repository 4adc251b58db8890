using System.Text.Json;
using Contiv.Model;
using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>Addresses, endpoint records and hosts: what netplugin writes on the container path.</summary>
public sealed partial class ContivControl
{
    // ---- addresses -------------------------------------------------------------------------------

    /// <summary>
    /// Takes an address in a network: <paramref name="requested"/> when given (refused if taken),
    /// otherwise the lowest free one.
    /// </summary>
    public Task<AddressLease> AllocateAddressAsync(string networkId, string? requested, CancellationToken ct = default) =>
        AllocateAddressAsync(networkId, requested, holder: null, ct);

    /// <summary>
    /// As above; with a <paramref name="holder"/> host, a lease naming it is written in the same
    /// atomic step, so that host can later reclaim the address if no container ever uses it.
    /// </summary>
    /// <remarks>
    /// The lowest free address is found and taken by the store itself (<see cref="IKeyValueStore.TakeFromPoolAsync"/>:
    /// on Redis one script call), so allocating is one round trip that never conflicts with other
    /// hosts. A requested address first reads the network's IPAM record to validate it.
    /// </remarks>
    public async Task<AddressLease> AllocateAddressAsync(string networkId, string? requested, string? holder, CancellationToken ct = default)
    {
        return await AllocateAddressAsync(networkId, requested, holder, group: null, ct);
    }

    /// <summary>
    /// As above, for a container joining <paramref name="group"/> (a group on this network; null: no
    /// group). A group with an ipPool hands out addresses of that range only, from its own pool; a
    /// requested address must then lie in the range. A group without one allocates as the network does.
    /// </summary>
    public async Task<AddressLease> AllocateAddressAsync(string networkId, string? requested, string? holder, string? group, CancellationToken ct = default)
    {
        if (group is not null && await GroupRangeAsync(networkId, group, ct) is { } owned)
        {
            return await AllocateInGroupAsync(networkId, group, owned.Ipam, owned.First, owned.Last, requested, holder, ct);
        }

        var requestedIndex = (int?)null;
        IpamRecord? ipam = null;
        if (!string.IsNullOrEmpty(requested))
        {
            ipam = await GetIpamAsync(networkId, ct) ?? throw NetworkIdNotFound(networkId);
            requestedIndex = Ipv4Subnet.Parse(ipam.Subnet).ParseHostIndex(requested, "requested address");
        }

        var take = new PoolTake(StateKeys.IpamPool(networkId), requestedIndex, holder is null ? null : StateKeys.LeasesOf(networkId), LeaseValue(networkId, holder));
        var result = await TakeAsync(networkId, take, ct);
        switch (result.Outcome)
        {
            case PoolTakeOutcome.Taken:
                var address = result.FirstAddress + (uint)result.Slot;
                return new AddressLease(Ipv4Subnet.FormatAddress(address), PrefixLength(result.Size), MacAddress.FromIPv4(address).ToString());
            case PoolTakeOutcome.Unavailable:
                throw ContivException.Conflict(requestedIndex == ipam?.GatewayIndex
                    ? $"address {requested} is the gateway of network {networkId}"
                    : $"address {requested} is already in use in network {networkId}");
            case PoolTakeOutcome.Exhausted:
                throw ContivException.Conflict(
                    $"auto allocation failed - address exhaustion in subnet {Ipv4Subnet.FormatAddress(result.FirstAddress)}/{PrefixLength(result.Size)} of network {networkId}");
            default:
                throw NetworkIdNotFound(networkId);
        }
    }

    /// <summary>
    /// Makes sure <paramref name="address"/> is taken in the network's IPAM: takes it when free
    /// (an address Docker got elsewhere) and does nothing when already taken (the usual case: our
    /// RequestAddress took it). Returns true when it had to take it.
    /// </summary>
    public async Task<bool> ReserveAddressAsync(string networkId, string address, CancellationToken ct = default)
    {
        var ipam = await GetIpamAsync(networkId, ct) ?? throw NetworkIdNotFound(networkId);
        var subnet = Ipv4Subnet.Parse(ipam.Subnet);
        var index = subnet.ParseHostIndex(address, "endpoint address");
        if (GroupPoolOf(ipam, subnet.AddressAt(index)) is var (group, first))
        {
            var taken = await store.TakeFromPoolAsync(new PoolTake(StateKeys.GroupPool(networkId, group), (int)(subnet.AddressAt(index) - first)), ct);
            return taken.Outcome switch
            {
                PoolTakeOutcome.Taken => true,
                PoolTakeOutcome.Unavailable => false,
                _ => throw GroupNotFound(Names.ParseNetworkId(networkId).Tenant, group),
            };
        }

        var result = await TakeAsync(networkId, new PoolTake(StateKeys.IpamPool(networkId), index), ct);
        return result.Outcome switch
        {
            PoolTakeOutcome.Taken => true,
            PoolTakeOutcome.Unavailable => false,
            _ => throw NetworkIdNotFound(networkId),
        };
    }

    /// <summary>Frees an address. Unknown networks and free addresses are not errors: release is idempotent.</summary>
    public async Task<bool> ReleaseAddressAsync(string networkId, string address, CancellationToken ct = default)
    {
        if (await GetIpamAsync(networkId, ct) is not { } ipam)
        {
            return false;
        }

        var subnet = Ipv4Subnet.Parse(ipam.Subnet);
        if (!Ipv4Subnet.TryParseAddress(address, out var ip) || !subnet.Contains(ip))
        {
            throw ContivException.Invalid($"address {address} is not inside subnet {subnet.Cidr} of network {networkId}");
        }

        // The gateway stays reserved for the network's lifetime; network/broadcast/out-of-range
        // indexes are never free.
        var index = subnet.IndexOf(ip);
        if (index == ipam.GatewayIndex || index < subnet.FirstHostIndex || index > subnet.LastHostIndex)
        {
            return false;
        }

        var leaseKey = StateKeys.Lease(networkId, Ipv4Subnet.FormatAddress(ip));
        if (GroupPoolOf(ipam, ip) is var (group, first))
        {
            return await store.ReleaseToPoolAsync(new PoolRelease(StateKeys.GroupPool(networkId, group), (int)(ip - first), leaseKey), ct);
        }

        if (ipam.Bitmap is not null)
        {
            await MovePoolIntoStoreAsync(networkId, ct);
        }

        return await store.ReleaseToPoolAsync(new PoolRelease(StateKeys.IpamPool(networkId), index, leaseKey), ct);
    }

    private string? LeaseValue(string networkId, string? holder) => holder is null
        ? null
        : JsonSerializer.Serialize(new AddressLeaseRecord { NetworkId = networkId, Host = holder, At = _time.GetUtcNow() }, StateJson.Default.AddressLeaseRecord);

    /// <summary>The ipPool of a group on this network (host indexes), null when it has none; refuses an unknown group or one on another network.</summary>
    private async Task<(IpamRecord Ipam, int First, int Last)?> GroupRangeAsync(string networkId, string group, CancellationToken ct)
    {
        var (tenant, network) = Names.ParseNetworkId(networkId);
        var groupKey = StateKeys.Group(tenant, group);
        var ipamKey = StateKeys.Ipam(networkId);
        var snapshot = await store.GetAsync([groupKey, ipamKey], ct);
        var config = snapshot[groupKey] is { } text ? Read(text, StateJson.Default.EndpointGroupConfig) : throw GroupNotFound(tenant, group);
        if (config.NetworkName != network)
        {
            throw ContivException.Invalid($"endpoint group {ObjectKey(tenant, group)} is on network {config.NetworkName}, not {network}");
        }

        var ipam = snapshot[ipamKey] is { } ipamText ? Read(ipamText, StateJson.Default.IpamRecord) : throw NetworkIdNotFound(networkId);
        if (ipam.GroupPools?.GetValueOrDefault(group) is not { } rangeText)
        {
            return null;
        }

        var subnet = Ipv4Subnet.Parse(ipam.Subnet);
        var range = Contiv.Policy.ObjectValidation.ParseRange(rangeText);
        return (ipam, subnet.IndexOf(ToUInt32(range.First)), subnet.IndexOf(ToUInt32(range.Last)));
    }

    private async Task<AddressLease> AllocateInGroupAsync(string networkId, string group, IpamRecord ipam, int first, int last, string? requested, string? holder, CancellationToken ct)
    {
        var subnet = Ipv4Subnet.Parse(ipam.Subnet);
        var tenant = Names.ParseNetworkId(networkId).Tenant;
        var range = $"{Ipv4Subnet.FormatAddress(subnet.AddressAt(first))}-{Ipv4Subnet.FormatAddress(subnet.AddressAt(last))}";
        int? slot = null;
        if (!string.IsNullOrEmpty(requested))
        {
            var index = subnet.ParseHostIndex(requested, "requested address");
            slot = index >= first && index <= last
                ? index - first
                : throw ContivException.Invalid($"address {requested} is outside the ip-pool {range} of endpoint group {ObjectKey(tenant, group)}");
        }

        var take = new PoolTake(StateKeys.GroupPool(networkId, group), slot, holder is null ? null : StateKeys.LeasesOf(networkId), LeaseValue(networkId, holder));
        var result = await store.TakeFromPoolAsync(take, ct);
        switch (result.Outcome)
        {
            case PoolTakeOutcome.Taken:
                var address = result.FirstAddress + (uint)result.Slot;
                return new AddressLease(Ipv4Subnet.FormatAddress(address), subnet.PrefixLength, MacAddress.FromIPv4(address).ToString());
            case PoolTakeOutcome.Unavailable:
                throw ContivException.Conflict($"address {requested} is already in use in endpoint group {ObjectKey(tenant, group)}");
            case PoolTakeOutcome.Exhausted:
                throw ContivException.Conflict($"auto allocation failed - address exhaustion in ip-pool {range} of endpoint group {ObjectKey(tenant, group)}");
            default:
                throw GroupNotFound(tenant, group);
        }
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
        [.. (await store.ListAsync(StateKeys.LeasesPrefix, ct)).Select(ReadLease).Where(l => host is null || l.Host == host)];

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

        var hostKeys = (await store.ListAsync(StateKeys.DockerNetworksOf(name), ct)).Select(kv => new KeyWrite(kv.Key, null)).Append(new KeyWrite(key, null)).ToList();
        await store.TryCommitAsync([], hostKeys, ct);
        return endpoints.Count;
    }
}
