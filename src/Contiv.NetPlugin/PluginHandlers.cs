using System.Globalization;
using System.Text.Json;
using Contiv.ControlPlane;
using Contiv.DockerEngine;
using Contiv.Model;
using Contiv.NetPlugin.Protocol;

namespace Contiv.NetPlugin;

/// <summary>
/// The libnetwork NetworkDriver and IpamDriver calls, as plain methods: request object in, reply
/// object out, <see cref="ContivException"/> for anything the user must act on. Addresses and
/// endpoint records go to the shared store through <see cref="ContivControl"/>; kernel objects go
/// through <see cref="IHostDatapath"/>.
/// </summary>
public sealed class PluginHandlers(
    ContivControl control,
    IHostDatapath datapath,
    DockerNetworkMap networks,
    PluginOptions options,
    ILogger<PluginHandlers> logger,
    IDockerEngine? docker = null,
    PluginMetrics? metrics = null)
{
    /// <summary>How long calls wait for a hand-made Docker network to be registered in the control plane.</summary>
    public static readonly TimeSpan AdoptionTimeout = TimeSpan.FromSeconds(10);

    private readonly SwarmAddressEchoes _echoes = new(control.Store, options.HostName);

    /// <summary>Set by <see cref="CreateEndpointAsync"/> so the agent can fill in container names once Docker knows them.</summary>
    public event Action<string, string>? EndpointJoined;

    // ---- NetworkDriver -------------------------------------------------------------------------

    /// <summary>Scope "local" unless started with <c>--scope global</c> (managed plugin in swarm mode).</summary>
    public CapabilitiesResponse GetCapabilities() => new() { Scope = options.Scope, ConnectivityScope = "global" };

    public async Task<EmptyResponse> CreateNetworkAsync(CreateNetworkRequest request, CancellationToken ct)
    {
        var dockerId = Required(request.NetworkID, "NetworkID");
        var generic = GenericOptions(request.Options);
        var pool = request.IPv4Data?.FirstOrDefault()?.Pool;
        var addressSpace = request.IPv4Data?.FirstOrDefault()?.AddressSpace;
        var ours = GetDefaultAddressSpaces();
        if (!string.IsNullOrEmpty(addressSpace) && addressSpace != ours.LocalDefaultAddressSpace && addressSpace != ours.GlobalDefaultAddressSpace)
        {
            // Another IPAM would hand out addresses the shared allocator knows nothing about.
            throw ContivException.Invalid($"netplugin networks need the netplugin IPAM (address space {addressSpace} is another driver's): add --ipam-driver netplugin");
        }

        NetworkRecord record;
        try
        {
            record = await ResolveNetworkAsync(generic, pool, ct);
        }
        catch (ContivException e) when (e.Kind == ErrorKind.NotFound && pool is not null && docker is not null)
        {
            // `docker network create -d netplugin ...` by hand: Docker tells drivers no network name,
            // so the network is registered in the control plane once Docker has stored it.
            _ = Task.Run(() => AdoptAsync(dockerId, generic, request.IPv4Data![0]), CancellationToken.None);
            return EmptyResponse.Instance;
        }

        var binding = new DockerNetworkBinding(record.NetworkId, record.Config.Encap!, record.Tag);
        datapath.EnsureNetwork(binding.Spec);
        await networks.BindAsync(dockerId, binding, ct);
        logger.LogInformation("network {DockerId} bound to {NetworkId} ({Encap} {Tag})", Short(dockerId), record.NetworkId, binding.Encap, binding.Tag);
        return EmptyResponse.Instance;
    }

    public async Task<EmptyResponse> DeleteNetworkAsync(NetworkRequest request, CancellationToken ct)
    {
        var dockerId = Required(request.NetworkID, "NetworkID");
        var binding = await networks.FindAsync(dockerId, ct);
        if (binding is null)
        {
            return EmptyResponse.Instance;
        }

        await networks.UnbindAsync(dockerId, ct);

        // Another Docker network on this engine may still use the same Contiv network's datapath.
        var stillUsed = (await networks.ListAsync(ct)).Values.Any(b => b.NetworkId == binding.NetworkId);
        if (!stillUsed)
        {
            datapath.RemoveNetwork(binding.Spec);
        }

        return EmptyResponse.Instance;
    }

    public async Task<CreateEndpointResponse> CreateEndpointAsync(CreateEndpointRequest request, CancellationToken ct)
    {
        var dockerId = Required(request.NetworkID, "NetworkID");
        var endpointId = Required(request.EndpointID, "EndpointID");
        var binding = await BindingAsync(dockerId, ct);
        var address = request.Interface?.Address;
        if (string.IsNullOrEmpty(address))
        {
            throw ContivException.Invalid($"endpoint {Short(endpointId)} has no IPv4 address; use the netplugin IPAM driver (--ipam-driver netplugin)");
        }

        var ip = address.Split('/')[0];
        if (!Ipv4Subnet.TryParseAddress(ip, out var ipValue))
        {
            throw ContivException.Invalid($"invalid endpoint address \"{address}\"");
        }

        var record = await control.GetNetworkAsync(Names.ParseNetworkId(binding.NetworkId).Tenant, Names.ParseNetworkId(binding.NetworkId).Network, ct);

        // Two endpoints must never share an address: refuse one held by another endpoint, and take
        // it in the IPAM if Docker got it elsewhere (so RequestAddress never hands it out again).
        var holder = (await control.ListEndpointsAsync(binding.NetworkId, ct)).FirstOrDefault(e => e.IpAddress[0] == ip && e.EndpointId != endpointId);
        if (holder is not null)
        {
            throw ContivException.Conflict($"address {ip} is already used by endpoint {Short(holder.EndpointId)} ({holder.ContainerName ?? "unknown container"}) on network {binding.NetworkId}");
        }

        if (await control.ReserveAddressAsync(binding.NetworkId, ip, ct))
        {
            logger.LogWarning("endpoint {EndpointId} brought address {Ip} not handed out by the netplugin IPAM; reserved it", Short(endpointId), ip);
        }

        var mac = MacAddress.FromIPv4(ipValue);
        var mtu = NetworkRules.EndpointMtu(binding.Encap, options.UnderlayMtu);
        datapath.EnsureNetwork(binding.Spec);
        var containerSide = datapath.CreateEndpoint(binding.Spec, endpointId, mac, mtu);
        try
        {
            await control.PutEndpointAsync(new EndpointOper
            {
                EndpointId = endpointId,
                HomingHost = options.HostName,
                Network = binding.NetworkId,
                IpAddress = [ip, request.Interface?.AddressIPv6?.Split('/')[0] ?? string.Empty],
                MacAddress = mac,
                VtepIp = options.VtepIp,
                InterfaceName = containerSide,
            }, ct);
        }
        catch
        {
            // Leave nothing behind when the record cannot be written (e.g. the store is down).
            datapath.DeleteEndpoint(binding.Spec, endpointId);
            throw;
        }

        logger.LogInformation("endpoint {EndpointId} on {NetworkId}: {Ip} {Mac} mtu {Mtu}", Short(endpointId), record.NetworkId, ip, mac, mtu);

        // Docker ignores a MAC it did not ask for only when it already chose one; echo ours otherwise.
        var response = new CreateEndpointResponse();
        if (string.IsNullOrEmpty(request.Interface?.MacAddress))
        {
            response.Interface = new EndpointInterface { MacAddress = mac };
        }

        return response;
    }

    public async Task<EmptyResponse> DeleteEndpointAsync(EndpointRequest request, CancellationToken ct)
    {
        var dockerId = Required(request.NetworkID, "NetworkID");
        var endpointId = Required(request.EndpointID, "EndpointID");
        var binding = await networks.FindAsync(dockerId, ct);
        datapath.DeleteEndpoint(binding?.Spec, endpointId);
        if (binding is not null)
        {
            await control.DeleteEndpointAsync(binding.NetworkId, endpointId, ct);
        }

        metrics?.Left(endpointId);
        return EmptyResponse.Instance;
    }

    public async Task<EndpointOperInfoResponse> EndpointOperInfoAsync(EndpointRequest request, CancellationToken ct)
    {
        var response = new EndpointOperInfoResponse();
        var binding = await networks.FindAsync(Required(request.NetworkID, "NetworkID"), ct);
        if (binding is not null && await control.GetEndpointAsync(binding.NetworkId, Required(request.EndpointID, "EndpointID"), ct) is { } ep)
        {
            response.Value["ipAddress"] = ep.IpAddress[0];
            response.Value["macAddress"] = ep.MacAddress ?? string.Empty;
            response.Value["homingHost"] = ep.HomingHost;
        }

        return response;
    }

    public async Task<JoinResponse> JoinAsync(JoinRequest request, CancellationToken ct)
    {
        var dockerId = Required(request.NetworkID, "NetworkID");
        var endpointId = Required(request.EndpointID, "EndpointID");
        var binding = await BindingAsync(dockerId, ct);
        var endpoint = await control.GetEndpointAsync(binding.NetworkId, endpointId, ct)
            ?? throw ContivException.NotFound($"endpoint {Short(endpointId)} was not created on network {binding.NetworkId}");
        var (tenant, name) = Names.ParseNetworkId(binding.NetworkId);
        var record = await control.GetNetworkAsync(tenant, name, ct);
        metrics?.Joined(endpointId);
        EndpointJoined?.Invoke(dockerId, endpointId);
        return new JoinResponse
        {
            InterfaceName = new InterfaceName { SrcName = endpoint.InterfaceName ?? DatapathNames.ContainerVeth(endpointId), DstPrefix = "eth" },

            // With a configured gateway the container routes through it (Contiv's behaviour); without
            // one, Docker adds its docker_gwbridge interface for external access.
            Gateway = record.Config.Gateway,
            StaticRoutes = record.Config.Gateway is not null && DnsRoute(request.SandboxKey) is { } dns ? [dns] : null,
        };
    }

    /// <summary>
    /// Containers of a network with a gateway reach the host's DNS address on-link, on the network
    /// itself (<see cref="NetworkDnsListeners"/>): their gateway has no path to the host. Once per
    /// sandbox: a second identical route (a container on two such networks) would fail the join.
    /// </summary>
    private StaticRoute? DnsRoute(string? sandboxKey)
    {
        if (options.DnsListen is not { AddressFamily: System.Net.Sockets.AddressFamily.InterNetwork } dns
            || (sandboxKey is not null && SandboxRoutes.HasHostRoute(sandboxKey, dns.Address)))
        {
            return null;
        }

        return new StaticRoute { Destination = $"{dns.Address}/32", RouteType = StaticRoute.Connected };
    }

    public EmptyResponse Leave(EndpointRequest request)
    {
        Required(request.NetworkID, "NetworkID");
        metrics?.Left(Required(request.EndpointID, "EndpointID"));
        return EmptyResponse.Instance;
    }

    // ---- IpamDriver ----------------------------------------------------------------------------

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
        catch (ContivException e) when (e.Kind == ErrorKind.NotFound && !generic.ContainsKey("network") && docker is not null)
        {
            // A hand-made Docker network that is not a Contiv network yet: its pool is named by tenant
            // and subnet and resolved once CreateNetwork has registered it (see AdoptAsync).
            var tenantName = generic.GetValueOrDefault("tenant") is { Length: > 0 } t ? t : Names.DefaultTenant;
            await control.GetTenantAsync(tenantName, ct);
            var cidr = Ipv4Subnet.Parse(request.Pool).Cidr;
            return new RequestPoolResponse { PoolID = PoolId(AdoptedPrefix + tenantName, cidr), Pool = cidr };
        }

        var subnet = Ipv4Subnet.Parse(record.Config.Subnet);
        if (subnet.Cidr != Ipv4Subnet.Parse(request.Pool).Cidr)
        {
            throw ContivException.Invalid($"subnet {request.Pool} does not match network {record.Config.Key}, whose subnet is {subnet.Cidr}");
        }

        return new RequestPoolResponse { PoolID = PoolId(record.NetworkId, subnet.Cidr), Pool = subnet.Cidr };
    }

    public static EmptyResponse ReleasePool(ReleasePoolRequest request)
    {
        ParsePoolId(Required(request.PoolID, "PoolID"));
        return EmptyResponse.Instance;
    }

    public async Task<RequestAddressResponse> RequestAddressAsync(RequestAddressRequest request, CancellationToken ct)
    {
        var (networkId, cidr) = ParsePoolId(Required(request.PoolID, "PoolID"));
        var prefix = cidr[(cidr.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var isGateway = request.Options is { } o && o.TryGetValue("RequestAddressType", out var type) && type == "com.docker.network.gateway";
        if (networkId.StartsWith(AdoptedPrefix, StringComparison.Ordinal))
        {
            if (isGateway)
            {
                // The network is not registered yet; its gateway is reserved when it is.
                return new RequestAddressResponse { Address = string.IsNullOrEmpty(request.Address) ? cidr : $"{request.Address}/{prefix}" };
            }

            networkId = await WaitForAdoptedNetworkAsync(networkId[AdoptedPrefix.Length..], cidr, ct);
        }
        else if (!isGateway)
        {
            // A pool id names a network and the subnet Docker knows it by; if the network was
            // re-created with another subnet, addresses from it would be outside Docker's pool.
            var (poolTenant, poolNetwork) = Names.ParseNetworkId(networkId);
            var current = Ipv4Subnet.Parse((await control.GetNetworkAsync(poolTenant, poolNetwork, ct)).Config.Subnet).Cidr;
            if (current != cidr)
            {
                throw ContivException.Invalid($"pool {request.PoolID} is for subnet {cidr}, but network {networkId} now has subnet {current}; remove and re-create the Docker network");
            }
        }

        if (isGateway)
        {
            // Docker's gateway request never allocates: the configured gateway was reserved when the
            // network was created; without one, Contiv hands back the pool itself.
            var (tenant, name) = Names.ParseNetworkId(networkId);
            var record = await control.GetNetworkAsync(tenant, name, ct);
            var gateway = string.IsNullOrEmpty(request.Address) ? record.Config.Gateway : request.Address;
            if (gateway is not null && record.Config.Gateway is not null && gateway != record.Config.Gateway)
            {
                throw ContivException.Invalid($"gateway {gateway} does not match network {record.Config.Key}, whose gateway is {record.Config.Gateway}");
            }

            return new RequestAddressResponse { Address = gateway is null ? cidr : $"{gateway}/{prefix}" };
        }

        AddressLease lease;
        try
        {
            lease = await control.AllocateAddressAsync(networkId, string.IsNullOrEmpty(request.Address) ? null : request.Address, options.HostName, ct);
        }
        catch (ContivException e) when (e.Kind == ErrorKind.Conflict && options.IsGlobalScope && !string.IsNullOrEmpty(request.Address)
            && SwarmAddressEchoes.IsNodeRequest(request.Options))
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

    public async Task<EmptyResponse> ReleaseAddressAsync(ReleaseAddressRequest request, CancellationToken ct)
    {
        var (networkId, cidr) = ParsePoolId(Required(request.PoolID, "PoolID"));
        var address = Required(request.Address, "Address").Split('/')[0];
        if (address == cidr.Split('/')[0])
        {
            return EmptyResponse.Instance;
        }

        if (networkId.StartsWith(AdoptedPrefix, StringComparison.Ordinal))
        {
            var adopted = await FindBySubnetAsync(networkId[AdoptedPrefix.Length..], cidr, ct);
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
            logger.LogWarning("not releasing {Address} in {NetworkId}: endpoint {EndpointId} on {Host} holds it now", address, networkId, holder.EndpointId[..Math.Min(12, holder.EndpointId.Length)], holder.HomingHost);
            return EmptyResponse.Instance;
        }

        if (await control.ReleaseAddressAsync(networkId, address, ct))
        {
            metrics?.AddressReleased(networkId);
            logger.LogInformation("released {Address} in {NetworkId}", address, networkId);
        }

        return EmptyResponse.Instance;
    }

    // ---- helpers -------------------------------------------------------------------------------

    public static string PoolId(string networkId, string cidr) => $"{networkId}|{cidr}";

    public static (string NetworkId, string Cidr) ParsePoolId(string poolId)
    {
        var bar = poolId.IndexOf('|', StringComparison.Ordinal);
        if (bar <= 0 || !poolId.AsSpan(bar + 1).Contains('/'))
        {
            throw ContivException.Invalid($"unknown pool id \"{poolId}\": not allocated by the netplugin IPAM");
        }

        return (poolId[..bar], poolId[(bar + 1)..]);
    }

    /// <summary>
    /// Finds the Contiv network a Docker request is about: by tenant + network name options (what
    /// netplugin passes when it creates Docker networks), by tenant + encap + tag, or by subnet
    /// within the tenant when the user created the Docker network by hand.
    /// </summary>
    private async Task<NetworkRecord> ResolveNetworkAsync(IReadOnlyDictionary<string, string> opts, string? pool, CancellationToken ct)
    {
        var tenant = opts.GetValueOrDefault("tenant") is { Length: > 0 } t ? t : Names.DefaultTenant;
        if (opts.GetValueOrDefault("network") is { Length: > 0 } name)
        {
            return await control.GetNetworkAsync(tenant, name, ct);
        }

        var candidates = await control.ListNetworksAsync(tenant, ct);
        if (opts.GetValueOrDefault("pkt-tag") is { Length: > 0 } tagText && int.TryParse(tagText, NumberStyles.None, CultureInfo.InvariantCulture, out var tag))
        {
            var encap = opts.GetValueOrDefault("encap") ?? "vxlan";
            var byTag = candidates.FirstOrDefault(n => n.Tag == tag && n.Config.Encap == encap);
            if (byTag is not null)
            {
                return byTag;
            }
        }

        if (pool is not null)
        {
            var cidr = Ipv4Subnet.Parse(pool).Cidr;
            var bySubnet = candidates.Where(n => Ipv4Subnet.Parse(n.Config.Subnet).Cidr == cidr).ToList();
            if (bySubnet.Count == 1)
            {
                return bySubnet[0];
            }

            if (bySubnet.Count > 1)
            {
                throw ContivException.Invalid($"several networks of tenant {tenant} use subnet {cidr}; pass --ipam-opt network=NAME");
            }
        }

        throw ContivException.NotFound(
            $"no Contiv network of tenant {tenant} matches subnet {pool ?? "(none)"}; create it first with: netctl net create -t {tenant} --subnet {pool ?? "CIDR"} NAME");
    }

    /// <summary>Pool ids of hand-made Docker networks not registered yet: <c>tenant/NAME|CIDR</c> (no valid network id has a slash).</summary>
    public const string AdoptedPrefix = "tenant/";

    private async Task<DockerNetworkBinding> BindingAsync(string dockerNetworkId, CancellationToken ct)
    {
        // A hand-made network may still be being registered (AdoptAsync): wait for it, boundedly.
        var deadline = DateTime.UtcNow + AdoptionTimeout;
        while (true)
        {
            if (await networks.FindAsync(dockerNetworkId, ct) is { } binding)
            {
                return binding;
            }

            if (docker is null || DateTime.UtcNow > deadline)
            {
                throw ContivException.NotFound($"network {Short(dockerNetworkId)} is not known to netplugin; create Contiv networks with netctl (or docker network create -d netplugin --ipam-driver netplugin)");
            }

            await Task.Delay(100, ct);
        }
    }

    private async Task<NetworkRecord?> FindBySubnetAsync(string tenant, string cidr, CancellationToken ct) =>
        (await control.ListNetworksAsync(tenant, ct)).FirstOrDefault(n => Ipv4Subnet.Parse(n.Config.Subnet).Cidr == cidr);

    private async Task<string> WaitForAdoptedNetworkAsync(string tenant, string cidr, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + AdoptionTimeout;
        while (true)
        {
            if (await FindBySubnetAsync(tenant, cidr, ct) is { } record)
            {
                return record.NetworkId;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw ContivException.NotFound($"no Contiv network of tenant {tenant} has subnet {cidr}; was the Docker network created with --ipam-driver netplugin?");
            }

            await Task.Delay(100, ct);
        }
    }

    /// <summary>
    /// Registers a Docker network made by hand as a Contiv network named like it (<c>net</c> or
    /// <c>net/tenant</c>), with its subnet, gateway and the encap/pkt-tag options, then binds it.
    /// Other hosts' agents then create it on their engines like any Contiv network.
    /// </summary>
    private async Task AdoptAsync(string dockerId, IReadOnlyDictionary<string, string> opts, IpamData ipv4)
    {
        try
        {
            using var cts = new CancellationTokenSource(AdoptionTimeout);
            DockerNetworkInfo? info = null;
            while (info is null)
            {
                info = await docker!.InspectNetworkAsync(dockerId, cts.Token);
                if (info is null)
                {
                    await Task.Delay(50, cts.Token);
                }
            }

            var (tenant, name) = Names.ParseDockerNetworkName(info.Name);
            if (opts.GetValueOrDefault("tenant") is { Length: > 0 } t)
            {
                tenant = t;
            }

            var subnet = Ipv4Subnet.Parse(ipv4.Pool);
            var gateway = ipv4.Gateway?.Split('/')[0];
            var network = new Network
            {
                TenantName = tenant,
                NetworkName = name,
                Subnet = subnet.Cidr,
                Gateway = gateway is null || gateway == Ipv4Subnet.FormatAddress(subnet.NetworkAddress) ? null : gateway,
                Encap = opts.GetValueOrDefault("encap"),
                PktTag = int.TryParse(opts.GetValueOrDefault("pkt-tag"), NumberStyles.None, CultureInfo.InvariantCulture, out var tag) ? tag : 0,
            };
            var record = await control.FindNetworkAsync(tenant, name, cts.Token) ?? await control.CreateNetworkAsync(network, cts.Token);
            var binding = new DockerNetworkBinding(record.NetworkId, record.Config.Encap!, record.Tag);
            datapath.EnsureNetwork(binding.Spec);
            await networks.BindAsync(dockerId, binding, cts.Token);
            logger.LogInformation("registered hand-made docker network {Name} ({DockerId}) as {Key} ({Encap} {Tag})", info.Name, Short(dockerId), record.Config.Key, binding.Encap, binding.Tag);
        }
        catch (Exception e)
        {
            logger.LogError("could not register hand-made docker network {DockerId}: {Error}", Short(dockerId), e.Message);
        }
    }

    /// <summary>Docker's <c>com.docker.network.generic</c> option bag (the <c>-o key=value</c> pairs).</summary>
    private static Dictionary<string, string> GenericOptions(Dictionary<string, JsonElement>? options)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options is not null && options.TryGetValue("com.docker.network.generic", out var generic) && generic.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in generic.EnumerateObject())
            {
                result[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }

        return result;
    }

    private static string Required(string? value, string field) =>
        string.IsNullOrEmpty(value) ? throw ContivException.Invalid($"request is missing {field}") : value;

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;
}
