using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.Uapi;
using static Contiv.Datapath.TcBpf.Tc.TcUapi;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>A tc filter as the kernel dumps it.</summary>
/// <param name="Priority">The filter's preference (upper 16 bits of tcm_info); lower runs first.</param>
/// <param name="Protocol">The ethertype it applies to, host order (3 is ETH_P_ALL).</param>
/// <param name="BpfName">TCA_BPF_NAME, for kind "bpf".</param>
/// <param name="BpfProgramId">TCA_BPF_ID: the attached program's id (changes when the program is replaced).</param>
/// <param name="DirectAction">TCA_BPF_FLAG_ACT_DIRECT is set.</param>
/// <param name="RedirectIndex">For a u32 filter whose first action is mirred egress redirect: the target's ifindex.</param>
public sealed record TcFilter(
    int LinkIndex,
    TcHook Hook,
    ushort Priority,
    ushort Protocol,
    uint Handle,
    string Kind,
    uint Chain,
    string? BpfName,
    uint? BpfProgramId,
    bool DirectAction,
    int? RedirectIndex = null);

/// <summary>A qdisc as the kernel dumps it; <paramref name="TokenBucket"/> for tbf (rate and limit; the burst is not dumped in bytes).</summary>
public sealed record TcQdisc(int LinkIndex, uint Handle, uint Parent, string Kind, TokenBucket? TokenBucket = null)
{
    public bool IsRoot => Parent == TcUapi.TC_H_ROOT;
}

/// <summary>Turns tc reply messages into records. Pure.</summary>
internal static class TcReplies
{
    /// <summary>
    /// One RTM_NEWTFILTER of a dump, or null for the per-priority entry the kernel emits first
    /// (tcf_chain_dump() sends each tcf_proto itself with handle 0 before its filters).
    /// </summary>
    public static TcFilter? ParseFilter(NetlinkMessage message, TcHook hook)
    {
        var header = message.ReadHeader<TcMessage>();
        if (header.Handle == 0)
        {
            return null;
        }

        var attributes = message.AttributesAfter<TcMessage>();
        var kind = attributes.GetString(TCA_KIND) ?? "";
        var options = attributes.GetNested(TCA_OPTIONS);
        var flags = options?.GetUInt32(TCA_BPF_FLAGS) ?? 0;
        return new TcFilter(
            header.Index,
            hook,
            (ushort)(header.Info >> 16),
            TcRequests.NetworkOrder((ushort)(header.Info & TC_H_MIN_MASK)),
            header.Handle,
            kind,
            attributes.GetUInt32(TCA_CHAIN) ?? 0,
            kind == "bpf" ? options?.GetString(TCA_BPF_NAME) : null,
            kind == "bpf" ? options?.GetUInt32(TCA_BPF_ID) : null,
            kind == "bpf" && (flags & TCA_BPF_FLAG_ACT_DIRECT) != 0,
            kind == "u32" ? TcShapingRequests.ReadRedirect(options) : null);
    }

    public static TcQdisc ParseQdisc(NetlinkMessage message)
    {
        var header = message.ReadHeader<TcMessage>();
        var attributes = message.AttributesAfter<TcMessage>();
        var kind = attributes.GetString(TCA_KIND) ?? "";
        return new TcQdisc(header.Index, header.Handle, header.Parent, kind, kind == "tbf" ? TcShapingRequests.ReadTbf(attributes.GetNested(TCA_OPTIONS)) : null);
    }

    /// <summary>"ffff:fff2" as tc prints handles.</summary>
    public static string FormatHandle(uint handle) =>
        $"{handle >> 16:x}:{handle & TC_H_MIN_MASK:x}";
}
