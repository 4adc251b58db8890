namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// Numbers from the kernel's uapi headers for tc over rtnetlink (linux/rtnetlink.h, pkt_sched.h,
/// pkt_cls.h, if_ether.h, if.h), under their kernel names so they can be grepped against the headers.
/// </summary>
internal static class TcUapi
{
    public const byte AF_UNSPEC = 0;

    // linux/netlink.h
    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLM_F_DUMP = 0x300;
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_EXCL = 0x200;
    public const ushort NLM_F_CREATE = 0x400;

    /// <summary>"add": fail with EEXIST instead of touching an existing object.</summary>
    public const ushort CreateFlags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

    /// <summary>"replace": create, or swap the existing object for the new one.</summary>
    public const ushort ReplaceFlags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    public const ushort ChangeFlags = NLM_F_REQUEST | NLM_F_ACK;
    public const ushort DumpFlags = NLM_F_REQUEST | NLM_F_DUMP;

    // linux/rtnetlink.h message types
    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_NEWQDISC = 36;
    public const ushort RTM_DELQDISC = 37;
    public const ushort RTM_GETQDISC = 38;
    public const ushort RTM_NEWTFILTER = 44;
    public const ushort RTM_DELTFILTER = 45;
    public const ushort RTM_GETTFILTER = 46;

    // linux/rtnetlink.h TCA_* (attributes after struct tcmsg)
    public const ushort TCA_KIND = 1;
    public const ushort TCA_OPTIONS = 2;
    public const ushort TCA_CHAIN = 11;

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

    // linux/if.h
    public const uint IFF_PROMISC = 0x100;

    /// <summary>TC_H_MAKE(maj, min) from pkt_sched.h.</summary>
    public static uint MakeHandle(uint major, uint minor) => (major & TC_H_MAJ_MASK) | (minor & TC_H_MIN_MASK);
}
