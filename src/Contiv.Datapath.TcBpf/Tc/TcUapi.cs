namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// Numbers from the kernel's uapi headers that only tc's eBPF datapath needs (linux/pkt_sched.h,
/// pkt_cls.h, if_ether.h), under their kernel names so they can be grepped against the headers.
/// The netlink and rtnetlink ones (RTM_*QDISC, RTM_*TFILTER, TCA_KIND, struct tcmsg) are in
/// Contiv.Datapath's <see cref="Netlink.Uapi"/>.
/// </summary>
internal static class TcUapi
{
    // linux/pkt_sched.h handles. TC_H_CLSACT shares TC_H_INGRESS's value; the clsact qdisc is
    // ffff:0 under it, and its filters hang off two pseudo classes, ffff:fff2 and ffff:fff3.
    public const uint TC_H_MAJ_MASK = 0xFFFF0000;
    public const uint TC_H_MIN_MASK = 0x0000FFFF;
    public const uint TC_H_INGRESS = 0xFFFFFFF1;
    public const uint TC_H_CLSACT = TC_H_INGRESS;
    public const uint TC_H_MIN_INGRESS = 0xFFF2;
    public const uint TC_H_MIN_EGRESS = 0xFFF3;

    /// <summary>The root of a device's egress qdisc tree (tcm_parent of `tc qdisc replace dev X root`).</summary>
    public const uint TC_H_ROOT = 0xFFFFFFFF;

    // linux/pkt_sched.h, tbf options (nested in TCA_OPTIONS): TCA_TBF_PARMS is struct tc_tbf_qopt.
    public const ushort TCA_TBF_PARMS = 1;
    public const ushort TCA_TBF_RATE64 = 4;
    public const ushort TCA_TBF_BURST = 6;
    public const ushort TCA_TBF_PAD = 8;

    /// <summary>enum tc_link_layer: rates count whole Ethernet frames; also tells the kernel no rate table follows.</summary>
    public const byte TC_LINKLAYER_ETHERNET = 1;

    /// <summary>struct tc_ratespec is 12 bytes; struct tc_tbf_qopt is rate, peakrate, limit, buffer, mtu.</summary>
    public const int TcRatespecSize = 12;
    public const int TcTbfQoptSize = (2 * TcRatespecSize) + 12;

    /// <summary>PSCHED_SHIFT (net/pkt_sched.h): a psched tick is 64 ns; tc_tbf_qopt.buffer counts ticks.</summary>
    public const int PSCHED_SHIFT = 6;

    // linux/pkt_cls.h, u32 options: TCA_U32_SEL is struct tc_u32_sel + nkeys struct tc_u32_key.
    public const ushort TCA_U32_SEL = 5;
    public const ushort TCA_U32_ACT = 7;
    public const byte TC_U32_TERMINAL = 1;
    public const int TcU32SelSize = 16;
    public const int TcU32KeySize = 16;

    // linux/pkt_cls.h, one action of a filter's action list (nested under its order, 1..).
    public const ushort TCA_ACT_KIND = 1;
    public const ushort TCA_ACT_OPTIONS = 2;

    // linux/tc_act/tc_mirred.h: TCA_MIRRED_PARMS is struct tc_mirred (tc_gen, eaction, ifindex).
    public const ushort TCA_MIRRED_PARMS = 2;
    public const int TCA_EGRESS_REDIR = 1;
    public const int TcMirredSize = 28;

    /// <summary>TC_ACT_STOLEN: the action consumed the packet (what `mirred egress redirect` reports).</summary>
    public const int TC_ACT_STOLEN = 4;

    // linux/pkt_cls.h, cls_bpf options (nested in TCA_OPTIONS)
    public const ushort TCA_BPF_FD = 6;
    public const ushort TCA_BPF_NAME = 7;
    public const ushort TCA_BPF_FLAGS = 8;
    public const ushort TCA_BPF_TAG = 10;
    public const ushort TCA_BPF_ID = 11;

    /// <summary>The program's return value is the TC_ACT_* verdict ("direct-action"), no tc actions needed.</summary>
    public const uint TCA_BPF_FLAG_ACT_DIRECT = 1 << 0;

    // linux/if_ether.h: every protocol, as tc's filter protocol (network byte order in tcm_info).
    public const ushort ETH_P_ALL = 0x0003;

    /// <summary>TC_H_MAKE(maj, min) from pkt_sched.h.</summary>
    public static uint MakeHandle(uint major, uint minor) => (major & TC_H_MAJ_MASK) | (minor & TC_H_MIN_MASK);
}
