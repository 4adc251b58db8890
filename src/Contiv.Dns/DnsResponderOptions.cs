using System.Net;
using System.Net.Sockets;

namespace Contiv.Dns;

/// <summary>Tuning for <see cref="DnsResponder"/>; the defaults suit a per-host responder for containers.</summary>
public sealed record DnsResponderOptions
{
    /// <summary>TTL of the A records. Short, because containers come and go and nothing invalidates a cache.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Budget for the resolver (and the forwarder) per query; past it the client gets SERVFAIL. Kept below
    /// Docker's embedded DNS timeout for external servers (4 s) so it still hears the failure and moves on.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Queries answered at once (UDP and TCP together); beyond it UDP reads pause and the kernel buffers or drops.</summary>
    public int MaxConcurrentRequests { get; init; } = 256;

    /// <summary>Open TCP connections; more are closed on accept.</summary>
    public int MaxTcpConnections { get; init; } = 64;

    /// <summary>How long a TCP connection may take to send its next message (RFC 7766 suggests seconds, not minutes).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest UDP response whatever a client's EDNS offers; the default avoids IP fragmentation.</summary>
    public int MaxUdpPayloadSize { get; init; } = DnsEdns.RecommendedUdpPayloadSize;

    /// <summary>
    /// Where questions the resolver answers <see cref="DnsAnswer.Forward"/> are relayed (over the client's own
    /// transport). Null, the default, means no forwarding at all: such questions get REFUSED and the responder
    /// never sends a packet anywhere but back to its clients.
    /// </summary>
    public IPEndPoint? UpstreamForwarder { get; init; }

    /// <summary>
    /// Opens the responder's sockets; null opens them in the calling thread's network namespace. netplugin passes one
    /// that opens them inside a Contiv network's namespace, so the responder listens on that network itself.
    /// </summary>
    public Func<AddressFamily, SocketType, ProtocolType, Socket>? SocketFactory { get; init; }

    internal Socket OpenSocket(AddressFamily family, SocketType type, ProtocolType protocol) =>
        SocketFactory?.Invoke(family, type, protocol) ?? new Socket(family, type, protocol);

    internal void Validate()
    {
        if (Ttl < TimeSpan.Zero || Ttl.TotalSeconds > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(Ttl), Ttl, "TTL must be between 0 and 2^31-1 seconds");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero, nameof(RequestTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(TcpIdleTimeout, TimeSpan.Zero, nameof(TcpIdleTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1, nameof(MaxConcurrentRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTcpConnections, 1, nameof(MaxTcpConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxUdpPayloadSize, DnsCodec.MaxUdpLengthWithoutEdns, nameof(MaxUdpPayloadSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxUdpPayloadSize, DnsCodec.MaxMessageLength, nameof(MaxUdpPayloadSize));
    }
}
