namespace Contiv.Datapath.Netlink;

/// <summary>
/// Numbers from the kernel's uapi headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h,
/// neighbour.h, veth.h, if.h), including rtnetlink's tc messages (qdiscs and filters). They keep the kernel's names so they can be grepped against the
/// headers; values are part of the stable kernel ABI.
/// </summary>
internal static class Uapi
{
    // linux/socket.h address families as they appear in the one-byte family fields.
    public const byte AF_UNSPEC = 0;
    public const byte AF_INET = 2;
    public const byte AF_BRIDGE = 7;
    public const byte AF_INET6 = 10;
    public const int AF_NETLINK = 16;

    // linux/netlink.h
    public const int NETLINK_ROUTE = 0;
    public const int SOL_NETLINK = 270;
    public const int NETLINK_CAP_ACK = 10;
    public const int NETLINK_EXT_ACK = 11;

    public const ushort NLMSG_NOOP = 1;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort NLMSG_OVERRUN = 4;

    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_MULTI = 0x02;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLM_F_DUMP_INTR = 0x10;
    public const ushort NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_EXCL = 0x200;
    public const ushort NLM_F_CREATE = 0x400;
    public const ushort NLM_F_APPEND = 0x800;
    public const ushort NLM_F_CAPPED = 0x100; // in NLMSG_ERROR: the echoed request was cut to its header
    public const ushort NLM_F_ACK_TLVS = 0x200; // in NLMSG_ERROR: extended-ack attributes follow

    public const ushort NLMSGERR_ATTR_MSG = 1;

    public const ushort NLA_F_NESTED = 1 << 15;
    public const ushort NLA_F_NET_BYTEORDER = 1 << 14;
    public const ushort NLA_TYPE_MASK = unchecked((ushort)~(NLA_F_NESTED | NLA_F_NET_BYTEORDER));

    // linux/rtnetlink.h message types
    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_DELLINK = 17;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_DELADDR = 21;
    public const ushort RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_DELROUTE = 25;
    public const ushort RTM_GETROUTE = 26;
    public const ushort RTM_NEWNEIGH = 28;
    public const ushort RTM_DELNEIGH = 29;
    public const ushort RTM_GETNEIGH = 30;
    public const ushort RTM_NEWQDISC = 36;
    public const ushort RTM_DELQDISC = 37;
    public const ushort RTM_GETQDISC = 38;
    public const ushort RTM_NEWTFILTER = 44;
    public const ushort RTM_DELTFILTER = 45;
    public const ushort RTM_GETTFILTER = 46;

    // linux/if.h net_device_flags
    public const uint IFF_UP = 1 << 0;
    public const uint IFF_RUNNING = 1 << 6;
    public const uint IFF_PROMISC = 1 << 8;
    public const uint IFF_LOWER_UP = 1 << 16;

    // linux/if_link.h: IFLA_* (ifinfomsg attributes)
    public const ushort IFLA_ADDRESS = 1;
    public const ushort IFLA_IFNAME = 3;
    public const ushort IFLA_MTU = 4;
    public const ushort IFLA_LINK = 5;
    public const ushort IFLA_MASTER = 10;
    public const ushort IFLA_OPERSTATE = 16;
    public const ushort IFLA_LINKINFO = 18;
    public const ushort IFLA_NET_NS_PID = 19;
    public const ushort IFLA_NET_NS_FD = 28;

    public const ushort IFLA_INFO_KIND = 1;
    public const ushort IFLA_INFO_DATA = 2;

    // if_link.h IF_OPER_* (RFC 2863 operational state carried in IFLA_OPERSTATE)
    public const byte IF_OPER_UNKNOWN = 0;
    public const byte IF_OPER_UP = 6;

    public const ushort IFLA_VXLAN_ID = 1;
    public const ushort IFLA_VXLAN_LINK = 3;
    public const ushort IFLA_VXLAN_LOCAL = 4;
    public const ushort IFLA_VXLAN_TTL = 5;
    public const ushort IFLA_VXLAN_LEARNING = 7;
    public const ushort IFLA_VXLAN_PORT = 15; // UDP destination port, network byte order
    public const ushort IFLA_VXLAN_LOCAL6 = 17;

    public const ushort IFLA_VLAN_ID = 1;
    public const ushort IFLA_VLAN_PROTOCOL = 5; // network byte order
    public const ushort ETH_P_8021Q = 0x8100;

    // linux/veth.h
    public const ushort VETH_INFO_PEER = 1;

    // linux/if_addr.h
    public const ushort IFA_ADDRESS = 1;
    public const ushort IFA_LOCAL = 2;
    public const ushort IFA_LABEL = 3;

    // linux/neighbour.h
    public const ushort NDA_DST = 1;
    public const ushort NDA_LLADDR = 2;
    public const ushort NDA_MASTER = 9;
    public const byte NTF_SELF = 1 << 1;
    public const byte NTF_MASTER = 1 << 2;
    public const ushort NUD_PERMANENT = 0x80;

    // linux/rtnetlink.h routes
    public const ushort RTA_DST = 1;
    public const ushort RTA_OIF = 4;
    public const ushort RTA_GATEWAY = 5;
    public const ushort RTA_PRIORITY = 6;
    public const ushort RTA_TABLE = 15;
    public const byte RTN_UNICAST = 1;
    public const byte RTPROT_BOOT = 3; // what `ip route add` uses when no proto is given
    public const byte RT_SCOPE_UNIVERSE = 0;
    public const byte RT_SCOPE_LINK = 253;
    public const byte RT_TABLE_UNSPEC = 0;
    public const byte RT_TABLE_MAIN = 254;

    // linux/rtnetlink.h TCA_* (attributes after struct tcmsg)
    public const ushort TCA_KIND = 1;
    public const ushort TCA_OPTIONS = 2;
    public const ushort TCA_CHAIN = 11;
}
