using Contiv.Datapath.Netlink;
using Contiv.Datapath.TcBpf.Tc;
using Contiv.TestSupport;

namespace Contiv.Datapath.TcBpf.Tests;

/// <summary>
/// tc requests byte for byte (what `tc -d` sends, checked with `strace -e sendmsg -X raw`), and the
/// parsing of a filter dump entry. Layouts are the kernel's on little-endian hosts.
/// </summary>
public class TcMessageTests
{
    /// <summary>Hex bytes, spaced freely; on each line everything after '|' is a comment.</summary>
    private static byte[] Hex(string text) =>
        Convert.FromHexString(string.Concat(text.Split('\n')
            .Select(line => line.Split('|')[0])
            .SelectMany(line => line.Split((char[])[' ', '\r'], StringSplitOptions.RemoveEmptyEntries))));

    private static void Equal(string expectedHex, byte[] actual) =>
        Assert.Equal(Convert.ToHexString(Hex(expectedHex)), Convert.ToHexString(actual));

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            Prerequisite.Impossible("hand-computed layouts assume a little-endian host");
        }
    }

    [Fact]
    public void Handles_follow_pkt_sched_h()
    {
        Assert.Equal(0xFFFF0000u, TcRequests.ClsactHandle);
        Assert.Equal(0xFFFFFFF2u, TcRequests.ParentOf(TcHook.Ingress));
        Assert.Equal(0xFFFFFFF3u, TcRequests.ParentOf(TcHook.Egress));
        Assert.Equal("ffff:fff2", TcReplies.FormatHandle(TcRequests.ParentOf(TcHook.Ingress)));
    }

    [Fact]
    public void Add_clsact_is_newqdisc_exclusive_at_ffff_fff1_with_handle_ffff_0()
    {
        RequireLittleEndian();
        Equal("""
            30000000 2400 0506 01000000 00000000 | nlmsghdr: len 48, RTM_NEWQDISC, REQUEST|ACK|EXCL|CREATE
            00 000000 07000000 0000ffff f1ffffff 00000000 | tcmsg: ifindex 7, handle ffff:0, parent ffff:fff1
            0b00 0100 636c736163740000 | TCA_KIND "clsact"
            """, TcRequests.AddClsact(7).Build(1, 0));
    }

    [Fact]
    public void Replace_bpf_filter_carries_fd_name_and_direct_action_flag()
    {
        RequireLittleEndian();
        Equal("""
            48000000 2c00 0505 01000000 00000000 | nlmsghdr: len 72, RTM_NEWTFILTER, REQUEST|ACK|REPLACE|CREATE
            00 000000 07000000 01000000 f2ffffff 00037040 | tcmsg: ifindex 7, handle 1, ingress, prio 0x4070 proto htons(ETH_P_ALL)
            0800 0100 62706600 | TCA_KIND "bpf"
            1c00 0200 | TCA_OPTIONS (28 bytes)
            0800 0600 05000000 | TCA_BPF_FD 5
            0600 0700 78000000 | TCA_BPF_NAME "x"
            0800 0800 01000000 | TCA_BPF_FLAGS TCA_BPF_FLAG_ACT_DIRECT
            """, TcRequests.ReplaceBpfFilter(7, TcHook.Ingress, 0x4070, 1, 5, "x").Build(1, 0));
    }

    [Fact]
    public void Delete_filter_names_priority_protocol_handle_and_kind()
    {
        RequireLittleEndian();
        Equal("""
            2c000000 2d00 0500 02000000 00000000 | nlmsghdr: len 44, RTM_DELTFILTER, REQUEST|ACK
            00 000000 03000000 70000000 f3ffffff 00030100 | tcmsg: ifindex 3, handle 0x70, egress, prio 1
            0800 0100 62706600 | TCA_KIND "bpf"
            """, TcRequests.DeleteFilter(3, TcHook.Egress, 1, 0x70).Build(2, 0));
    }

    [Fact]
    public void Set_promiscuous_changes_only_iff_promisc()
    {
        RequireLittleEndian();
        Equal("""
            20000000 1000 0500 01000000 00000000 | nlmsghdr: len 32, RTM_NEWLINK, REQUEST|ACK
            00 00 0000 09000000 00010000 00010000 | ifinfomsg: index 9, flags IFF_PROMISC, change IFF_PROMISC
            """, TcRequests.SetPromiscuous(9, on: true).Build(1, 0));
    }

    [Fact]
    public void Filter_dump_entry_parses_and_the_per_priority_header_entry_is_skipped()
    {
        RequireLittleEndian();
        var datagram = Hex("""
            2c000000 2c00 0200 05000000 00000000 | len 44, RTM_NEWTFILTER, NLM_F_MULTI: the tcf_proto itself
            00 000000 07000000 00000000 f2ffffff 00037040 | handle 0
            0800 0100 62706600
            6c000000 2c00 0200 05000000 00000000 | len 108, RTM_NEWTFILTER: the filter
            00 000000 07000000 70000000 f2ffffff 00037040 | handle 0x70, prio 0x4070
            0800 0100 62706600 | TCA_KIND "bpf"
            3800 0200 | TCA_OPTIONS (56 bytes)
            2100 0700 636f6e7469762d766c616e2d756e7461672d3131322d746f2d69663400 000000 | TCA_BPF_NAME (33 + padding)
            0800 0800 01000000 | TCA_BPF_FLAGS direct-action
            0800 0b00 2a000000 | TCA_BPF_ID 42 (end of TCA_OPTIONS)
            0800 0b00 00000000 | TCA_CHAIN 0
            """);
        var messages = NetlinkMessage.ParseAll(datagram);

        Assert.Equal(2, messages.Count);
        Assert.Null(TcReplies.ParseFilter(messages[0], TcHook.Ingress));
        var filter = TcReplies.ParseFilter(messages[1], TcHook.Ingress);
        Assert.Equal(new TcFilter(7, TcHook.Ingress, 0x4070, 0x0003, 0x70, "bpf", 0, "contiv-vlan-untag-112-to-if4", 42, true), filter);
        Assert.Equal(112, TcBpfVlanUplink.ParseVlan(filter!, TcBpfVlanUplink.UntagFilterPrefix));
    }
}
