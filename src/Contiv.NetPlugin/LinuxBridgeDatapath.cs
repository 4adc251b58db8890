using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>
/// The Linux datapath: one bridge per network; for VXLAN a vxlan device (VNI = tag, learning off)
/// enslaved to it; endpoints are veth pairs whose host end joins the bridge. Remote endpoints are
/// reached through static FDB entries (MAC → remote VTEP) and flooding entries (all-zeros MAC → each
/// remote VTEP), so no multicast or data-plane learning is needed on the underlay.
/// </summary>
public sealed class LinuxBridgeDatapath(INetlink netlink, PluginOptions options, ILogger<LinuxBridgeDatapath> logger) : IHostDatapath
{
    private static readonly PhysicalAddress FloodMac = PhysicalAddress.Parse("00-00-00-00-00-00");
    private readonly Lock _lock = new();

    public void EnsureNetwork(NetworkDatapathSpec network)
    {
        lock (_lock)
        {
            var bridge = DatapathNames.Bridge(network);
            if (netlink.GetLink(bridge) is null)
            {
                netlink.CreateBridge(bridge);
                logger.LogInformation("created bridge {Bridge} for {NetworkId}", bridge, network.NetworkId);
            }

            netlink.SetLinkUp(bridge);
            var uplink = network.Encap == "vlan" ? EnsureVlanUplink(network) : EnsureVxlanUplink(network);
            if (uplink is not null)
            {
                netlink.SetMaster(uplink, bridge);
                netlink.SetLinkUp(uplink);
            }
        }
    }

    public void RemoveNetwork(NetworkDatapathSpec network)
    {
        lock (_lock)
        {
            var uplink = network.Encap == "vlan" ? DatapathNames.Vlan(network.Tag) : DatapathNames.Vxlan(network.Tag);
            DeleteIfExists(uplink);
            DeleteIfExists(DatapathNames.Bridge(network));
            logger.LogInformation("removed datapath of {NetworkId} ({Encap} {Tag})", network.NetworkId, network.Encap, network.Tag);
        }
    }

    public string CreateEndpoint(NetworkDatapathSpec network, string endpointId, string macAddress, int mtu)
    {
        lock (_lock)
        {
            var hostSide = DatapathNames.HostVeth(endpointId);
            var containerSide = DatapathNames.ContainerVeth(endpointId);

            // A retried CreateEndpoint (or one from before a crash) may have left the pair behind.
            DeleteIfExists(hostSide);
            netlink.CreateVethPair(new VethPairOptions(hostSide, containerSide, mtu));
            try
            {
                netlink.SetMacAddress(containerSide, PhysicalAddress.Parse(macAddress.Replace(':', '-').ToUpperInvariant()));
                netlink.SetMaster(hostSide, DatapathNames.Bridge(network));
                netlink.SetLinkUp(hostSide);
            }
            catch
            {
                DeleteIfExists(hostSide);
                throw;
            }

            return containerSide;
        }
    }

    public void DeleteEndpoint(string endpointId)
    {
        lock (_lock)
        {
            // Deleting one end of a veth deletes both; the container end may already be gone with its sandbox.
            DeleteIfExists(DatapathNames.HostVeth(endpointId));
            DeleteIfExists(DatapathNames.ContainerVeth(endpointId));
        }
    }

