namespace Contiv.Datapath.Nftables;

/// <summary>
/// Numbers from the kernel's uapi headers linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h,
/// linux/netfilter.h and linux/netfilter/nf_conntrack_common.h, under the kernel's names so they can
/// be grepped against the headers; they are part of the stable kernel ABI. nf_tables attributes
/// carry numbers in network byte order (big-endian), unlike rtnetlink's.
/// </summary>
internal static class NftUapi
{
    public const int NETLINK_NETFILTER = 12;

    // nfnetlink.h
    public const byte NFNETLINK_V0 = 0;
    public const ushort NFNL_SUBSYS_NFTABLES = 10;
    public const ushort NFNL_MSG_BATCH_BEGIN = 0x10; // NLMSG_MIN_TYPE
    public const ushort NFNL_MSG_BATCH_END = 0x11;

    // enum nf_tables_msg_types (the message type is NFNL_SUBSYS_NFTABLES << 8 | this)
    public const ushort NFT_MSG_NEWTABLE = 0;
    public const ushort NFT_MSG_GETTABLE = 1;
    public const ushort NFT_MSG_DELTABLE = 2;
    public const ushort NFT_MSG_NEWCHAIN = 3;
    public const ushort NFT_MSG_GETCHAIN = 4;
    public const ushort NFT_MSG_NEWRULE = 6;
    public const ushort NFT_MSG_GETRULE = 7;
    public const ushort NFT_MSG_NEWSET = 9;
    public const ushort NFT_MSG_GETSET = 10;
    public const ushort NFT_MSG_NEWSETELEM = 12;
    public const ushort NFT_MSG_DELSETELEM = 14;
    public const ushort NFT_MSG_GETSETELEM = 13;
    public const ushort NFT_MSG_NEWGEN = 15;
    public const ushort NFT_MSG_GETGEN = 16;

    // enum nft_gen_attributes
    public const ushort NFTA_GEN_ID = 1;

    public const ushort NFTA_LIST_ELEM = 1;

    public const ushort NFTA_TABLE_NAME = 1;
    public const ushort NFTA_TABLE_FLAGS = 2;

    public const ushort NFTA_CHAIN_TABLE = 1;
    public const ushort NFTA_CHAIN_NAME = 3;
    public const ushort NFTA_CHAIN_HOOK = 4;
    public const ushort NFTA_CHAIN_POLICY = 5;
    public const ushort NFTA_CHAIN_TYPE = 7;

    public const ushort NFTA_HOOK_HOOKNUM = 1;
    public const ushort NFTA_HOOK_PRIORITY = 2;

    public const ushort NFTA_RULE_TABLE = 1;
    public const ushort NFTA_RULE_CHAIN = 2;
    public const ushort NFTA_RULE_HANDLE = 3;
    public const ushort NFTA_RULE_EXPRESSIONS = 4;
    public const ushort NFTA_RULE_USERDATA = 7;

    public const ushort NFTA_EXPR_NAME = 1;
    public const ushort NFTA_EXPR_DATA = 2;

    public const ushort NFTA_SET_TABLE = 1;
    public const ushort NFTA_SET_NAME = 2;
    public const ushort NFTA_SET_FLAGS = 3;
    public const ushort NFTA_SET_KEY_TYPE = 4;
    public const ushort NFTA_SET_KEY_LEN = 5;
    public const ushort NFTA_SET_ID = 10;

    public const uint NFT_SET_INTERVAL = 0x4;

    public const ushort NFTA_SET_ELEM_LIST_TABLE = 1;
    public const ushort NFTA_SET_ELEM_LIST_SET = 2;
    public const ushort NFTA_SET_ELEM_LIST_ELEMENTS = 3;

    public const ushort NFTA_SET_ELEM_KEY = 1;
    public const ushort NFTA_SET_ELEM_FLAGS = 3;
    public const uint NFT_SET_ELEM_INTERVAL_END = 0x1;

    public const ushort NFTA_DATA_VALUE = 1;
    public const ushort NFTA_DATA_VERDICT = 2;
    public const ushort NFTA_VERDICT_CODE = 1;
    public const ushort NFTA_VERDICT_CHAIN = 2;

    // expressions
    public const ushort NFTA_META_DREG = 1;
    public const ushort NFTA_META_KEY = 2;
    public const ushort NFTA_PAYLOAD_DREG = 1;
    public const ushort NFTA_PAYLOAD_BASE = 2;
    public const ushort NFTA_PAYLOAD_OFFSET = 3;
    public const ushort NFTA_PAYLOAD_LEN = 4;
    public const ushort NFTA_PAYLOAD_SREG = 5;
    public const ushort NFTA_PAYLOAD_CSUM_TYPE = 6;
    public const ushort NFTA_PAYLOAD_CSUM_OFFSET = 7;
    public const ushort NFTA_PAYLOAD_CSUM_FLAGS = 8;
    public const ushort NFTA_CMP_SREG = 1;
    public const ushort NFTA_CMP_OP = 2;
    public const ushort NFTA_CMP_DATA = 3;
    public const ushort NFTA_LOOKUP_SET = 1;
    public const ushort NFTA_LOOKUP_SREG = 2;
    public const ushort NFTA_LOOKUP_FLAGS = 5;
    public const uint NFT_LOOKUP_F_INV = 1;
    public const ushort NFTA_CT_DREG = 1;
    public const ushort NFTA_CT_KEY = 2;
    public const ushort NFTA_BITWISE_SREG = 1;
    public const ushort NFTA_BITWISE_DREG = 2;
    public const ushort NFTA_BITWISE_LEN = 3;
    public const ushort NFTA_BITWISE_MASK = 4;
    public const ushort NFTA_BITWISE_XOR = 5;
    public const ushort NFTA_IMMEDIATE_DREG = 1;
    public const ushort NFTA_IMMEDIATE_DATA = 2;
    public const ushort NFTA_COUNTER_BYTES = 1;
    public const ushort NFTA_COUNTER_PACKETS = 2;

    public const uint NFT_REG_VERDICT = 0;

    // linux/netfilter.h verdicts; nf_tables.h adds the negative ones
    public const int NF_DROP = 0;
    public const int NF_ACCEPT = 1;
    public const int NFT_CONTINUE = -1;
    public const int NFT_JUMP = -3;
    public const int NFT_GOTO = -4;
    public const int NFT_RETURN = -5;
}
