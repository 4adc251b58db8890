using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Contiv.Dns;

namespace Contiv.NetPlugin;

/// <summary>
/// A DNS responder inside every Contiv network on this host, on the host's DNS address (the VTEP
/// address by default), so containers reach it on-link, on their own network, whatever their routes:
/// a network with a gateway has no docker_gwbridge, and its gateway (a router on the VLAN, or the
/// tenant router in routing mode) has no path to the host's own address. Docker's embedded DNS
/// forwards from inside the container to the address dockerd was given (<c>--dns</c>); Join gives
/// containers of networks with a gateway an on-link route to it, and the network's bridge answers.
/// The listener also knows which network asked, so the asker is identified by its address on that
/// network, and tenants reusing a subnet never see each other.
/// </summary>
public sealed class NetworkDnsListeners(
    INetworkServiceAddress networks,
    ContainerNameResolver resolver,
    PluginOptions options,
    ILogger<NetworkDnsListeners> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, DnsResponder> _listening = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The address every network's responder listens on; null when the DNS responder is off or not IPv4.</summary>
    public IPEndPoint? Endpoint => options.DnsListen is { AddressFamily: AddressFamily.InterNetwork } listen ? listen : null;

    /// <summary>
    /// Starts the network's responder unless it runs already. Never throws: names across hosts are
    /// lost on that network until the next attempt, but the datapath must keep working.
    /// </summary>
    public void Ensure(NetworkDatapathSpec network)
    {
        var bridge = DatapathNames.Bridge(network);
        if (Endpoint is not { } endpoint || _listening.ContainsKey(bridge))
        {
            return;
        }

        lock (_lock)
        {
            if (_listening.ContainsKey(bridge))
            {
                return;
            }

            DnsResponder? responder = null;
            try
            {
                networks.EnsureServiceAddress(network, endpoint.Address);
                var spec = network with { NetworkId = string.Empty }; // resolved per query: the record is the truth
                responder = new DnsResponder(
                    endpoint,
                    (question, client, ct) => resolver.ResolveOnNetworkAsync(question, client, spec, ct),
                    new DnsResponderOptions { SocketFactory = (family, type, protocol) => networks.OpenSocket(network, family, type, protocol) });
                responder.Start();
                _listening[bridge] = responder;
                logger.LogInformation("DNS responder on {Endpoint} inside {Bridge} ({NetworkId})", endpoint, bridge, network.NetworkId);
            }
            catch (Exception e)
            {
                responder?.DisposeAsync().AsTask().GetAwaiter().GetResult();
                logger.LogError("DNS responder inside {Bridge} ({NetworkId}) could not start: {Error}", bridge, network.NetworkId, e.Message);
            }
        }
    }

    /// <summary>Stops the network's responder (before its namespace goes: the sockets would keep it alive).</summary>
    public void Remove(NetworkDatapathSpec network)
    {
        if (_listening.TryRemove(DatapathNames.Bridge(network), out var responder))
        {
            responder.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var bridge in _listening.Keys)
        {
            if (_listening.TryRemove(bridge, out var responder))
            {
                await responder.DisposeAsync();
            }
        }
    }
}

/// <summary>Builds and removes each network's DNS responder together with the network's datapath.</summary>
public sealed class DnsServingDatapath(IHostDatapath inner, NetworkDnsListeners listeners) : IHostDatapath
{
    public void EnsureNetwork(NetworkDatapathSpec network)
    {
        inner.EnsureNetwork(network);
        listeners.Ensure(network);
    }

    public void RemoveNetwork(NetworkDatapathSpec network)
    {
        listeners.Remove(network);
        inner.RemoveNetwork(network);
    }

    public string CreateEndpoint(NetworkDatapathSpec network, string endpointId, string macAddress, int mtu) =>
        inner.CreateEndpoint(network, endpointId, macAddress, mtu);

    public void DeleteEndpoint(NetworkDatapathSpec? network, string endpointId) => inner.DeleteEndpoint(network, endpointId);

    public void SyncRemoteEndpoints(NetworkDatapathSpec network, IReadOnlyCollection<RemoteEndpoint> endpoints, IReadOnlyCollection<string> vteps) =>
        inner.SyncRemoteEndpoints(network, endpoints, vteps);

    public IReadOnlyCollection<NetworkDatapathSpec> ListNetworks() => inner.ListNetworks();

    public void SyncTenantRouters(IReadOnlyCollection<RoutedNetwork> networks) => inner.SyncTenantRouters(networks);
}

/// <summary>What a container's sandbox already routes (read in its network namespace).</summary>
public static class SandboxRoutes
{
    /// <summary>True when the sandbox at <paramref name="sandboxKey"/> has a /32 route to <paramref name="address"/>; false when it cannot be read.</summary>
    public static bool HasHostRoute(string sandboxKey, IPAddress address)
    {
        try
        {
            return Contiv.Datapath.NetworkNamespace.Run(sandboxKey, netlink =>
                netlink.ListRoutes().Any(r => r.PrefixLength == 32 && r.Destination.Equals(address)));
        }
        catch (Exception e) when (e is Contiv.Datapath.NetlinkException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
