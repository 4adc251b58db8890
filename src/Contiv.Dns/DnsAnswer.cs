using System.Net;
using System.Net.Sockets;

namespace Contiv.Dns;

/// <summary>What the resolver decided about a question; the responder turns it into the right response code.</summary>
public enum DnsAnswerKind
{
    /// <summary>The name exists for this client: A records for A/ANY questions, an empty NOERROR answer for any other type.</summary>
    Addresses,

    /// <summary>NXDOMAIN: the name does not exist. Authoritative, so the client stops asking other servers.</summary>
    NameError,

    /// <summary>REFUSED: not for this client. Never forwarded; Docker's embedded DNS then tries the host's next nameserver.</summary>
    Refused,

    /// <summary>SERVFAIL: the records cannot be read right now (the client may retry; nothing is cached).</summary>
    ServerFailure,

    /// <summary>Not a cluster name: sent to the upstream forwarder when one is configured, otherwise answered REFUSED.</summary>
    Forward,
}

/// <summary>A resolver's verdict on one question.</summary>
public sealed class DnsAnswer
{
    private DnsAnswer(DnsAnswerKind kind, IReadOnlyList<IPAddress> addresses)
    {
        Kind = kind;
        Addresses = addresses;
    }

    public DnsAnswerKind Kind { get; }

    /// <summary>The IPv4 addresses of the name (only for <see cref="DnsAnswerKind.Addresses"/>; may be empty).</summary>
    public IReadOnlyList<IPAddress> Addresses { get; }

    public static DnsAnswer NameError { get; } = new(DnsAnswerKind.NameError, []);

    public static DnsAnswer Refused { get; } = new(DnsAnswerKind.Refused, []);

    public static DnsAnswer ServerFailure { get; } = new(DnsAnswerKind.ServerFailure, []);

    public static DnsAnswer Forward { get; } = new(DnsAnswerKind.Forward, []);

    /// <summary>The name exists with these IPv4 addresses (IPv4-mapped IPv6 addresses are accepted and unmapped).</summary>
    public static DnsAnswer WithAddresses(IEnumerable<IPAddress> addresses)
    {
        var list = new List<IPAddress>();
        foreach (var address in addresses)
        {
            var v4 = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            if (v4.AddressFamily != AddressFamily.InterNetwork)
                throw new ArgumentException($"only IPv4 addresses are served: {address}", nameof(addresses));
            list.Add(v4);
        }

        return new DnsAnswer(DnsAnswerKind.Addresses, list);
    }

    /// <inheritdoc cref="WithAddresses(IEnumerable{IPAddress})"/>
    public static DnsAnswer WithAddresses(params IPAddress[] addresses) => WithAddresses((IEnumerable<IPAddress>)addresses);

    public override string ToString() =>
        Kind == DnsAnswerKind.Addresses ? $"Addresses[{string.Join(", ", Addresses)}]" : Kind.ToString();
}
