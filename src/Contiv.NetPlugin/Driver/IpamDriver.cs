using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.NetPlugin.Protocol;

namespace Contiv.NetPlugin;

/// <summary>libnetwork's IpamDriver calls: pools and addresses from the shared allocator.</summary>
public sealed partial class PluginHandlers
{
    public static IpamCapabilitiesResponse GetIpamCapabilities() => new() { RequiresMACAddress = false };

    public static AddressSpacesResponse GetDefaultAddressSpaces() => new();

    public async Task<RequestPoolResponse> RequestPoolAsync(RequestPoolRequest request, CancellationToken ct)
    {
        if (request.V6)
        {
            throw ContivException.Invalid("IPv6 pools are not supported by the netplugin IPAM yet; create the network without --ipv6");
        }

        if (string.IsNullOrEmpty(request.Pool))
        {
            throw ContivException.Invalid("a subnet is required: create Contiv networks with netctl, or pass --subnet to docker network create");
        }

        if (!string.IsNullOrEmpty(request.SubPool))
        {
            throw ContivException.Invalid("--ip-range is not supported; use a Contiv range subnet such as 10.1.1.10-20/24 with netctl");
        }

        var generic = request.Options ?? [];
        NetworkRecord record;
        try
        {
            record = await ResolveNetworkAsync(generic, request.Pool, ct);
        }
        catch (ContivException e) when (e.Kind == ErrorKind.NotFound && !generic.ContainsKey("network") && _handMade.IsEnabled)
        {
            // A hand-made Docker network that is not a Contiv network yet: its pool is named by tenant
            // and subnet and resolved once CreateNetwork has registered it (see AdoptAsync).
            var tenantName = generic.GetValueOrDefault("tenant") is { Length: > 0 } t ? t : Names.DefaultTenant;
            await control.GetTenantAsync(tenantName, ct);
            var cidr = Ipv4Subnet.Parse(request.Pool).Cidr;
            return new RequestPoolResponse { PoolID = PoolId.ForPendingNetwork(tenantName, cidr).Format(), Pool = cidr };
        }

        var subnet = Ipv4Subnet.Parse(record.Config.Subnet);
        if (subnet.Cidr != Ipv4Subnet.Parse(request.Pool).Cidr)
        {
            throw ContivException.Invalid($"subnet {request.Pool} does not match network {record.Config.Key}, whose subnet is {subnet.Cidr}");
        }

        // A group's Docker network: its addresses come from the group's ipPool, when it has one.
        var group = generic.GetValueOrDefault("group") is { Length: > 0 } g ? (await control.GetGroupAsync(record.Config.TenantName, g, ct)).GroupName : null;
        return new RequestPoolResponse { PoolID = PoolId.ForNetwork(record.NetworkId, subnet.Cidr, group).Format(), Pool = subnet.Cidr };
    }

    public static EmptyResponse ReleasePool(ReleasePoolRequest request)
    {
        PoolId.Parse(Required(request.PoolID, "PoolID"));
        return EmptyResponse.Instance;
    }

    public async Task<RequestAddressResponse> RequestAddressAsync(RequestAddressRequest request, CancellationToken ct)
    {
        var pool = PoolId.Parse(Required(request.PoolID, "PoolID"));
        var isGateway = request.Options is { } o && o.TryGetValue("RequestAddressType", out var type) && type == "com.docker.network.gateway";
        if (isGateway)
        {
            return await GatewayAddressAsync(pool, request.Address, ct);
        }

        string networkId;
        if (pool.IsPending)
        {
            networkId = await _handMade.WaitForNetworkAsync(pool.PendingTenant!, pool.Cidr, ct);
        }
        else
        {
            // A pool id names a network and the subnet Docker knows it by; if the network was
            // re-created with another subnet, addresses from it would be outside Docker's pool.
            networkId = pool.NetworkId!;
            var (poolTenant, poolNetwork) = Names.ParseNetworkId(networkId);
            var current = Ipv4Subnet.Parse((await control.GetNetworkAsync(poolTenant, poolNetwork, ct)).Config.Subnet).Cidr;
            if (current != pool.Cidr)
            {
                throw ContivException.Invalid($"pool {request.PoolID} is for subnet {pool.Cidr}, but network {networkId} now has subnet {current}; remove and re-create the Docker network");
            }
        }

        var prefix = pool.PrefixLength;
        AddressLease lease;
        try
        {
            lease = await control.AllocateAddressAsync(networkId, string.IsNullOrEmpty(request.Address) ? null : request.Address, options.HostName, pool.Group, ct);
        }
        catch (ContivException e) when (e.Kind == ErrorKind.Conflict && options.IsGlobalScope && !string.IsNullOrEmpty(request.Address)
            && SwarmAllocator.IsNodeRequest(request.Options))
        {
            // Swarm mode: the manager allocated this address; this node instantiates the endpoint.
            await _echoes.AddAsync(networkId, request.Address, ct);
            logger.LogInformation("{Address} in {NetworkId} was allocated by the swarm manager; used on this node", request.Address, networkId);
            return new RequestAddressResponse { Address = $"{request.Address}/{prefix}" };
        }

        metrics?.AddressAllocated(networkId);
        logger.LogInformation("allocated {Address} in {NetworkId}", lease.Cidr, networkId);
        return new RequestAddressResponse { Address = lease.Cidr };
    }

