using System.Net;
using Contiv.Model;
using Contiv.Policy;
using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>
/// Endpoint groups. A group with an ipPool owns that range: at creation its addresses (all free) are
/// taken in the network's pool and a pool of the group's own hands them out; deleting the group gives
/// them back. Both pools change in the same commit as the group record.
/// </summary>
public sealed partial class ContivControl
{
    public async Task<EndpointGroupConfig> CreateGroupAsync(EndpointGroupConfig group, CancellationToken ct = default)
    {
        var tenant = group.TenantName;
        var name = group.GroupName;
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(name, "group");
        Names.ValidateNetwork(group.NetworkName);
        group.Key = ObjectKey(tenant, name);
        group.Policies = NullIfEmpty(group.Policies);
        group.NetProfile = NullIfEmpty(group.NetProfile?.Trim());
        group.IpPool = NullIfEmpty(group.IpPool?.Trim());
        group.CfgdTag = NullIfEmpty(group.CfgdTag);

        var networkId = Names.NetworkId(tenant, group.NetworkName);
        var tenantKey = StateKeys.Tenant(tenant);
        var groupKey = StateKeys.Group(tenant, name);
        var networkKey = StateKeys.Network(tenant, group.NetworkName);
        var ipamKey = StateKeys.Ipam(networkId);
        var networkPool = StateKeys.IpamPool(networkId);
        var groupPool = StateKeys.GroupPool(networkId, name);
        if (group.IpPool is not null && await GetIpamAsync(networkId, ct) is { Bitmap: not null })
        {
            await MovePoolIntoStoreAsync(networkId, ct);
        }

        string[] keys = [tenantKey, groupKey, networkKey, StateKeys.Network(tenant, name), ipamKey];
        string[] pools = group.IpPool is null ? [] : [networkPool, groupPool];
        return await RunTenantAsync(tenant, keys, pools, (view, snapshot, poolSnapshot) =>
        {
            if (snapshot[tenantKey] is null)
            {
                throw TenantNotFound(tenant);
            }

            if (snapshot[groupKey] is not null)
            {
                throw ContivException.Conflict($"endpoint group {group.Key} already exists");
            }

            if (snapshot[networkKey] is null || snapshot[ipamKey] is not { } ipamText)
            {
                throw NetworkNotFound(tenant, group.NetworkName);
            }

            CheckNamedObjects(view, tenant, group.Policies, group.NetProfile);
            var ipam = Read(ipamText, StateJson.Default.IpamRecord);
            var subnet = Ipv4Subnet.Parse(ipam.Subnet);
            var catalog = new ViewCatalog(view, snapshot);
            var validated = Checked(() => ObjectValidation.ValidateGroup(
                tenant, group.NetworkName, name, IPNetwork.Parse(subnet.Cidr), group.IpPool, group.Policies ?? [], group.NetProfile, catalog));
            var writes = new List<KeyWrite> { Write(groupKey, group, StateJson.Default.EndpointGroupConfig) };
            var poolWrites = new List<PoolWrite>();
            if (validated.IpPool is { } range)
            {
                group.IpPool = range.ToString();
                var (first, last) = (subnet.IndexOf(ToUInt32(range.First)), subnet.IndexOf(ToUInt32(range.Last)));
                var current = poolSnapshot[networkPool] ?? throw NetworkIdNotFound(networkId);
                var inUse = Enumerable.Range(first, last - first + 1).Where(current.IsTaken).ToList();
                if (inUse.Count > 0)
                {
                    throw ContivException.Conflict(
                        $"ip-pool {range} of endpoint group {group.Key} overlaps addresses already in use in network {Names.NetworkKey(tenant, group.NetworkName)}: {FormatAddresses(subnet, inUse)}");
                }

                ipam.GroupPools ??= new SortedDictionary<string, string>(StringComparer.Ordinal);
                ipam.GroupPools[name] = range.ToString();
                ipam.PoolGeneration = (ipam.PoolGeneration ?? 0) + 1;
                writes[0] = Write(groupKey, group, StateJson.Default.EndpointGroupConfig);
                writes.Add(Write(ipamKey, ipam, StateJson.Default.IpamRecord));
                poolWrites.Add(new PoolWrite(networkPool, new AddressPoolSpec(current.FirstAddress, current.Size, [.. current.TakenSlots(), .. Enumerable.Range(first, last - first + 1)])));
                poolWrites.Add(new PoolWrite(groupPool, new AddressPoolSpec(subnet.AddressAt(first), last - first + 1, [])));
            }

            return new TransactionPlan<EndpointGroupConfig>(writes, group) { PoolWrites = poolWrites };
        }, ct);
    }

