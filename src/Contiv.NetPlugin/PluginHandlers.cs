using System.Globalization;
using System.Text.Json;
using Contiv.ControlPlane;
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
    ILogger<PluginHandlers> logger)
{
    /// <summary>Set by <see cref="CreateEndpointAsync"/> so the agent can fill in container names once Docker knows them.</summary>
    public event Action<string, string>? EndpointJoined;

    // ---- NetworkDriver -------------------------------------------------------------------------

    public CapabilitiesResponse GetCapabilities() => new() { Scope = "local", ConnectivityScope = "global" };

    public async Task<EmptyResponse> CreateNetworkAsync(CreateNetworkRequest request, CancellationToken ct)
    {
        var dockerId = Required(request.NetworkID, "NetworkID");
        var generic = GenericOptions(request.Options);
        var pool = request.IPv4Data?.FirstOrDefault()?.Pool;
        var record = await ResolveNetworkAsync(generic, pool, ct);
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
        EndpointJoined?.Invoke(dockerId, endpointId);
        return new JoinResponse
        {
            InterfaceName = new InterfaceName { SrcName = endpoint.InterfaceName ?? DatapathNames.ContainerVeth(endpointId), DstPrefix = "eth" },

            // With a configured gateway the container routes through it (Contiv's behaviour); without
            // one, Docker adds its docker_gwbridge interface for external access.
            Gateway = record.Config.Gateway,
        };
    }

    public EmptyResponse Leave(EndpointRequest request)
    {
        Required(request.NetworkID, "NetworkID");
        Required(request.EndpointID, "EndpointID");
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
        var record = await ResolveNetworkAsync(generic, request.Pool, ct);
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

        var lease = await control.AllocateAddressAsync(networkId, string.IsNullOrEmpty(request.Address) ? null : request.Address, ct);
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

        if (await control.ReleaseAddressAsync(networkId, address, ct))
        {
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

    private async Task<DockerNetworkBinding> BindingAsync(string dockerNetworkId, CancellationToken ct) =>
        await networks.FindAsync(dockerNetworkId, ct)
        ?? throw ContivException.NotFound($"network {Short(dockerNetworkId)} is not a network this netplugin created; recreate it");

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
