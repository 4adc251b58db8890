using System.Net;
using System.Net.Sockets;
using Contiv.Datapath;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>Pods: the endpoint's container end moved into the pod's namespace by netplugin itself.</summary>
public sealed partial class LinuxBridgeDatapath : IPodInterfaces
{
    public void AttachToPod(string containerSide, PodInterfaceConfig config)
    {
        using var pod = NetworkNamespace.Open(config.NetworkNamespace);
        lock (_lock)
        {
            host.MoveToNamespace(containerSide, pod);
        }

        pod.Run(netlink =>
        {
            // Moved links arrive down, so the rename works on every kernel.
            netlink.RenameLink(containerSide, config.InterfaceName);
            netlink.SetMacAddress(config.InterfaceName, MacAddress.Parse(config.MacAddress).ToPhysicalAddress());
            netlink.SetMtu(config.InterfaceName, config.Mtu);
            netlink.AddAddress(config.InterfaceName, config.Address, config.PrefixLength);
            netlink.SetLinkUp(config.InterfaceName);
            if (netlink.GetLink("lo") is { IsAdminUp: false })
            {
                netlink.SetLinkUp("lo");
            }

            if (config.Gateway is not null)
            {
                netlink.AddRoute(new RouteSpec(IPAddress.Any, 0, config.Gateway, config.InterfaceName));
            }
        });
    }

    public PodInterfaceState? InspectPod(string networkNamespace, string interfaceName)
    {
        if (!File.Exists(networkNamespace))
        {
            return null;
        }

        using var pod = NetworkNamespace.Open(networkNamespace);
        return pod.Run(netlink =>
        {
            if (netlink.GetLink(interfaceName) is not { } link)
            {
                return null;
            }

            var addresses = netlink.ListAddresses(interfaceName)
                .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork)
                .Select(a => (a.Address, a.PrefixLength))
                .ToList();
            var gateways = netlink.ListRoutes()
                .Where(r => r.PrefixLength == 0 && r.Gateway is not null && r.OutputIndex == link.Index && r.Destination.AddressFamily == AddressFamily.InterNetwork)
                .Select(r => r.Gateway!)
                .ToList();
            return new PodInterfaceState(link.MacAddress is { } mac ? MacAddress.FromPhysicalAddress(mac).ToString() : string.Empty, link.Mtu, link.IsAdminUp, addresses, gateways);
        });
    }
}