    /// <summary>Changes the policies, netprofile of a live group; its network, ipPool and tag stay (empty in the update means "keep").</summary>
    public Task<EndpointGroupConfig> UpdateGroupAsync(EndpointGroupConfig group, CancellationToken ct = default)
    {
        var tenant = group.TenantName;
        var name = group.GroupName;
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(name, "group");
        var groupKey = StateKeys.Group(tenant, name);
        return RunTenantAsync(tenant, [groupKey], [], (view, snapshot, _) =>
        {
            var current = snapshot[groupKey] is { } text ? Read(text, StateJson.Default.EndpointGroupConfig) : throw GroupNotFound(tenant, name);
            CheckUnchanged(current.NetworkName, group.NetworkName, "network", current.Key);
            CheckUnchanged(current.IpPool, NormalizedRange(group.IpPool), "ipPool", current.Key);
            CheckUnchanged(current.CfgdTag, group.CfgdTag, "cfgdTag", current.Key);
            var policies = NullIfEmpty(group.Policies);
            var profile = NullIfEmpty(group.NetProfile?.Trim());
            CheckNamedObjects(view, tenant, policies, profile);
            current.Policies = policies;
            current.NetProfile = profile;
            return new TransactionPlan<EndpointGroupConfig>([Write(groupKey, current, StateJson.Default.EndpointGroupConfig)], current);
        }, ct);
    }

    /// <summary>
    /// Refused while containers are in the group (endpoint records naming it, or addresses taken in its
    /// pool) or a rule names it; gives its ipPool back to the network.
    /// </summary>
    public async Task DeleteGroupAsync(string tenant, string group, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(group, "group");
        var existing = await GetGroupAsync(tenant, group, ct);
        var networkId = Names.NetworkId(tenant, existing.NetworkName);
        var members = await GroupEndpointsAsync(tenant, group, existing.NetworkName, ct);
        InUse(() => ObjectValidation.CheckGroupDelete(group, members.Count));

        var groupKey = StateKeys.Group(tenant, group);
        var ipamKey = StateKeys.Ipam(networkId);
        var networkPool = StateKeys.IpamPool(networkId);
        var groupPool = StateKeys.GroupPool(networkId, group);
        await RunTenantAsync(tenant, [groupKey, ipamKey], [networkPool, groupPool], (view, snapshot, pools) =>
        {
            if (snapshot[groupKey] is null)
            {
                throw GroupNotFound(tenant, group);
            }

            var user = view.Rules.FirstOrDefault(r => r.FromEndpointGroup == group || r.ToEndpointGroup == group);
            if (user is not null)
            {
                throw ContivException.Conflict($"endpoint group {ObjectKey(tenant, group)} is used by rule {user.Key}; remove the rule first");
            }

            var writes = new List<KeyWrite> { new(groupKey, null) };
            var poolWrites = new List<PoolWrite>();
            if (snapshot[ipamKey] is { } ipamText && Read(ipamText, StateJson.Default.IpamRecord) is { GroupPools: { } ranges } ipam
                && ranges.TryGetValue(group, out var rangeText))
            {
                var subnet = Ipv4Subnet.Parse(ipam.Subnet);
                if (pools[groupPool] is { } own)
                {
                    // Conditioned on the group pool's version: a container taking an address meanwhile is seen.
                    var taken = own.TakenSlots().ToList();
                    if (taken.Count > 0)
                    {
                        throw ContivException.Conflict(
                            $"cannot delete group {group}: {taken.Count} address(es) of its ip-pool are in use ({RangeText.Format(taken, i => AddressPool.FormatAddress(own.FirstAddress, i))}); remove the containers first");
                    }
                }

                var range = ObjectValidation.ParseRange(rangeText);
                var (first, last) = (subnet.IndexOf(ToUInt32(range.First)), subnet.IndexOf(ToUInt32(range.Last)));
                ranges.Remove(group);
                ipam.GroupPools = ranges.Count == 0 ? null : ranges;
                ipam.PoolGeneration = (ipam.PoolGeneration ?? 0) + 1;
                writes.Add(Write(ipamKey, ipam, StateJson.Default.IpamRecord));
                if (pools[networkPool] is { } network)
                {
                    var back = network.TakenSlots().Where(i => i < first || i > last);
                    poolWrites.Add(new PoolWrite(networkPool, new AddressPoolSpec(network.FirstAddress, network.Size, [.. back])));
                }

                if (pools[groupPool] is not null)
                {
                    poolWrites.Add(new PoolWrite(groupPool, null));
                }
            }

            return new TransactionPlan<bool>(writes, true) { PoolWrites = poolWrites };
        }, ct);
    }

