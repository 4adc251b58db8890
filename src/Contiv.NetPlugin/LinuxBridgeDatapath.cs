using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath;
using Contiv.Datapath.TcBpf;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>
/// The Linux datapath. Each network gets its own network namespace (bind-mounted under the state
/// dir, so it outlives netplugin restarts) holding a bridge and, for VXLAN, a vxlan device (VNI =
/// tag, learning off). Endpoints are veth pairs: one end in the network's bridge, the other handed
/// to Docker, which moves it into the container.
/// <para>
/// The namespace is what Docker's own overlay driver does too, for the same reasons: tenants may
/// reuse subnets without the host ever routing between them, and Docker's iptables rules on the
/// host (FORWARD policy DROP with br_netfilter) never see our bridged frames. The vxlan device is
/// created in the host namespace, so its UDP socket lives on the host's underlay, then moved in.
/// </para>
/// Remote endpoints are reached through static FDB entries (MAC → remote VTEP), flooding entries
/// (all-zeros MAC → each remote VTEP) and permanent ARP entries, so no multicast or data-plane
/// learning is needed on the underlay.
/// </summary>
public sealed class LinuxBridgeDatapath(INetlink host, PluginOptions options, ILogger<LinuxBridgeDatapath> logger) : IHostDatapath, INetworkServiceAddress, IDisposable
{
    private static readonly PhysicalAddress FloodMac = PhysicalAddress.Parse("00-00-00-00-00-00");
    private readonly ConcurrentDictionary<string, RouteNetlink> _inside = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private string NamespaceDir => Path.Combine(options.StateDir, "netns");

