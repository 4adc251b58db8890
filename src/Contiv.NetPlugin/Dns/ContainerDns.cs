using System.Net;
using Contiv.ControlPlane;
using Contiv.Dns;
using Contiv.DockerEngine;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>
/// Pure name resolution across hosts: a container may resolve the names of containers on the
/// networks it is attached to, on any host, and nothing else (tenants never see each other).
/// </summary>
public static class ContainerNameResolution
{
    /// <summary>The IPv4 addresses of containers named <paramref name="name"/> on <paramref name="clientNetworks"/>.</summary>
    public static IReadOnlyList<IPAddress> Resolve(string name, IEnumerable<EndpointOper> endpoints, IReadOnlySet<string> clientNetworks) =>
        [.. endpoints
            .Where(e => clientNetworks.Contains(e.Network)
                && string.Equals(e.ContainerName?.TrimStart('/'), name, StringComparison.OrdinalIgnoreCase)
                && IPAddress.TryParse(e.IpAddress[0], out _))
            .Select(e => IPAddress.Parse(e.IpAddress[0]))
            .Distinct()];

    /// <summary>
    /// The networks of the local container that sent a query from <paramref name="client"/>: found by
    /// its address on Docker's gateway bridge (how Docker's embedded DNS forwards from a container),
    /// else by a Contiv address that is unique among this host's endpoints.
    /// </summary>
    public static IReadOnlySet<string> ClientNetworks(
        IPAddress client, string hostName, IReadOnlyList<EndpointOper> endpoints, IReadOnlyList<DockerAttachment> gatewayBridge)
    {
        var local = endpoints.Where(e => e.HomingHost == hostName).ToList();
        var containerId = gatewayBridge.FirstOrDefault(a => a.IPv4Address?.Split('/')[0] == client.ToString())?.ContainerId;
        if (containerId is not null)
        {
            return local.Where(e => e.ContainerId == containerId).Select(e => e.Network).ToHashSet(StringComparer.Ordinal);
        }

        var byAddress = local.Where(e => e.IpAddress[0] == client.ToString()).ToList();

        // Tenants may reuse addresses on one host: an ambiguous source gets nothing.
        return byAddress.Select(e => Names.ParseNetworkId(e.Network).Tenant).Distinct().Count() == 1
            ? byAddress.Select(e => e.Network).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
    }

    /// <summary>
    /// The networks of the local container that asked from <paramref name="client"/> on network
    /// <paramref name="networkId"/> (a responder inside that network): an address is unique within a
    /// network, so the asker is exact; every network its container is attached to counts.
    /// </summary>
    public static IReadOnlySet<string> ClientNetworksOnNetwork(IPAddress client, string networkId, string hostName, IReadOnlyList<EndpointOper> endpoints)
    {
        var asker = endpoints.FirstOrDefault(e => e.HomingHost == hostName && e.Network == networkId && e.IpAddress[0] == client.ToString());
        if (asker is null)
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }

        var networks = new HashSet<string>(StringComparer.Ordinal) { networkId };
        if (!string.IsNullOrEmpty(asker.ContainerId))
        {
            networks.UnionWith(endpoints.Where(e => e.HomingHost == hostName && e.ContainerId == asker.ContainerId).Select(e => e.Network));
        }

        return networks;
    }
}

/// <summary>
/// Answers container-name questions from the shared store, for the host's responder and for the
/// responders inside each network. REFUSED, not NXDOMAIN, for anything not answered: Docker's
/// embedded DNS then tries the next nameserver (a real upstream) at once, and another tenant's name
/// looks exactly like an unknown one.
/// </summary>
public sealed class ContainerNameResolver(ContivControl control, IDockerEngine docker, PluginOptions options, ILogger<ContainerNameResolver> logger)
{
    /// <summary>A question that reached the host's address (through docker_gwbridge, on networks without a gateway).</summary>
    public async ValueTask<DnsAnswer> ResolveFromHostAsync(DnsQuestion question, IPAddress client, CancellationToken ct)
    {
        var endpoints = await control.ListEndpointsAsync(null, ct);
        var name = question.NormalizedName;
        if (!HasName(endpoints, name))
        {
            return DnsAnswer.Refused;
        }

        var gateway = (await docker.InspectNetworkAsync("docker_gwbridge", ct))?.Containers ?? [];
        var networks = ContainerNameResolution.ClientNetworks(Unmapped(client), options.HostName, endpoints, gateway);
        return Answer(name, client, endpoints, networks);
    }

    /// <summary>A question that reached the responder inside <paramref name="network"/>'s namespace.</summary>
    public async ValueTask<DnsAnswer> ResolveOnNetworkAsync(DnsQuestion question, IPAddress client, NetworkDatapathSpec network, CancellationToken ct)
    {
        var endpoints = await control.ListEndpointsAsync(null, ct);
        var name = question.NormalizedName;
        if (!HasName(endpoints, name))
        {
            return DnsAnswer.Refused;
        }

        var networkId = (await control.ListNetworksAsync(null, ct)).FirstOrDefault(n => n.Config.Encap == network.Encap && n.Tag == network.Tag)?.NetworkId;
        if (networkId is null)
        {
            return DnsAnswer.Refused;
        }

        var networks = ContainerNameResolution.ClientNetworksOnNetwork(Unmapped(client), networkId, options.HostName, endpoints);
        return Answer(name, client, endpoints, networks);
    }

    private DnsAnswer Answer(string name, IPAddress client, IReadOnlyList<EndpointOper> endpoints, IReadOnlySet<string> networks)
    {
        var addresses = ContainerNameResolution.Resolve(name, endpoints, networks);
        logger.LogDebug("dns {Name} from {Client} ({Networks}) -> {Addresses}", name, client, string.Join(",", networks), string.Join(",", addresses));
        return addresses.Count == 0 ? DnsAnswer.Refused : DnsAnswer.WithAddresses(addresses);
    }

    private static bool HasName(IReadOnlyList<EndpointOper> endpoints, string name) =>
        endpoints.Any(e => string.Equals(e.ContainerName?.TrimStart('/'), name, StringComparison.OrdinalIgnoreCase));

    private static IPAddress Unmapped(IPAddress client) => client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
}

/// <summary>
/// The host's DNS responders for container names across hosts: one on the host's DNS address (the
/// VTEP address, port 53, by default), reached through docker_gwbridge from networks without a
/// gateway, and one inside each network (<see cref="NetworkDnsListeners"/>), started here for the
/// networks that already exist when netplugin starts.
/// </summary>
public sealed class ContainerDnsService(
    ContainerNameResolver resolver,
    NetworkDnsListeners networkListeners,
    IHostDatapath datapath,
    PluginOptions options,
    ILogger<ContainerDnsService> logger) : BackgroundService
{
    private DnsResponder? _responder;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.DnsListen is not { } listen)
        {
            logger.LogInformation("container DNS responder disabled");
            return Task.CompletedTask;
        }

        _responder = new DnsResponder(listen, resolver.ResolveFromHostAsync, new DnsResponderOptions());
        try
        {
            _responder.Start();
            logger.LogInformation("container DNS responder on {Endpoint}", listen);
        }
        catch (Exception e)
        {
            // Name resolution across hosts is lost, but the datapath must keep working.
            logger.LogError("container DNS responder could not listen on {Endpoint}: {Error}", listen, e.Message);
        }

        foreach (var network in datapath.ListNetworks())
        {
            networkListeners.Ensure(network);
        }

        return Task.CompletedTask;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_responder is not null)
        {
            await _responder.DisposeAsync();
        }

        await networkListeners.DisposeAsync();
        await base.StopAsync(cancellationToken);
    }
}


