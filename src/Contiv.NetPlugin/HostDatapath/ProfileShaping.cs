using Contiv.Datapath.TcBpf.Tc;
using Contiv.Policy;

namespace Contiv.NetPlugin;

/// <summary>
/// How a netprofile's bandwidth becomes tbf parameters, the same for both directions of an
/// endpoint (toward the container: the bridge-side veth's root tbf; from it: its ifb's). Pure.
/// </summary>
public static class ProfileShaping
{
    /// <summary>
    /// The smallest bucket: a veth hands tbf GSO packets of up to 64 KiB, and one larger than the
    /// bucket must be split in software (or, not being GSO, dropped); 64 KiB also keeps a short
    /// burst from being the whole budget of a slow rate. A profile's own burst may go below it, but
    /// not below <see cref="MinimumBurstBytes"/>.
    /// </summary>
    public const uint DefaultMinimumBurstBytes = 64 * 1024;

    /// <summary>A jumbo frame and then some: a bucket smaller than one frame would drop every such frame.</summary>
    public const uint MinimumBurstBytes = 16 * 1024;

    /// <summary>How long a full queue takes to drain at the rate: tbf's limit is the bucket plus this much traffic, as `tc ... latency 50ms` computes it.</summary>
    public static readonly TimeSpan QueueLatency = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The token bucket for <paramref name="profile"/>, or null when it sets no bandwidth (a profile
    /// that only marks DSCP). Rate: the bandwidth in bytes per second of whole frames. Burst: the
    /// profile's, in KiB (tc's "kb"), at least <see cref="MinimumBurstBytes"/>; without one, 10 ms at
    /// the rate, at least <see cref="DefaultMinimumBurstBytes"/>. Limit: burst plus
    /// <see cref="QueueLatency"/> at the rate.
    /// </summary>
    public static TokenBucket? TokenBucketOf(NetProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.BitsPerSecond <= 0)
        {
            return null;
        }

        var bytesPerSecond = (ulong)profile.BitsPerSecond / 8;
        var burst = profile.BurstKilobytes is int kilobytes and > 0
            ? Math.Max((ulong)kilobytes * 1024, MinimumBurstBytes)
            : Math.Max(bytesPerSecond / 100, DefaultMinimumBurstBytes);
        burst = Math.Min(burst, uint.MaxValue / 2);
        var queued = (ulong)(bytesPerSecond * QueueLatency.TotalSeconds);
        var limit = Math.Min(burst + queued, uint.MaxValue);
        return new TokenBucket(Math.Max(bytesPerSecond, 1), (uint)burst, (uint)limit);
    }
}
