using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.NetPlugin.Protocol;

namespace Contiv.NetPlugin;

/// <summary>libnetwork's NetworkDriver calls: networks, endpoints and joins.</summary>
public sealed partial class PluginHandlers
{
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
        catch (ContivException e) when (e.Kind == ErrorKind.NotFound && pool is not null && _handMade.IsEnabled)
        {
            // `docker network create -d netplugin ...` by hand: Docker tells drivers no network name,
            // so the network is registered in the control plane once Docker has stored it.
            _handMade.Adopt(dockerId, generic, request.IPv4Data![0]);
            return EmptyResponse.Instance;
        }

        var group = await GroupOfAsync(generic, record, ct);
        var binding = new DockerNetworkBinding(record.NetworkId, record.Config.Encap!, record.Tag, group);
        datapath.EnsureNetwork(binding.Spec);
        await networks.BindAsync(dockerId, binding, ct);
        logger.LogInformation("network {DockerId} bound to {NetworkId}{Group} ({Encap} {Tag})", ShortId.Of(dockerId), record.NetworkId, group is null ? string.Empty : $" group {group}", binding.Encap, binding.Tag);
        return EmptyResponse.Instance;
    }

    /// <summary>
    /// The endpoint group a Docker network stands for (option <c>group</c>, set when netplugin
    /// created it for a group), checked against the store: the group must exist on that network.
    /// </summary>
    private async Task<string?> GroupOfAsync(IReadOnlyDictionary<string, string> generic, NetworkRecord record, CancellationToken ct)
    {
        if (generic.GetValueOrDefault("group") is not { Length: > 0 } group)
        {
            return null;
        }

        var config = await control.GetGroupAsync(record.Config.TenantName, group, ct);
        if (config.NetworkName != record.Config.NetworkName)
        {
            throw ContivException.Invalid($"group {record.Config.TenantName}:{group} is on network {config.NetworkName}, not {record.Config.NetworkName}");
        }

        return group;
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
        var binding = await _handMade.WaitForBindingAsync(dockerId, ct);
        var address = request.Interface?.Address;
        if (string.IsNullOrEmpty(address))
        {
            throw ContivException.Invalid($"endpoint {ShortId.Of(endpointId)} has no IPv4 address; use the netplugin IPAM driver (--ipam-driver netplugin)");
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
            throw ContivException.Conflict($"address {ip} is already used by endpoint {ShortId.Of(holder.EndpointId)} ({holder.ContainerName ?? "unknown container"}) on network {binding.NetworkId}");
        }

        if (await control.ReserveAddressAsync(binding.NetworkId, ip, ct))
        {
            logger.LogWarning("endpoint {EndpointId} brought address {Ip} not handed out by the netplugin IPAM; reserved it", ShortId.Of(endpointId), ip);
        }

        var (tenant, _) = Names.ParseNetworkId(binding.NetworkId);
        var mac = MacAddress.FromIPv4(ipValue).ToString();
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
                ServiceName = binding.Group,
                EndpointGroupKey = binding.Group is null ? null : ContivControl.EndpointGroupKey(tenant, binding.Group),
            }, ct);
        }
        catch
        {
            // Leave nothing behind when the record cannot be written (e.g. the store is down).
            datapath.DeleteEndpoint(binding.Spec, endpointId);
            throw;
        }

        if (policy is not null)
        {
            // Docker starts the container after Join: programming this host's rules now (with the
            // new address in its group's sets) means the container's first packet is already
            // filtered here. Fail closed: no container runs where its rules could not be applied.
            try
            {
                await policy.SyncNetworkAsync(binding, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                datapath.DeleteEndpoint(binding.Spec, endpointId);
                await control.DeleteEndpointAsync(binding.NetworkId, endpointId, CancellationToken.None);
                throw ContivException.Unavailable($"endpoint {ShortId.Of(endpointId)} not created: the policy of {binding.NetworkId} could not be programmed on this host ({e.Message})");
            }
        }

        logger.LogInformation("endpoint {EndpointId} on {NetworkId}: {Ip} {Mac} mtu {Mtu}", ShortId.Of(endpointId), record.NetworkId, ip, mac, mtu);

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
        var binding = await _handMade.WaitForBindingAsync(dockerId, ct);
        var endpoint = await control.GetEndpointAsync(binding.NetworkId, endpointId, ct)
            ?? throw ContivException.NotFound($"endpoint {ShortId.Of(endpointId)} was not created on network {binding.NetworkId}");
        var (tenant, name) = Names.ParseNetworkId(binding.NetworkId);
        var record = await control.GetNetworkAsync(tenant, name, ct);
        metrics?.Joined(endpointId);
        reconcile?.Request();
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
}
