namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// Shaping: a tbf qdisc at a device's root (what it sends), and ingress redirection to an ifb
/// device so that what a device receives can be shaped by the ifb's root tbf. This kernel has no
/// act_police nor cls_matchall, so "policing" ingress is shaping through an ifb (u32 match-all +
/// act_mirred), which is also kinder to TCP than dropping over the rate.
/// </summary>
public sealed partial class TrafficControl
{
    /// <summary>The root qdisc given to the device, or null when it has its default (noqueue, pfifo_fast: handle 0).</summary>
    public TcQdisc? RootQdisc(int linkIndex) => ListQdiscs(linkIndex).FirstOrDefault(q => q.IsRoot && q.Handle != 0);

    /// <summary>`tc qdisc replace dev X root tbf ...`: installs tbf, or changes the existing one in place.</summary>
    public void ReplaceRootTokenBucket(int linkIndex, TokenBucket bucket)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        ArgumentOutOfRangeException.ThrowIfZero(bucket.BytesPerSecond);
        ArgumentOutOfRangeException.ThrowIfZero(bucket.BurstBytes);
        Execute(TcShapingRequests.ReplaceRootTbf(linkIndex, bucket), "replace qdisc tbf", $"dev #{linkIndex} root rate {bucket.BytesPerSecond} B/s burst {bucket.BurstBytes} limit {bucket.LimitBytes}");
    }

    /// <summary>Deletes the device's root qdisc (back to the default); false when it had none of its own.</summary>
    public bool DeleteRootQdisc(int linkIndex)
    {
        if (RootQdisc(linkIndex) is null)
        {
            return false;
        }

        try
        {
            Execute(TcShapingRequests.DeleteRootQdisc(linkIndex), "delete root qdisc", $"dev #{linkIndex}");
            return true;
        }
        catch (NetlinkException e) when (e.Errno is LinuxErrno.ENOENT or LinuxErrno.EINVAL && RootQdisc(linkIndex) is null)
        {
            return false; // removed concurrently
        }
    }

    /// <summary>
    /// Makes <paramref name="priority"/> on the hook hold exactly one filter: u32 match-all with
    /// mirred egress redirect to <paramref name="targetIndex"/>. Leaves it alone (returns false)
    /// when it already redirects there; otherwise whatever is at that priority is replaced. The
    /// device needs clsact (<see cref="EnsureClsact"/>).
    /// </summary>
    public bool EnsureRedirectFilter(int linkIndex, TcHook hook, ushort priority, int targetIndex)
    {
        ArgumentOutOfRangeException.ThrowIfZero(priority);
        var atPriority = ListFilters(linkIndex, hook).Where(f => f.Priority == priority).ToList();
        if (atPriority.Count > 0 && atPriority.All(f => f.Kind == "u32") && atPriority.Any(f => f.RedirectIndex == targetIndex)
            && atPriority.Count(f => f.RedirectIndex is not null) == 1)
        {
            return false;
        }

        // Between the delete and the add the device's ingress is not redirected: frames of that
        // moment pass unshaped, which is harmless (a profile change is not a security boundary).
        DeletePriority(linkIndex, hook, priority);
        Execute(TcShapingRequests.AddRedirectFilter(linkIndex, hook, priority, targetIndex), "add u32 mirred redirect filter", $"dev #{linkIndex} prio {priority} to #{targetIndex}");
        return true;
    }

    /// <summary>Deletes every filter at <paramref name="priority"/> on the hook; false when there was none (or no clsact).</summary>
    public bool DeletePriority(int linkIndex, TcHook hook, ushort priority)
    {
        if (!ListFilters(linkIndex, hook).Any(f => f.Priority == priority))
        {
            return false;
        }

        try
        {
            Execute(TcShapingRequests.DeletePriority(linkIndex, hook, priority), "delete filters", $"dev #{linkIndex} prio {priority}");
            return true;
        }
        catch (NetlinkException e) when (e.Errno is LinuxErrno.ENOENT or LinuxErrno.EINVAL)
        {
            return false;
        }
    }

    /// <summary>`ip link add NAME type ifb` in this socket's namespace (down; the caller brings it up).</summary>
    public void CreateIfb(string name) =>
        Execute(TcShapingRequests.CreateIfb(name), "create ifb", name);
}
