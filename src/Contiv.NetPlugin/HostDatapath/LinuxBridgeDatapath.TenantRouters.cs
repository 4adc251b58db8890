using System.Net;
using Contiv.Datapath;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>fwd-mode routing: one router namespace per tenant holding every routed network's gateway.</summary>
public sealed partial class LinuxBridgeDatapath
{
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

                router.SetMacAddress(routerSide, MacAddress.TenantRouterFromIPv4(gateway).ToPhysicalAddress());
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
}
