namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// A tbf qdisc's parameters: the rate in bytes per second of whole Ethernet frames (headers count,
/// so TCP goodput runs a few percent below it), the bucket size (the most that may leave at once,
/// at least the largest frame or GSO packet, else tbf must split or drop it) and the queue limit
/// in bytes (what waits for tokens before tbf drops).
/// </summary>
public sealed record TokenBucket(ulong BytesPerSecond, uint BurstBytes, uint LimitBytes);
