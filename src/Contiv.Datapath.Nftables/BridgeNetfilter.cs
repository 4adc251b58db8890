namespace Contiv.Datapath.Nftables;

/// <summary>
/// br_netfilter's switch for a network namespace: with net.bridge.bridge-nf-call-iptables=1,
/// IPv4 frames the namespace's bridges forward also pass the IPv4 netfilter hooks (conntrack,
/// and the inet family's forward chain), which is where policy is enforced. The sysctl is per
/// namespace on current kernels; it is written from a thread that has entered the namespace, since
/// /proc/sys/net shows the namespace of the thread that opens it.
/// </summary>
public static class BridgeNetfilter
{
    private const string CallIptables = "/proc/sys/net/bridge/bridge-nf-call-iptables";

    /// <summary>Sets bridge-nf-call-iptables in <paramref name="networkNamespace"/>.</summary>
    public static void SetCallIptables(NetworkNamespace networkNamespace, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(networkNamespace);
        networkNamespace.RunInside(() =>
        {
            File.WriteAllText(CallIptables, enabled ? "1" : "0");
            return true;
        });
    }

    /// <summary>Reads bridge-nf-call-iptables in <paramref name="networkNamespace"/>; null without br_netfilter.</summary>
    public static bool? GetCallIptables(NetworkNamespace networkNamespace)
    {
        ArgumentNullException.ThrowIfNull(networkNamespace);
        return networkNamespace.RunInside<bool?>(() =>
            File.Exists(CallIptables) ? File.ReadAllText(CallIptables).Trim() == "1" : null);
    }
}