    public string NamespacePath(NetworkDatapathSpec network) => Path.Combine(NamespaceDir, DatapathNames.Bridge(network));

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
                host.SetMacAddress(containerSide, PhysicalAddress.Parse(macAddress.Replace(':', '-').ToUpperInvariant()));
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
            }
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
            if (!NetworkNamespace.IsMountedNamespace(NamespacePath(network)))
            {
                return;
            }

            var inside = Inside(network);
            var device = DatapathNames.Vxlan(network.Tag);
            var link = inside.GetLink(device);
            if (link is null)
            {
                return;
            }

            var wantedUnicast = endpoints.ToDictionary(e => NormalizeMac(e.MacAddress), e => IPAddress.Parse(e.VtepIp), StringComparer.Ordinal);
            var wantedFlood = vteps.Select(IPAddress.Parse).ToHashSet();
            var current = inside.ListFdbEntries(device).Where(f => f.IsSelf && f.Destination is not null).ToList();
            var flood = NormalizeMac(FloodMac.ToString());

            foreach (var entry in current)
            {
                var mac = NormalizeMac(entry.MacAddress.ToString());
                var keep = mac == flood
                    ? wantedFlood.Contains(entry.Destination!)
                    : wantedUnicast.TryGetValue(mac, out var vtep) && vtep.Equals(entry.Destination);
                if (!keep)
                {
                    inside.DeleteFdbEntry(device, entry.MacAddress, entry.Destination);
                }
            }

            foreach (var vtep in wantedFlood.Where(v => !current.Any(f => NormalizeMac(f.MacAddress.ToString()) == flood && v.Equals(f.Destination))))
            {
                inside.AppendFdbEntry(device, FloodMac, vtep);
            }

            foreach (var (mac, vtep) in wantedUnicast)
            {
                if (!current.Any(f => NormalizeMac(f.MacAddress.ToString()) == mac && vtep.Equals(f.Destination)))
                {
                    inside.ReplaceFdbEntry(device, ParseMac(mac), vtep);
                }
            }

            // Permanent ARP entries for remote endpoints on the vxlan device: the desired set, exactly.
            var wantedArp = endpoints.ToDictionary(e => IPAddress.Parse(e.IpAddress), e => NormalizeMac(e.MacAddress));
            var currentArp = inside.ListNeighbours(device).Where(n => n.LinkIndex == link.Index && n.IsPermanent).ToList();
            foreach (var neighbour in currentArp)
            {
                if (!wantedArp.TryGetValue(neighbour.Address, out var mac) || mac != NormalizeMac(neighbour.MacAddress?.ToString() ?? string.Empty))
                {
                    inside.DeleteNeighbour(device, neighbour.Address);
                }
            }

            foreach (var (ip, mac) in wantedArp)
            {
                if (!currentArp.Any(n => n.Address.Equals(ip) && NormalizeMac(n.MacAddress?.ToString() ?? string.Empty) == mac))
                {
                    inside.ReplaceNeighbour(device, ip, ParseMac(mac));
                }
            }
        }
    }

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
        return new PhysicalAddress([0x02, 0x04, bytes[0], bytes[1], bytes[2], bytes[3]]);
    }

    public IReadOnlyCollection<NetworkDatapathSpec> ListNetworks() =>
        Directory.Exists(NamespaceDir)
            ? [.. Directory.EnumerateFiles(NamespaceDir).Select(f => DatapathNames.ParseBridge(Path.GetFileName(f))).OfType<NetworkDatapathSpec>()]
            : [];

    /// <summary>Router namespaces are named after their tenant: <c>cvrt-TENANT</c>.</summary>
    private const string RouterPrefix = "cvrt-";

    public void SyncTenantRouters(IReadOnlyCollection<RoutedNetwork> networks)
    {
        lock (_lock)
        {
            var byTenant = networks.GroupBy(n => n.Tenant).ToDictionary(g => RouterPrefix + g.Key, g => g.ToList(), StringComparer.Ordinal);
            if (Directory.Exists(NamespaceDir))
            {
                foreach (var stale in Directory.EnumerateFiles(NamespaceDir, RouterPrefix + "*").Select(Path.GetFileName).Where(n => !byTenant.ContainsKey(n!)))
                {
                    var path = Path.Combine(NamespaceDir, stale!);
                    if (_inside.TryRemove(path, out var old))
                    {
                        old.Dispose();
                    }

                    NetworkNamespace.DeletePersistent(path);
                    logger.LogInformation("removed tenant router {Router}", stale);
                }
            }

            foreach (var (name, routed) in byTenant)
            {
                EnsureRouter(Path.Combine(NamespaceDir, name), routed);
            }
        }
    }

    /// <summary>
    /// One tenant's router on this host: a namespace with forwarding on and, per routed network, a
    /// veth whose router end holds the gateway address and whose other end is a port of the
    /// network's bridge. Every host has the same router with the same gateway MACs (derived from
    /// the gateway address), so a container's gateway is always on its own host.
    /// </summary>
    private void EnsureRouter(string path, List<RoutedNetwork> routed)
    {
        using var routerNs = NetworkNamespace.CreatePersistent(path);
        routerNs.Run(netlink =>
        {
            netlink.SetLinkUp("lo");

            // Sysctls under /proc/sys/net belong to the namespace of the thread that opens them.
            File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "1");
        });
        var router = _inside.GetOrAdd(path, p =>
        {
            using var ns = NetworkNamespace.Open(p);
            return ns.OpenNetlink();
        });

        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var network in routed)
        {
            if (!NetworkNamespace.IsMountedNamespace(NamespacePath(network.Network)))
            {
                continue;
            }

            var tag = DatapathNames.Bridge(network.Network)[5..];
            var routerSide = "gw-" + tag;
            var bridgeSide = "gp-" + tag;
            wanted.Add(routerSide);
            var inside = Inside(network.Network);
            if (router.GetLink(routerSide) is null || inside.GetLink(bridgeSide) is null)
            {
                TryDelete(router, routerSide);
                TryDelete(inside, bridgeSide);
                using var networkNs = NetworkNamespace.Open(NamespacePath(network.Network));
                router.CreateVethPair(new VethPairOptions(routerSide, bridgeSide, NetworkRules.EndpointMtu(network.Network.Encap, options.UnderlayMtu), PeerNamespace: networkNs));
                if (!Ipv4Subnet.TryParseAddress(network.Gateway, out var gateway))
                {
                    throw new ContivException(ErrorKind.Invalid, $"gateway {network.Gateway} of {network.Network.NetworkId} is not an IPv4 address");
                }

                router.SetMacAddress(routerSide, PhysicalAddress.Parse(MacAddress.FromIPv4(gateway).Replace("02:02:", "02:03:", StringComparison.Ordinal).Replace(':', '-').ToUpperInvariant()));
                router.AddAddress(routerSide, IPAddress.Parse(network.Gateway), network.PrefixLength);
                logger.LogInformation("tenant router {Router}: gateway {Gateway}/{Prefix} on {Network}", Path.GetFileName(path), network.Gateway, network.PrefixLength, network.Network.NetworkId);
            }

            inside.SetMaster(bridgeSide, DatapathNames.Bridge(network.Network));
            inside.SetLinkUp(bridgeSide);
            router.SetLinkUp(routerSide);
        }

        foreach (var link in router.ListLinks().Where(l => l.Name.StartsWith("gw-", StringComparison.Ordinal) && !wanted.Contains(l.Name)))
        {
            TryDelete(router, link.Name);
        }
    }

    public void Dispose()
    {
        foreach (var netlink in _inside.Values)
        {
            netlink.Dispose();
        }

        _inside.Clear();
    }

    /// <summary>A netlink socket inside the network's namespace (kept open: sockets keep their namespace).</summary>
    private RouteNetlink Inside(NetworkDatapathSpec network)
    {
        var path = NamespacePath(network);
        return _inside.GetOrAdd(path, p =>
        {
            using var ns = NetworkNamespace.Open(p);
            return ns.OpenNetlink();
        });
    }

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

    private static void TryDelete(INetlink netlink, string name)
    {
        if (netlink.GetLink(name) is null)
        {
            return;
        }

        try
        {
            netlink.DeleteLink(name);
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.ENODEV)
        {
            // Removed concurrently (e.g. with the container's namespace).
        }
    }

    private static string NormalizeMac(string mac) => mac.Replace("-", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static PhysicalAddress ParseMac(string normalized) => PhysicalAddress.Parse(normalized.ToUpperInvariant());
}
