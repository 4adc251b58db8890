using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>The address host services (the DNS responder) answer on inside each network, and sockets in its namespace.</summary>
public sealed partial class LinuxBridgeDatapath
{
    /// <summary>
    /// Gives the network's bridge <paramref name="address"/>/32, a MAC of its own that never changes (a
    /// bridge otherwise takes the lowest MAC of its ports, which moves as containers come and go and
    /// would leave containers' ARP entries pointing at another container), and a default route on the
    /// bridge so replies reach any container address of the network. Nothing else lives in this
    /// namespace, so the route cannot send anything elsewhere.
    /// </summary>
    public void EnsureServiceAddress(NetworkDatapathSpec network, IPAddress address)
    {
        lock (_lock)
        {
            var inside = Inside(network);
            var bridge = DatapathNames.Bridge(network);
            var link = inside.GetLink(bridge) ?? throw new ContivException(ErrorKind.Unavailable, $"network {network.NetworkId} has no bridge {bridge} on this host");
            var mac = NetworkServiceMac(address);
            if (!mac.Equals(link.MacAddress))
            {
                inside.SetMacAddress(bridge, mac);
            }

            if (!inside.ListAddresses(bridge).Any(a => a.Address.Equals(address)))
            {
                inside.AddAddress(bridge, address, 32);
                logger.LogInformation("network service address {Address} on {Bridge}", address, bridge);
            }

            if (!inside.ListRoutes().Any(r => r.PrefixLength == 0 && r.OutputIndex == link.Index))
            {
                inside.AddRoute(new RouteSpec(IPAddress.Any, 0, OutputDevice: bridge));
            }
        }
    }

    public System.Net.Sockets.Socket OpenSocket(NetworkDatapathSpec network, System.Net.Sockets.AddressFamily family, System.Net.Sockets.SocketType type, System.Net.Sockets.ProtocolType protocol)
    {
        using var ns = NetworkNamespace.Open(NamespacePath(network));
        return ns.OpenSocket(family, type, protocol);
    }

    /// <summary><c>02:04:</c> and the service address: distinct per host (each host's address differs), stable forever.</summary>
    internal static PhysicalAddress NetworkServiceMac(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return MacAddress.NetworkServiceFromIPv4((uint)((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3])).ToPhysicalAddress();
    }
}
