using System.Buffers.Binary;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.RtnetlinkRequests;
using static Contiv.Datapath.Netlink.Uapi;
using static Contiv.Datapath.TcBpf.Tc.TcUapi;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>Which clsact hook a filter hangs off.</summary>
public enum TcHook
{
    /// <summary>Frames the device receives (parent ffff:fff2), after skb_vlan_untag().</summary>
    Ingress,

    /// <summary>Frames the device sends (parent ffff:fff3).</summary>
    Egress,
}

/// <summary>
/// Builds the tc rtnetlink requests, the way `tc qdisc add dev X clsact` and
/// `tc filter replace dev X ingress prio P handle H bpf da fd N name S` send them. Pure: device
/// names are resolved to indexes by the caller, so each request can be checked byte for byte.
/// </summary>
internal static class TcRequests
{
    /// <summary>The clsact qdisc's handle, TC_H_MAKE(TC_H_CLSACT, 0) = ffff:0.</summary>
    public const uint ClsactHandle = TC_H_CLSACT & TC_H_MAJ_MASK;

    /// <summary>tcm_parent of a filter on a clsact hook: ffff:fff2 (ingress) or ffff:fff3 (egress).</summary>
    public static uint ParentOf(TcHook hook) =>
        MakeHandle(TC_H_CLSACT, hook == TcHook.Ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);

    /// <summary>tcm_info of a filter: the priority in the upper 16 bits, the protocol in network byte order in the lower.</summary>
    public static uint FilterInfo(ushort priority, ushort protocol) =>
        MakeHandle((uint)priority << 16, NetworkOrder(protocol));

    public static ushort NetworkOrder(ushort value) =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;

    /// <summary>
    /// RTM_NEWQDISC "clsact" at parent TC_H_CLSACT with handle ffff:0. NLM_F_EXCL makes an existing
    /// clsact (or ingress) qdisc answer EEXIST, which the caller takes as "already there".
    /// </summary>
    public static NetlinkMessageBuilder AddClsact(int index)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWQDISC, CreateFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, ClsactHandle, TC_H_CLSACT, 0));
        request.AddString(TCA_KIND, "clsact");
        return request;
    }

    /// <summary>RTM_DELQDISC of the clsact qdisc: removes it with every filter on both hooks.</summary>
    public static NetlinkMessageBuilder DeleteClsact(int index)
    {
        var request = new NetlinkMessageBuilder(RTM_DELQDISC, ChangeFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, ClsactHandle, TC_H_CLSACT, 0));
        request.AddString(TCA_KIND, "clsact");
        return request;
    }

    public static NetlinkMessageBuilder DumpQdiscs()
    {
        var request = new NetlinkMessageBuilder(RTM_GETQDISC, DumpFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, 0, 0, 0, 0));
        return request;
    }

    /// <summary>
    /// RTM_NEWTFILTER kind "bpf" with NLM_F_CREATE|NLM_F_REPLACE ("tc filter replace"): creates
    /// the filter, or swaps the program of the one already at this priority and handle.
    /// TCA_OPTIONS holds TCA_BPF_FD (the filter takes its own reference to the program),
    /// TCA_BPF_NAME (shown by `tc filter show`, dumped back for reconciling) and TCA_BPF_FLAGS
    /// with TCA_BPF_FLAG_ACT_DIRECT.
    /// </summary>
    public static NetlinkMessageBuilder ReplaceBpfFilter(int index, TcHook hook, ushort priority, uint handle, int programFd, string name)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWTFILTER, ReplaceFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, handle, ParentOf(hook), FilterInfo(priority, ETH_P_ALL)));
        request.AddString(TCA_KIND, "bpf");
        var options = request.BeginNested(TCA_OPTIONS);
        request.AddUInt32(TCA_BPF_FD, (uint)programFd);
        request.AddString(TCA_BPF_NAME, name);
        request.AddUInt32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
        request.EndNested(options);
        return request;
    }

    /// <summary>RTM_DELTFILTER of one filter (priority, protocol, handle and kind must all match).</summary>
    public static NetlinkMessageBuilder DeleteFilter(int index, TcHook hook, ushort priority, uint handle)
    {
        var request = new NetlinkMessageBuilder(RTM_DELTFILTER, ChangeFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, handle, ParentOf(hook), FilterInfo(priority, ETH_P_ALL)));
        request.AddString(TCA_KIND, "bpf");
        return request;
    }

    /// <summary>RTM_GETTFILTER dump of one hook of one device (all priorities, chain 0).</summary>
    public static NetlinkMessageBuilder DumpFilters(int index, TcHook hook)
    {
        var request = new NetlinkMessageBuilder(RTM_GETTFILTER, DumpFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, 0, ParentOf(hook), 0));
        return request;
    }

    /// <summary>
    /// Sets or clears IFF_PROMISC only (ifi_change masks the other flags), like `ip link set X promisc on`.
    /// </summary>
    public static NetlinkMessageBuilder SetPromiscuous(int index, bool on)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWLINK, ChangeFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, index, on ? IFF_PROMISC : 0u, IFF_PROMISC));
        return request;
    }
}