    public void SyncRemoteEndpoints(NetworkDatapathSpec network, IReadOnlyCollection<RemoteEndpoint> endpoints, IReadOnlyCollection<string> vteps)
    {
        if (network.Encap != "vxlan")
        {
            return;
        }

        lock (_lock)
        {
            var device = DatapathNames.Vxlan(network.Tag);
            if (netlink.GetLink(device) is null)
            {
                return;
            }

            var wantedUnicast = endpoints.ToDictionary(e => NormalizeMac(e.MacAddress), e => IPAddress.Parse(e.VtepIp), StringComparer.Ordinal);
            var wantedFlood = vteps.Select(IPAddress.Parse).ToHashSet();
            var current = netlink.ListFdbEntries(device).Where(f => f.IsSelf && f.Destination is not null).ToList();

            foreach (var entry in current)
            {
                var mac = NormalizeMac(entry.MacAddress.ToString());
                var keep = mac == NormalizeMac(FloodMac.ToString())
                    ? wantedFlood.Contains(entry.Destination!)
                    : wantedUnicast.TryGetValue(mac, out var vtep) && vtep.Equals(entry.Destination);
                if (!keep)
                {
                    netlink.DeleteFdbEntry(device, entry.MacAddress, entry.Destination);
                }
            }

            foreach (var vtep in wantedFlood.Where(v => !current.Any(f => f.MacAddress.Equals(FloodMac) && v.Equals(f.Destination))))
            {
                netlink.AppendFdbEntry(device, FloodMac, vtep);
            }

            foreach (var (mac, vtep) in wantedUnicast)
            {
                if (!current.Any(f => NormalizeMac(f.MacAddress.ToString()) == mac && vtep.Equals(f.Destination)))
                {
                    netlink.ReplaceFdbEntry(device, ParseMac(mac), vtep);
                }
            }

            // ARP entries on the vxlan device let the kernel answer for remote endpoints locally
            // (the vxlan "proxy" behaviour) instead of flooding every request to every VTEP.
            var device_index = netlink.GetLink(device)!.Index;
            var wantedArp = endpoints.ToDictionary(e => IPAddress.Parse(e.IpAddress), e => NormalizeMac(e.MacAddress));
            foreach (var neighbour in netlink.ListNeighbours(device).Where(n => n.LinkIndex == device_index && n.IsPermanent))
            {
                if (!wantedArp.TryGetValue(neighbour.Address, out var mac) || mac != NormalizeMac(neighbour.MacAddress?.ToString() ?? string.Empty))
                {
                    netlink.DeleteNeighbour(device, neighbour.Address);
                }
            }

            foreach (var (ip, mac) in wantedArp)
            {
                netlink.ReplaceNeighbour(device, ip, ParseMac(mac));
            }
        }
    }

    public IReadOnlyCollection<NetworkDatapathSpec> ListNetworks() =>
        [.. netlink.ListLinks().Select(l => DatapathNames.ParseBridge(l.Name)).OfType<NetworkDatapathSpec>()];

    private string? EnsureVxlanUplink(NetworkDatapathSpec network)
    {
        if (string.IsNullOrEmpty(options.VtepIp))
        {
            // Single-host mode: no VTEP configured, the bridge alone connects local containers.
            return null;
        }

        var name = DatapathNames.Vxlan(network.Tag);
        if (netlink.GetLink(name) is null)
        {
            netlink.CreateVxlan(new VxlanOptions(
                name,
                network.Tag,
                IPAddress.Parse(options.VtepIp),
                UnderlayDevice: options.VlanInterface,
                Port: options.VxlanPort,
                Learning: false,
                Mtu: NetworkRules.EndpointMtu("vxlan", options.UnderlayMtu)));
            logger.LogInformation("created vxlan {Device} VNI {Vni} local {Vtep} port {Port}", name, network.Tag, options.VtepIp, options.VxlanPort);
        }

        return name;
    }

    private string? EnsureVlanUplink(NetworkDatapathSpec network)
    {
        if (string.IsNullOrEmpty(options.VlanInterface))
        {
            return null;
        }

        if (!netlink.SupportsVlanDevices())
        {
            throw new ContivException(ErrorKind.Unavailable,
                $"vlan network {network.NetworkId} needs 802.1Q support: this kernel has no VLAN devices (load the 8021q module)");
        }

        var name = DatapathNames.Vlan(network.Tag);
        if (netlink.GetLink(name) is null)
        {
            netlink.CreateVlan(name, options.VlanInterface, network.Tag);
        }

        return name;
    }

    private void DeleteIfExists(string name)
    {
        if (netlink.GetLink(name) is not null)
        {
            try
            {
                netlink.DeleteLink(name);
            }
            catch (NetlinkException e) when (e.Errno == 19)
            {
                // ENODEV: removed concurrently (e.g. with the container's namespace).
            }
        }
    }

    private static string NormalizeMac(string mac) => mac.Replace("-", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static PhysicalAddress ParseMac(string normalized) => PhysicalAddress.Parse(normalized.ToUpperInvariant());
}
