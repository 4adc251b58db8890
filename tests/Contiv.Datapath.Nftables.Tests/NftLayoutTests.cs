using Contiv.Datapath.Netlink;

namespace Contiv.Datapath.Nftables.Tests;

/// <summary>
/// Byte layouts of nf_tables requests, written out field by field from the kernel's uapi headers
/// (nfnetlink.h, nf_tables.h) and checked against what `nft --debug=netlink` prints for the same
/// objects (e.g. rule userdata "{ \x00\x02c\x00 }" for comment "c"). nf_tables numbers are big-endian;
/// nested attributes carry NLA_F_NESTED (0x8000) as libnftnl sends them.
/// </summary>
public sealed class NftLayoutTests
{
    [Fact]
    public void Batch_begin_names_the_nftables_subsystem_big_endian()
    {
        RequireLittleEndian();
        Equal(
            "14000000 1000 0100 07000000 00000000" // nlmsghdr: len 20, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq 7, pid 0
            + "00 00 000a",                           // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id NFNL_SUBSYS_NFTABLES (be16)
            NftRequests.BatchBegin().Build(7));
    }

    [Fact]
    public void New_table_message()
    {
        RequireLittleEndian();
        Equal(
            "24000000 000a 0504 01000000 00000000"   // len 36, NFT_MSG_NEWTABLE | 10<<8, REQUEST|ACK|CREATE
            + "01 00 0000"                            // nfgenmsg: NFPROTO_INET
            + "0600 0100 7400 0000"                   // NFTA_TABLE_NAME "t\0" + pad
            + "0800 0200 00000000",                   // NFTA_TABLE_FLAGS 0
            NftRequests.NewTable(NftFamily.Inet, "t").Build(1));
    }

    [Fact]
    public void Base_chain_has_its_hook_policy_and_type()
    {
        RequireLittleEndian();
        var chain = new NftChain("f", new NftBaseChain(NftHook.Forward, -5, PolicyAccept: false));
        Equal(
            "4c000000 030a 0504 02000000 00000000"   // len 76, NFT_MSG_NEWCHAIN
            + "01 00 0000"
            + "0600 0100 7400 0000"                   // NFTA_CHAIN_TABLE "t"
            + "0600 0300 6600 0000"                   // NFTA_CHAIN_NAME "f"
            + "1400 0480"                             // NFTA_CHAIN_HOOK (nested)
            + "  0800 0100 00000002"                  //   NFTA_HOOK_HOOKNUM NF_INET_FORWARD
            + "  0800 0200 fffffffb"                  //   NFTA_HOOK_PRIORITY -5
            + "0800 0500 00000000"                    // NFTA_CHAIN_POLICY NF_DROP
            + "0b00 0700 66696c74657200 00",          // NFTA_CHAIN_TYPE "filter\0" + pad
            NftRequests.NewChain(NftFamily.Inet, "t", chain).Build(2));
    }

    [Fact]
    public void Cmp_expression_layout()
    {
        RequireLittleEndian();
        Equal(
            "2c00 0180"                               // NFTA_LIST_ELEM (nested), 44 bytes
            + "  0800 0100 636d7000"                  //   NFTA_EXPR_NAME "cmp\0"
            + "  2000 0280"                           //   NFTA_EXPR_DATA (nested)
            + "    0800 0100 00000001"                //     NFTA_CMP_SREG NFT_REG_1
            + "    0800 0200 00000000"                //     NFTA_CMP_OP NFT_CMP_EQ
            + "    0c00 0380"                         //     NFTA_CMP_DATA (nested)
            + "      0500 0100 06 000000",            //       NFTA_DATA_VALUE 0x06 + pad
            Expression(new NftCmp(NftCmpOp.Equal, NftValue.Byte(6))));
    }

    [Fact]
    public void Jump_verdict_layout()
    {
        RequireLittleEndian();
        Equal(
            "3800 0180"
            + "  0e00 0100 696d6d65646961746500 0000" //   NFTA_EXPR_NAME "immediate\0" + pad
            + "  2400 0280"
            + "    0800 0100 00000000"                //     NFTA_IMMEDIATE_DREG NFT_REG_VERDICT
            + "    1800 0280"                         //     NFTA_IMMEDIATE_DATA (nested)
            + "      1400 0280"                       //       NFTA_DATA_VERDICT (nested)
            + "        0800 0100 fffffffd"            //         NFTA_VERDICT_CODE NFT_JUMP (-3)
            + "        0600 0200 7800 0000",          //         NFTA_VERDICT_CHAIN "x\0" + pad
            Expression(new NftVerdict(NftVerdictCode.Jump, "x")));
    }

