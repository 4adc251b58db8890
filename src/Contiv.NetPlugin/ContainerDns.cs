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
}

/// <summary>
/// The host's DNS responder for container names across hosts. Docker's embedded DNS answers names
/// of containers on the same engine and forwards other queries, from inside the container, to the
/// nameservers of the host's resolv.conf (or dockerd --dns): point those at this host's address
/// (the responder listens on the VTEP address, port 53, by default).
/// </summary>
public sealed class ContainerDnsService(
    ContivControl control,
    IDockerEngine docker,
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

        _responder = new DnsResponder(listen, ResolveAsync, new DnsResponderOptions());
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

        return Task.CompletedTask;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_responder is not null)
        {
            await _responder.DisposeAsync();
        }

        await base.StopAsync(cancellationToken);
    }

    private async ValueTask<DnsAnswer> ResolveAsync(DnsQuestion question, IPAddress client, CancellationToken ct)
    {
        var endpoints = await control.ListEndpointsAsync(null, ct);
        var name = question.NormalizedName;
        // REFUSED, not NXDOMAIN, for anything we do not answer: Docker's embedded DNS then tries the
        // next nameserver (a real upstream), and another tenant's name looks exactly like an unknown one.
        if (!endpoints.Any(e => string.Equals(e.ContainerName?.TrimStart('/'), name, StringComparison.OrdinalIgnoreCase)))
        {
            return DnsAnswer.Refused;
        }

        var gateway = (await docker.InspectNetworkAsync("docker_gwbridge", ct))?.Containers ?? [];
        var networks = ContainerNameResolution.ClientNetworks(client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client, options.HostName, endpoints, gateway);
        var addresses = ContainerNameResolution.Resolve(name, endpoints, networks);
        logger.LogDebug("dns {Name} from {Client} ({Networks}) -> {Addresses}", name, client, string.Join(",", networks), string.Join(",", addresses));
        return addresses.Count == 0 ? DnsAnswer.Refused : DnsAnswer.WithAddresses(addresses);
    }
}
