using System.Buffers.Binary;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.RtnetlinkRequests;
using static Contiv.Datapath.Netlink.Uapi;
using static Contiv.Datapath.TcBpf.Tc.TcUapi;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// The requests for shaping, as `tc qdisc replace dev X root tbf rate R burst B limit L`,
/// `tc filter add dev X ingress prio P protocol all u32 match u32 0 0 action mirred egress redirect dev IFB`
/// and `ip link add IFB type ifb` send them. Pure, so each can be checked byte for byte.
/// </summary>
internal static class TcShapingRequests
{
    /// <summary>
    /// RTM_NEWQDISC tbf at the root with NLM_F_CREATE|NLM_F_REPLACE and handle 0: replaces the
    /// device's default qdisc, or changes an existing root tbf in place (tbf_change: the queued
    /// packets stay, the new rate applies from the next dequeue), so a profile changes live.
    /// </summary>
    public static NetlinkMessageBuilder ReplaceRootTbf(int index, TokenBucket bucket)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWQDISC, ReplaceFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, 0, TC_H_ROOT, 0));
        request.AddString(TCA_KIND, "tbf");
        var options = request.BeginNested(TCA_OPTIONS);
        request.AddAttribute(TCA_TBF_PARMS, TbfParameters(bucket));
        if (bucket.BytesPerSecond >= uint.MaxValue)
        {
            Span<byte> rate64 = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(rate64, bucket.BytesPerSecond);
            request.AddAttribute(TCA_TBF_RATE64, rate64);
        }

        request.AddUInt32(TCA_TBF_BURST, bucket.BurstBytes);
        request.EndNested(options);
        return request;
    }

    /// <summary>
    /// struct tc_tbf_qopt: the rate as a tc_ratespec (linklayer ethernet, so the kernel wants no rate
    /// table; rates of 2^32 B/s and more go in TCA_TBF_RATE64 with ~0 here), no peak rate, the limit,
    /// and the bucket also as time in psched ticks (what tc shows; TCA_TBF_BURST, which the kernel
    /// prefers, gives it in bytes).
    /// </summary>
    public static byte[] TbfParameters(TokenBucket bucket)
    {
        var bytes = new byte[TcTbfQoptSize];
        var span = bytes.AsSpan();
        span[1] = TC_LINKLAYER_ETHERNET;
        HostOrder.WriteUInt32(span[8..], (uint)Math.Min(bucket.BytesPerSecond, uint.MaxValue));
        HostOrder.WriteUInt32(span[(2 * TcRatespecSize)..], bucket.LimitBytes);
        var bufferNanoseconds = bucket.BurstBytes * 1_000_000_000UL / Math.Max(bucket.BytesPerSecond, 1);
        HostOrder.WriteUInt32(span[((2 * TcRatespecSize) + 4)..], (uint)Math.Min(bufferNanoseconds >> PSCHED_SHIFT, uint.MaxValue));
        return bytes;
    }

    /// <summary>RTM_DELQDISC of the root qdisc: the device falls back to its default.</summary>
    public static NetlinkMessageBuilder DeleteRootQdisc(int index)
    {
        var request = new NetlinkMessageBuilder(RTM_DELQDISC, ChangeFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, 0, TC_H_ROOT, 0));
        return request;
    }

    /// <summary>
    /// RTM_NEWTFILTER u32 matching every frame (one key, mask 0) with one action, mirred egress
    /// redirect to <paramref name="targetIndex"/>: frames the device receives are handed to the
    /// target's egress (an ifb device, whose qdisc then shapes them) and come back to the device's
    /// receive path afterwards.
    /// </summary>
    public static NetlinkMessageBuilder AddRedirectFilter(int index, TcHook hook, ushort priority, int targetIndex)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWTFILTER, CreateFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, 0, TcRequests.ParentOf(hook), TcRequests.FilterInfo(priority, ETH_P_ALL)));
        request.AddString(TCA_KIND, "u32");
        var options = request.BeginNested(TCA_OPTIONS);
        var selector = new byte[TcU32SelSize + TcU32KeySize];
        selector[0] = TC_U32_TERMINAL;
        selector[2] = 1; // nkeys; the key (mask 0, value 0 at offset 0) matches everything
        request.AddAttribute(TCA_U32_SEL, selector);
        var actions = request.BeginNested(TCA_U32_ACT);
        var first = request.BeginNested(1);
        request.AddString(TCA_ACT_KIND, "mirred");
        var actionOptions = request.BeginNested(TCA_ACT_OPTIONS);
        var mirred = new byte[TcMirredSize];
        HostOrder.WriteInt32(mirred.AsSpan(8), TC_ACT_STOLEN);
        HostOrder.WriteInt32(mirred.AsSpan(20), TCA_EGRESS_REDIR);
        HostOrder.WriteInt32(mirred.AsSpan(24), targetIndex);
        request.AddAttribute(TCA_MIRRED_PARMS, mirred);
        request.EndNested(actionOptions);
        request.EndNested(first);
        request.EndNested(actions);
        request.EndNested(options);
        return request;
    }

    /// <summary>RTM_DELTFILTER with handle 0 and no kind: removes every filter at that priority (any classifier).</summary>
    public static NetlinkMessageBuilder DeletePriority(int index, TcHook hook, ushort priority)
    {
        var request = new NetlinkMessageBuilder(RTM_DELTFILTER, ChangeFlags);
        request.AddHeader(new TcMessage(AF_UNSPEC, index, 0, TcRequests.ParentOf(hook), TcRequests.FilterInfo(priority, ETH_P_ALL)));
        return request;
    }

    /// <summary>RTM_NEWLINK kind ifb (`ip link add NAME type ifb`): an intermediate device whose egress qdisc shapes redirected traffic.</summary>
    public static NetlinkMessageBuilder CreateIfb(string name)
    {
        var request = new NetlinkMessageBuilder(RTM_NEWLINK, CreateFlags);
        request.AddHeader(new InterfaceInfoMessage(AF_UNSPEC, 0, 0, 0, 0));
        request.AddString(IFLA_IFNAME, name);
        var linkInfo = request.BeginNested(IFLA_LINKINFO);
        request.AddString(IFLA_INFO_KIND, "ifb");
        request.EndNested(linkInfo);
        return request;
    }

    /// <summary>The token bucket of a tbf qdisc's dumped TCA_OPTIONS (the burst as the kernel keeps it is time; not returned).</summary>
    public static TokenBucket? ReadTbf(NetlinkAttributes? options)
    {
        if (options is null || !options.TryGet(TCA_TBF_PARMS, out var parms) || parms.Value.Length < TcTbfQoptSize)
        {
            return null;
        }

        var span = parms.Value.Span;
        ulong rate = HostOrder.ReadUInt32(span[8..]);
        if (options.TryGet(TCA_TBF_RATE64, out var rate64) && rate64.Value.Length >= 8)
        {
            rate = BinaryPrimitives.ReadUInt64LittleEndian(rate64.Value.Span);
        }

        return new TokenBucket(rate, 0, HostOrder.ReadUInt32(span[(2 * TcRatespecSize)..]));
    }

    /// <summary>The target ifindex of a u32 filter's first action when it is a mirred egress redirect.</summary>
    public static int? ReadRedirect(NetlinkAttributes? options)
    {
        var action = options?.GetNested(TCA_U32_ACT)?.GetNested(1);
        if (action?.GetString(TCA_ACT_KIND) != "mirred"
            || action.GetNested(TCA_ACT_OPTIONS) is not { } mirredOptions
            || !mirredOptions.TryGet(TCA_MIRRED_PARMS, out var parms) || parms.Value.Length < TcMirredSize)
        {
            return null;
        }

        var span = parms.Value.Span;
        return HostOrder.ReadInt32(span[20..]) == TCA_EGRESS_REDIR ? HostOrder.ReadInt32(span[24..]) : null;
    }
}
