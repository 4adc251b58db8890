using System.Collections.Concurrent;
using Contiv.Datapath;

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
public sealed partial class LinuxBridgeDatapath(INetlink host, PluginOptions options, ILogger<LinuxBridgeDatapath> logger) : IHostDatapath, INetworkServiceAddress, IDisposable
{
    private readonly ConcurrentDictionary<string, RouteNetlink> _inside = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private string NamespaceDir => Path.Combine(options.StateDir, "netns");

    public string NamespacePath(NetworkDatapathSpec network) => Path.Combine(NamespaceDir, DatapathNames.Bridge(network));

    public IReadOnlyCollection<NetworkDatapathSpec> ListNetworks() =>
        Directory.Exists(NamespaceDir)
            ? [.. Directory.EnumerateFiles(NamespaceDir).Select(f => DatapathNames.ParseBridge(Path.GetFileName(f))).OfType<NetworkDatapathSpec>()]
            : [];

    public void Dispose()
    {
        DisposePolicy();
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
}
