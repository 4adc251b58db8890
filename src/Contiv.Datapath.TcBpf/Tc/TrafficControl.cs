using Contiv.Datapath.Netlink;
using Contiv.Datapath.TcBpf.Bpf;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// tc over rtnetlink, for what the eBPF datapath needs: the clsact qdisc, and direct-action
/// cls_bpf filters on its ingress/egress hooks. Works in the network namespace of the thread that
/// constructs it (<see cref="Open"/> for another namespace). Devices are given by ifindex. Adding is
/// idempotent and removing something that is not there is not an error. Requests are serialised
/// on one socket, so an instance may be shared between threads. Kernel refusals throw
/// <see cref="NetlinkException"/> with the kernel's extended-ack text.
/// </summary>
public sealed partial class TrafficControl : IDisposable
{
    /// <summary>How often a dump is redone when the kernel flags it inconsistent (NLM_F_DUMP_INTR).</summary>
    private const int DumpAttempts = 3;

    private readonly NetlinkSocket _socket = new();
    private readonly Lock _lock = new();

    /// <summary>A tc socket inside <paramref name="networkNamespace"/>, usable from any thread.</summary>
    public static TrafficControl Open(NetworkNamespace networkNamespace) =>
        networkNamespace.RunInside(() => new TrafficControl());

    /// <summary>
    /// Adds the clsact qdisc (`tc qdisc add dev X clsact`) unless the device has it already. An
    /// existing "ingress" qdisc is also accepted: it owns the same ffff: handle and its filters at
    /// ffff:fff2 run at the same ingress hook, so ingress filters work with either.
    /// </summary>
    public void EnsureClsact(int linkIndex)
    {
        if (HasIngressHook(linkIndex))
        {
            return;
        }

        try
        {
            Execute(TcRequests.AddClsact(linkIndex), "add qdisc clsact", $"dev #{linkIndex}");
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.EEXIST && HasIngressHook(linkIndex))
        {
            // Added concurrently: fine.
        }
    }

    /// <summary>Whether the device has a clsact qdisc.</summary>
    public bool HasClsact(int linkIndex) =>
        ListQdiscs(linkIndex).Any(q => q.Kind == "clsact");

    /// <summary>The device's qdiscs (`tc qdisc show dev X`).</summary>
    public IReadOnlyList<TcQdisc> ListQdiscs(int linkIndex) =>
        [.. Dump(TcRequests.DumpQdiscs(), "list qdiscs").Select(TcReplies.ParseQdisc).Where(q => q.LinkIndex == linkIndex)];

    /// <summary>Removes the clsact qdisc and with it every filter on both hooks; no-op without one.</summary>
    public void DeleteClsact(int linkIndex)
    {
        if (!HasClsact(linkIndex))
        {
            return;
        }

        try
        {
            Execute(TcRequests.DeleteClsact(linkIndex), "delete qdisc clsact", $"dev #{linkIndex}");
        }
        catch (NetlinkException e) when (e.Errno is LinuxErrno.ENOENT or LinuxErrno.EINVAL && !HasClsact(linkIndex))
        {
            // Removed concurrently: fine.
        }
    }

    /// <summary>
    /// Attaches <paramref name="program"/> as a direct-action bpf filter, or replaces the program of
    /// the filter already at (<paramref name="priority"/>, <paramref name="handle"/>) in place, so
    /// traffic never sees a moment without a filter. The device needs clsact (<see cref="EnsureClsact"/>).
    /// </summary>
    /// <param name="priority">1..65535; lower runs first (0 would let the kernel pick one).</param>
    /// <param name="handle">Non-zero; identifies the filter within its priority.</param>
    /// <param name="name">TCA_BPF_NAME, shown by `tc filter show` and returned by <see cref="ListFilters"/>.</param>
    public void ReplaceBpfFilter(int linkIndex, TcHook hook, ushort priority, uint handle, BpfProgram program, string name)
    {
        ArgumentOutOfRangeException.ThrowIfZero(priority);
        ArgumentOutOfRangeException.ThrowIfZero(handle);
        var objectName = $"dev #{linkIndex} {Describe(hook)} prio {priority} handle {handle:x} {name}";
        Execute(TcRequests.ReplaceBpfFilter(linkIndex, hook, priority, handle, program.Fd, name), "replace bpf filter", objectName);
        GC.KeepAlive(program); // the fd must stay open until the kernel has taken its reference
    }

    /// <summary>Deletes one bpf filter; false if there was none (or no clsact qdisc at all).</summary>
    public bool DeleteFilter(int linkIndex, TcHook hook, ushort priority, uint handle)
    {
        var objectName = $"dev #{linkIndex} {Describe(hook)} prio {priority} handle {handle:x}";
        try
        {
            Execute(TcRequests.DeleteFilter(linkIndex, hook, priority, handle), "delete filter", objectName);
            return true;
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.ENOENT)
        {
            return false; // "Filter with specified priority/protocol not found" / "Specified filter handle not found"
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.EINVAL && !HasIngressHook(linkIndex))
        {
            return false; // "Parent Qdisc doesn't exists": no clsact, so no filter either
        }
    }

    /// <summary>The filters on one hook (`tc filter show dev X ingress`), in priority order; empty without clsact.</summary>
    public IReadOnlyList<TcFilter> ListFilters(int linkIndex, TcHook hook) =>
        [.. Dump(TcRequests.DumpFilters(linkIndex, hook), "list filters")
            .Select(m => TcReplies.ParseFilter(m, hook))
            .OfType<TcFilter>()];

    /// <summary>
    /// Sets IFF_PROMISC (`ip link set X promisc on`). Idempotent: the kernel tracks this flag apart
    /// from the promiscuity counter other users (bridges, packet sockets) hold.
    /// </summary>
    public void SetPromiscuous(int linkIndex, bool on) =>
        Execute(TcRequests.SetPromiscuous(linkIndex, on), on ? "set promisc on" : "set promisc off", $"link #{linkIndex}");

    public void Dispose() => _socket.Dispose();

    private bool HasIngressHook(int linkIndex) =>
        ListQdiscs(linkIndex).Any(q => q.Kind is "clsact" or "ingress");

    private static string Describe(TcHook hook) => hook == TcHook.Ingress ? "ingress" : "egress";

    private void Execute(NetlinkMessageBuilder request, string operation, string? objectName)
    {
        lock (_lock)
        {
            _socket.Execute(request, operation, objectName);
        }
    }

    private IReadOnlyList<NetlinkMessage> Dump(NetlinkMessageBuilder request, string operation)
    {
        for (var attempt = 1; ; attempt++)
        {
            NetlinkReply reply;
            lock (_lock)
            {
                reply = _socket.Execute(request, operation, null);
            }

            if (!reply.DumpInterrupted || attempt == DumpAttempts)
            {
                return reply.Messages;
            }
        }
    }
}