    public async Task<EndpointGroupConfig> GetGroupAsync(string tenant, string group, CancellationToken ct = default) =>
        await FindGroupAsync(tenant, group, ct) ?? throw GroupNotFound(tenant, group);

    public async Task<EndpointGroupConfig?> FindGroupAsync(string tenant, string group, CancellationToken ct = default)
    {
        Names.ValidateTenant(tenant);
        Names.ValidateObjectName(group, "group");
        return await GetOneAsync(StateKeys.Group(tenant, group), ct) is { } text ? Read(text, StateJson.Default.EndpointGroupConfig) : null;
    }

    /// <summary>Groups of one tenant (all tenants when null), by tenant then name.</summary>
    public async Task<IReadOnlyList<EndpointGroupConfig>> ListGroupsAsync(string? tenant, CancellationToken ct = default) =>
        [.. (await store.ListAsync(tenant is null ? StateKeys.GroupsPrefix : StateKeys.GroupsOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.EndpointGroupConfig))];

    public async Task<EndpointGroupInspect> InspectGroupAsync(string tenant, string group, CancellationToken ct = default)
    {
        var config = await GetGroupAsync(tenant, group, ct);
        var endpoints = await GroupEndpointsAsync(tenant, group, config.NetworkName, ct);
        var oper = new EndpointGroupOper { NumEndpoints = endpoints.Count, Endpoints = endpoints.Count == 0 ? null : [.. endpoints] };
        var networkId = Names.NetworkId(tenant, config.NetworkName);
        if (config.IpPool is not null && await store.GetPoolAsync(StateKeys.GroupPool(networkId, group), ct) is { } pool)
        {
            var slots = Enumerable.Range(0, pool.Size).ToList();
            oper.AllocatedIpAddresses = NullIfEmpty(RangeText.Format(slots.Where(pool.IsTaken), i => AddressPool.FormatAddress(pool.FirstAddress, i)));
            oper.AvailableIpAddresses = NullIfEmpty(RangeText.Format(slots.Where(i => !pool.IsTaken(i)), i => AddressPool.FormatAddress(pool.FirstAddress, i)));
        }

        return new EndpointGroupInspect { Config = config, Oper = oper };
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /// <summary>A network cannot go while it has groups or a rule names it (the rule would silently match nothing).</summary>
    private static void CheckNetworkUnused(TenantView view, string network)
    {
        InUse(() => ObjectValidation.CheckNetworkDelete(network, view.PolicyGroups));
        var user = view.Rules.FirstOrDefault(r => r.FromNetwork == network || r.ToNetwork == network);
        if (user is not null)
        {
            throw ContivException.Conflict($"cannot delete {network}: rule {user.Key} names it; remove the rule first");
        }
    }

    private static void CheckTenantEmpty(TenantView view)
    {
        var left = new[]
        {
            (view.Groups.Count, "endpoint group(s)", string.Join(", ", view.Groups.Keys)),
            (view.Policies.Count, "policy(s)", string.Join(", ", view.Policies.Keys)),
            (view.NetProfiles.Count, "netprofile(s)", string.Join(", ", view.NetProfiles.Keys)),
        }.FirstOrDefault(l => l.Item1 > 0);
        if (left.Item1 > 0)
        {
            throw ContivException.Conflict($"tenant {view.Tenant} has {left.Item1} {left.Item2} ({left.Item3}); delete them first");
        }
    }

    /// <summary>Whether each host index of a network is in use: in a group's range as its pool says, elsewhere as the network's pool says.</summary>
    private async Task<Func<int, bool>> AddressUseAsync(string networkId, IpamRecord ipam, Ipv4Subnet subnet, AddressPool networkPool, CancellationToken ct)
    {
        var groups = new List<(int First, int Last, AddressPool? Pool)>();
        foreach (var (group, rangeText) in ipam.GroupPools ?? [])
        {
            var range = ObjectValidation.ParseRange(rangeText);
            groups.Add((subnet.IndexOf(ToUInt32(range.First)), subnet.IndexOf(ToUInt32(range.Last)), await store.GetPoolAsync(StateKeys.GroupPool(networkId, group), ct)));
        }

        return index =>
        {
            foreach (var (first, last, pool) in groups)
            {
                if (index >= first && index <= last)
                {
                    return pool?.IsTaken(index - first) ?? false;
                }
            }

            return networkPool.IsTaken(index);
        };
    }

    /// <summary>The group whose ipPool holds <paramref name="address"/>, with the pool's first address; null when none does.</summary>
    private static (string Group, uint First)? GroupPoolOf(IpamRecord ipam, uint address)
    {
        foreach (var (group, rangeText) in ipam.GroupPools ?? [])
        {
            var range = ObjectValidation.ParseRange(rangeText);
            var (first, last) = (ToUInt32(range.First), ToUInt32(range.Last));
            if (address >= first && address <= last)
            {
                return (group, first);
            }
        }

        return null;
    }

    /// <summary>The endpoints of a group: on its network, carrying its key.</summary>
    private async Task<IReadOnlyList<EndpointOper>> GroupEndpointsAsync(string tenant, string group, string network, CancellationToken ct)
    {
        var key = EndpointGroupKey(tenant, group);
        return [.. (await ListEndpointsAsync(Names.NetworkId(tenant, network), ct)).Where(e => e.EndpointGroupKey == key)];
    }

    /// <summary>The policies and netprofile a group names must exist in its tenant (one message naming the first missing one).</summary>
    private static void CheckNamedObjects(TenantView view, string tenant, IReadOnlyList<string>? policies, string? netProfile)
    {
        foreach (var policy in policies ?? [])
        {
            if (!view.Policies.ContainsKey(policy))
            {
                throw ContivException.NotFound($"policy {ObjectKey(tenant, policy)} does not exist");
            }
        }

        if (netProfile is not null && !view.NetProfiles.ContainsKey(netProfile))
        {
            throw ContivException.NotFound($"netprofile {ObjectKey(tenant, netProfile)} does not exist");
        }
    }

    private static void CheckUnchanged(string? current, string? update, string field, string? key)
    {
        if (!string.IsNullOrWhiteSpace(update) && update.Trim() != (current ?? string.Empty))
        {
            throw ContivException.Invalid($"Cant change {field} of endpoint group {key} after it is created; delete and re-create it");
        }
    }

    private static string? NormalizedRange(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : Checked(() => ObjectValidation.ParseRange(text.Trim())).ToString();

    private static uint ToUInt32(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }

    private static ContivException GroupNotFound(string tenant, string group) =>
        ContivException.NotFound($"endpoint group {ObjectKey(tenant, group)} does not exist");
}
