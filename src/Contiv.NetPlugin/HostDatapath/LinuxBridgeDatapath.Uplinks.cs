using System.Net;
using Contiv.Datapath;
using Contiv.Datapath.TcBpf;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>How a network's bridge reaches the underlay: a VXLAN device, an 802.1Q device, or tc eBPF tagging.</summary>
public sealed partial class LinuxBridgeDatapath
{
    private string? EnsureVxlanUplink(NetworkDatapathSpec network, NetworkNamespace ns)
    {
        if (string.IsNullOrEmpty(options.VtepIp))
        {
            // Single-host mode: no VTEP configured, the bridge alone connects local containers.
            return null;
        }

        var name = DatapathNames.Vxlan(network.Tag);
        if (Inside(network).GetLink(name) is not null)
        {
            return name;
        }

        // Created here so its UDP socket binds in the host namespace, then moved next to the bridge.
        TryDelete(host, name);
        host.CreateVxlan(new VxlanOptions(
            name,
            network.Tag,
            IPAddress.Parse(options.VtepIp),
            UnderlayDevice: options.VlanInterface,
            Port: options.VxlanPort,
            Learning: false,
            Mtu: NetworkRules.EndpointMtu("vxlan", options.UnderlayMtu)));
        host.MoveToNamespace(name, ns);
        logger.LogInformation("created vxlan {Device} VNI {Vni} local {Vtep} port {Port}", name, network.Tag, options.VtepIp, options.VxlanPort);
        return name;
    }

    private string? EnsureVlanUplink(NetworkDatapathSpec network, NetworkNamespace ns)
    {
        if (string.IsNullOrEmpty(options.VlanInterface))
        {
            return null;
        }

        var name = DatapathNames.Vlan(network.Tag);
        var inside = Inside(network);
        if (host.SupportsVlanDevices())
        {
            // Full kernels: an 802.1Q sub-interface of the uplink, moved next to the bridge.
            if (inside.GetLink(name) is null)
            {
                host.CreateVlan(name, options.VlanInterface, network.Tag);
                host.MoveToNamespace(name, ns);
            }

            return name;
        }

        // Kernels without 802.1Q devices: tag and untag in tc eBPF on the uplink.
        if (!TcBpfVlanUplink.IsSupported(out var why))
        {
            throw new ContivException(ErrorKind.Unavailable,
                $"vlan network {network.NetworkId} cannot be built: this kernel has no 802.1Q devices and cannot load tc eBPF programs ({why})");
        }

        using var vlan = new TcBpfVlanUplink(host);
        vlan.EnsureAcrossNamespaces(ns, inside, DatapathNames.Bridge(network), options.VlanInterface, network.Tag);
        logger.LogInformation("vlan {Vlan} of {Uplink} attached to {Bridge} through tc eBPF", network.Tag, options.VlanInterface, DatapathNames.Bridge(network));
        return null;
    }
}
