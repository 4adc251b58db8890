using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.Uapi;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// The little of ctnetlink policy needs: forget a namespace's IPv4 connection tracking entries, so
/// that a changed ruleset also judges connections that were already established. After a flush,
/// the next packet of a TCP connection is picked up mid-stream as a new connection (the kernel's
/// default nf_conntrack_tcp_loose=1) and goes through the rules again; UDP flows likewise.
/// </summary>
public static class ConntrackNetlink
{
    private const ushort NFNL_SUBSYS_CTNETLINK = 1;
    private const ushort IPCTNL_MSG_CT_DELETE = 2;

    /// <summary>Deletes every IPv4 conntrack entry in <paramref name="networkNamespace"/> (`conntrack -F`).</summary>
    public static void FlushIpv4(NetworkNamespace networkNamespace)
    {
        ArgumentNullException.ThrowIfNull(networkNamespace);
        networkNamespace.RunInside(() =>
        {
            using var socket = new NetlinkSocket(NftUapi.NETLINK_NETFILTER);

            // A delete without a tuple attribute deletes the family's whole table.
            var request = new NetlinkMessageBuilder((ushort)((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK);
            request.AddHeader(new NfGenMessage(AF_INET, NftUapi.NFNETLINK_V0, 0));
            socket.Execute(request, "flush conntrack", networkNamespace.Path);
            return true;
        });
    }
}
