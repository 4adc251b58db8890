namespace Contiv.Dns;

/// <summary>Resource record types this library names (RFC 1035, 3596, 6891); any other value still parses.</summary>
#pragma warning disable CA1720 // the RFC mnemonics (PTR) are the names readers look for
public enum DnsRecordType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    OPT = 41,
    IXFR = 251,
    AXFR = 252,
    ANY = 255,
}
#pragma warning restore CA1720

/// <summary>Record classes (RFC 1035 3.2.4).</summary>
public enum DnsRecordClass : ushort
{
    IN = 1,
    CH = 3,
    HS = 4,
    ANY = 255,
}

/// <summary>Response codes; values above 15 need an EDNS OPT record to carry their upper bits (RFC 6891).</summary>
public enum DnsResponseCode
{
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NXDomain = 3,
    NotImp = 4,
    Refused = 5,
    BadVers = 16,
}

/// <summary>Header opcodes (RFC 1035 4.1.1); only <see cref="Query"/> is served.</summary>
public enum DnsOpcode : byte
{
    Query = 0,
    InverseQuery = 1,
    Status = 2,
    Notify = 4,
    Update = 5,
}

/// <summary>The EDNS(0) pseudo-record of a message (RFC 6891): the sender's UDP payload size and flags.</summary>
public sealed record DnsEdns(ushort UdpPayloadSize = DnsEdns.RecommendedUdpPayloadSize, byte Version = 0, bool DnssecOk = false)
{
    /// <summary>The DNS flag day 2020 size: fits the IPv6 minimum MTU, so answers never fragment.</summary>
    public const ushort RecommendedUdpPayloadSize = 1232;
}

/// <summary>One question: the name as asked (presentation form, case kept, no trailing dot), type and class.</summary>
/// <remarks>
/// Label bytes that are not plain printable ASCII, and '.' or '\' inside a label, are written as
/// <c>\DDD</c> / <c>\.</c> escapes (RFC 4343), so <see cref="Name"/> encodes back to the exact bytes asked.
/// </remarks>
public sealed record DnsQuestion(string Name, DnsRecordType Type, DnsRecordClass Class = DnsRecordClass.IN)
{
    /// <summary>The name lower-cased (DNS compares ASCII case-insensitively) without a trailing dot.</summary>
    public string NormalizedName => DnsName.Normalize(Name);

    /// <summary>True when <paramref name="name"/> is this question's name: ASCII case-insensitive, a trailing dot on either side ignored.</summary>
    public bool NameEquals(string name) => DnsName.AreEqual(Name, name);
}

/// <summary>A standard query (opcode QUERY) with its one question.</summary>
public sealed record DnsQuery(ushort Id, DnsQuestion Question, bool RecursionDesired = false, DnsEdns? Edns = null);

/// <summary>One resource record as read off the wire; <see cref="Data"/> is the raw RDATA.</summary>
public sealed record DnsRecord(string Name, DnsRecordType Type, DnsRecordClass Class, uint TtlSeconds, byte[] Data)
{
    /// <summary>The address of an A (4-byte) or AAAA (16-byte) record, otherwise null.</summary>
    public System.Net.IPAddress? Address =>
        (Type == DnsRecordType.A && Data.Length == 4) || (Type == DnsRecordType.AAAA && Data.Length == 16)
            ? new System.Net.IPAddress(Data)
            : null;
}

/// <summary>A whole DNS message as parsed by <see cref="DnsCodec.TryParseMessage"/> (the OPT record is lifted into <see cref="Edns"/>).</summary>
public sealed record DnsMessage(
    ushort Id,
    bool IsResponse,
    DnsOpcode Opcode,
    bool Authoritative,
    bool Truncated,
    bool RecursionDesired,
    bool RecursionAvailable,
    DnsResponseCode ResponseCode,
    IReadOnlyList<DnsQuestion> Questions,
    IReadOnlyList<DnsRecord> Answers,
    IReadOnlyList<DnsRecord> Authority,
    IReadOnlyList<DnsRecord> Additional,
    DnsEdns? Edns);