    /// <summary>
    /// Docker's gateway request never allocates: the configured gateway was reserved when the network
    /// was created; without one, Contiv hands back the pool itself. A pending network's gateway is
    /// reserved when it is registered.
    /// </summary>
    private async Task<RequestAddressResponse> GatewayAddressAsync(PoolId pool, string? requested, CancellationToken ct)
    {
        var prefix = pool.PrefixLength;
        if (pool.IsPending)
        {
            return new RequestAddressResponse { Address = string.IsNullOrEmpty(requested) ? pool.Cidr : $"{requested}/{prefix}" };
        }

        var (tenant, name) = Names.ParseNetworkId(pool.NetworkId!);
        var record = await control.GetNetworkAsync(tenant, name, ct);
        var gateway = string.IsNullOrEmpty(requested) ? record.Config.Gateway : requested;
        if (gateway is not null && record.Config.Gateway is not null && gateway != record.Config.Gateway)
        {
            throw ContivException.Invalid($"gateway {gateway} does not match network {record.Config.Key}, whose gateway is {record.Config.Gateway}");
        }

        return new RequestAddressResponse { Address = gateway is null ? pool.Cidr : $"{gateway}/{prefix}" };
    }

    public async Task<EmptyResponse> ReleaseAddressAsync(ReleaseAddressRequest request, CancellationToken ct)
    {
        var pool = PoolId.Parse(Required(request.PoolID, "PoolID"));
        var address = Required(request.Address, "Address").Split('/')[0];
        if (address == pool.NetworkAddress)
        {
            return EmptyResponse.Instance;
        }

        var networkId = pool.NetworkId!;
        if (pool.IsPending)
        {
            var adopted = await _handMade.FindBySubnetAsync(pool.PendingTenant!, pool.Cidr, ct);
            if (adopted is null)
            {
                return EmptyResponse.Instance;
            }

            networkId = adopted.NetworkId;
        }

        if (options.IsGlobalScope && await _echoes.TryRemoveAsync(networkId, address, ct))
        {
            // This node's use of an address the swarm manager allocated: the manager releases it.
            return EmptyResponse.Instance;
        }

        // Docker calls DeleteEndpoint before ReleaseAddress, so a live endpoint record with this
        // address belongs to someone else: the address was reclaimed (netctl host rm, or this host's
        // reclaim) and handed out again. Releasing it now would free another container's address.
        var holder = (await control.ListEndpointsAsync(networkId, ct)).FirstOrDefault(e => e.IpAddress[0] == address);
        if (holder is not null)
        {
            logger.LogWarning("not releasing {Address} in {NetworkId}: endpoint {EndpointId} on {Host} holds it now", address, networkId, ShortId.Of(holder.EndpointId), holder.HomingHost);
            return EmptyResponse.Instance;
        }

        if (await control.ReleaseAddressAsync(networkId, address, ct))
        {
            metrics?.AddressReleased(networkId);
            logger.LogInformation("released {Address} in {NetworkId}", address, networkId);
        }

        return EmptyResponse.Instance;
    }
}