    [Fact]
    public void Payload_and_lookup_layouts()
    {
        RequireLittleEndian();
        Equal(
            "3400 0180 0c00 0100 7061796c6f616400 2400 0280" // "payload\0"
            + "0800 0100 00000001"                    // NFTA_PAYLOAD_DREG reg 1
            + "0800 0200 00000001"                    // NFTA_PAYLOAD_BASE network header
            + "0800 0300 00000010"                    // NFTA_PAYLOAD_OFFSET 16 (ip daddr)
            + "0800 0400 00000004",                   // NFTA_PAYLOAD_LEN 4
            Expression(new NftPayload(NftPayloadBase.Network, 16, 4)));
        Equal(
            "2c00 0180 0b00 0100 6c6f6f6b757000 00 1c00 0280" // "lookup\0"
            + "0800 0200 00000001"                    // NFTA_LOOKUP_SREG reg 1
            + "0600 0100 7300 0000"                   // NFTA_LOOKUP_SET "s"
            + "0800 0500 00000001",                   // NFTA_LOOKUP_FLAGS NFT_LOOKUP_F_INV
            Expression(new NftLookup("s", Invert: true)));
    }

    [Fact]
    public void Set_elements_are_keys_in_list_elements()
    {
        RequireLittleEndian();
        Equal(
            "38000000 0c0a 0504 03000000 00000000"   // NFT_MSG_NEWSETELEM
            + "01 00 0000"
            + "0600 0100 7400 0000"                   // NFTA_SET_ELEM_LIST_TABLE "t"
            + "0600 0200 7300 0000"                   // NFTA_SET_ELEM_LIST_SET "s"
            + "1400 0380"                             // NFTA_SET_ELEM_LIST_ELEMENTS
            + "  1000 0180"                           //   NFTA_LIST_ELEM
            + "    0c00 0180"                         //     NFTA_SET_ELEM_KEY
            + "      0800 0100 0a090002",             //       NFTA_DATA_VALUE 10.9.0.2
            NftRequests.NewSetElements(NftFamily.Inet, "t", "s", [NftValue.Ipv4(System.Net.IPAddress.Parse("10.9.0.2"))]).Build(3));
    }

    [Fact]
    public void Rule_comment_is_nfts_userdata_tlv()
    {
        Assert.Equal([0x00, 0x02, (byte)'c', 0x00], NftRequests.CommentUserdata("c"));
        Assert.Equal("default:p:1 prio 5", NftReplies.ReadComment(NftRequests.CommentUserdata("default:p:1 prio 5")));
        Assert.Null(NftReplies.ReadComment([0x01, 0x01, 0x00]));
    }

    [Fact]
    public void Replace_batch_adds_deletes_and_recreates_the_table_in_one_transaction()
    {
        var table = PolicyTableEncoder.Encode(new Contiv.Policy.NetworkRuleset("default", "n", [], []));
        var types = NftRequests.ReplaceTable(table).Select(m => m.Type).ToList();
        Assert.Equal(
            [0x10, 0x0a00, 0x0a02, 0x0a00, 0x0a03, 0x0a06, 0x0a06, 0x0a06, 0x11], // begin, table, deltable, table, chain forward, 3 ct rules, end
            types.Select(t => (int)t));
    }

    [Fact]
    public void Every_expression_decodes_to_the_record_that_was_encoded()
    {
        NftExpression[] expressions =
        [
            new NftMeta(NftMetaKey.L4Proto),
            new NftPayload(NftPayloadBase.Transport, 2, 2),
            new NftCmp(NftCmpOp.NotEqual, NftValue.HostOrder32(0)),
            new NftBitwise(NftValue.Ipv4Mask(16), NftValue.Ipv4(System.Net.IPAddress.Any)),
            new NftLookup("peer-web"),
            new NftCt(NftCtKey.State),
            new NftVerdict(NftVerdictCode.Drop),
            new NftVerdict(NftVerdictCode.Jump, "in-db"),
            new NftCounter(3, 180),
        ];
        foreach (var expression in expressions)
        {
            var bytes = Expression(expression);
            var element = NetlinkAttributes.Parse(bytes).All.Single();
            var decoded = NftExpressionCodec.Read(element.AsNested());
            Assert.Equal(expression, decoded);
        }

        Assert.Equal(new NftCounter(3, 180), new NftCounter()); // counts are not part of equality
    }

    [Fact]
    public void Values_render_and_compare_by_content()
    {
        Assert.Equal("255.255.240.0", NftValue.Ipv4Mask(20).ToString());
        Assert.Equal("0.0.0.0", NftValue.Ipv4Mask(0).ToString());
        Assert.Equal("0x1538", NftValue.BigEndian16(5432).ToString());
        Assert.Equal(NftValue.Byte(6), new NftValue([6]));
        Assert.Throws<ArgumentException>(() => NftValue.Ipv4(System.Net.IPAddress.IPv6Loopback));
    }

    /// <summary>The bytes of one encoded expression (without the message header).</summary>
    private static byte[] Expression(NftExpression expression)
    {
        var message = new NetlinkMessageBuilder(0, 0);
        NftExpressionCodec.Write(message, expression);
        return message.Build(0)[NetlinkHeader.Size..];
    }

    private static void Equal(string expectedHex, byte[] actual) =>
        Assert.Equal(
            string.Concat(expectedHex.Split((char[])[' ', '|'], StringSplitOptions.RemoveEmptyEntries)).ToUpperInvariant(),
            Convert.ToHexString(actual));

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            Assert.Skip("hand-computed layouts assume a little-endian host");
        }
    }
}
