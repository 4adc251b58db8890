using Contiv.Datapath;
using Contiv.Datapath.TcBpf;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>Per network: a persistent namespace with its bridge and uplink; per endpoint: a veth pair into it.</summary>
public sealed partial class LinuxBridgeDatapath
{
    public void EnsureNetwork(NetworkDatapathSpec network)
    {
        lock (_lock)
        {
            using var ns = NetworkNamespace.CreatePersistent(NamespacePath(network));
            var inside = Inside(network);
            var bridge = DatapathNames.Bridge(network);
            if (inside.GetLink(bridge) is null)
            {
                inside.CreateBridge(bridge);
                logger.LogInformation("created bridge {Bridge} for {NetworkId} in {Namespace}", bridge, network.NetworkId, ns.Path);
            }

            inside.SetLinkUp(bridge);
            var uplink = network.Encap == "vlan" ? EnsureVlanUplink(network, ns) : EnsureVxlanUplink(network, ns);
            if (uplink is not null)
            {
                inside.SetMaster(uplink, bridge);
                inside.SetLinkUp(uplink);
            }
        }
    }

    public void RemoveNetwork(NetworkDatapathSpec network)
    {
        lock (_lock)
        {
            var path = NamespacePath(network);
            if (NetworkNamespace.IsMountedNamespace(path))
            {
                var inside = Inside(network);
                foreach (var link in inside.ListLinks().Where(l => l.Name != "lo"))
                {
                    TryDelete(inside, link.Name);
                }
            }

            if (network.Encap == "vlan" && !string.IsNullOrEmpty(options.VlanInterface) && !host.SupportsVlanDevices() && TcBpfVlanUplink.IsSupported())
            {
                using var vlan = new TcBpfVlanUplink(host);
                vlan.Remove(options.VlanInterface, network.Tag);
            }

            ForgetPolicy(path);
            if (_inside.TryRemove(path, out var netlink))
            {
                netlink.Dispose();
            }

            NetworkNamespace.DeletePersistent(path);
            logger.LogInformation("removed datapath of {NetworkId} ({Encap} {Tag})", network.NetworkId, network.Encap, network.Tag);
        }
    }

    public string CreateEndpoint(NetworkDatapathSpec network, string endpointId, string macAddress, int mtu)
    {
        lock (_lock)
        {
            var bridgeSide = DatapathNames.HostVeth(endpointId);
            var containerSide = DatapathNames.ContainerVeth(endpointId);
            var inside = Inside(network);

            // A retried CreateEndpoint (or one from before a crash) may have left the pair behind.
            TryDelete(host, containerSide);
            TryDelete(inside, bridgeSide);
            using (var ns = NetworkNamespace.Open(NamespacePath(network)))
            {
                host.CreateVethPair(new VethPairOptions(containerSide, bridgeSide, mtu, PeerNamespace: ns));
            }

            try
            {
                host.SetMacAddress(containerSide, MacAddress.Parse(macAddress).ToPhysicalAddress());
                inside.SetMaster(bridgeSide, DatapathNames.Bridge(network));
                inside.SetLinkUp(bridgeSide);
            }
            catch
            {
                TryDelete(host, containerSide);
                throw;
            }

            return containerSide;
        }
    }

    public void DeleteEndpoint(NetworkDatapathSpec? network, string endpointId)
    {
        lock (_lock)
        {
            // Deleting either end of a veth deletes both. The container end is gone already when
            // Docker destroyed the sandbox, or back in the host namespace after a Leave.
            TryDelete(host, DatapathNames.ContainerVeth(endpointId));
            if (network is not null && NetworkNamespace.IsMountedNamespace(NamespacePath(network)))
            {
                TryDelete(Inside(network), DatapathNames.HostVeth(endpointId));

                // A netprofile's ifb is not tied to the veth: it would outlive the endpoint.
                TryDelete(Inside(network), DatapathNames.ProfileIfb(endpointId));
                ForgetEndpointDscp(network, endpointId);
            }
        }
    }
}
