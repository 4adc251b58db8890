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
