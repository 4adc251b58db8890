using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Contiv.Dns;

/// <summary>What <see cref="DnsCodec.ParseQuery"/> made of a packet, and so what the server owes the sender.</summary>
public enum DnsQueryParseStatus
{
    /// <summary>A well-formed standard query: answer it.</summary>
    Query,

    /// <summary>Not something to answer at all: shorter than a header, or a response (answering responses invites loops).</summary>
    Ignore,

    /// <summary>Malformed: answer FORMERR with a bare header.</summary>
    FormatError,

    /// <summary>An opcode other than QUERY: answer NOTIMP with a bare header.</summary>
    NotImplemented,
}

/// <summary>The outcome of parsing a query; the header fields are set whenever <see cref="Status"/> is not Ignore.</summary>
public readonly record struct DnsQueryParseResult(DnsQueryParseStatus Status, ushort Id, DnsOpcode Opcode, bool RecursionDesired, DnsQuery? Query);

/// <summary>RFC 1035 wire format for the few messages an authoritative A-record responder reads and writes.</summary>
public static class DnsCodec
{
    /// <summary>Largest UDP message a client without EDNS accepts (RFC 1035 4.2.1).</summary>
    public const int MaxUdpLengthWithoutEdns = 512;

    /// <summary>Largest message of all (TCP length prefix; RFC 1035 4.2.2).</summary>
    public const int MaxMessageLength = ushort.MaxValue;

    private const ushort FlagResponse = 0x8000;
    private const ushort FlagAuthoritative = 0x0400;
    private const ushort FlagTruncated = 0x0200;
    private const ushort FlagRecursionDesired = 0x0100;
    private const ushort FlagRecursionAvailable = 0x0080;
    private const int QuestionMinLength = 1 + 4; // root name, type, class
    private const int RecordMinLength = 1 + 10; // root name, type, class, ttl, rdlength
    private const int OptRecordLength = RecordMinLength; // root name, no options
    private const int ARecordLength = 2 + 10 + 4; // pointer to the question name, fixed fields, address
    private const ushort PointerToQuestionName = 0xC000 | DnsReader.HeaderLength;

    /// <summary>
    /// Parses a query. Never throws: malformed input of any kind yields <see cref="DnsQueryParseStatus.FormatError"/>
    /// (including bad compression pointers and counts the packet cannot hold), with work bounded by the packet length.
    /// Answer, authority and additional records are tolerated and skipped, except that an OPT record in the additional
    /// section is read (at most one, with the root name, RFC 6891 6.1.1).
    /// </summary>
    public static DnsQueryParseResult ParseQuery(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < DnsReader.HeaderLength)
            return default(DnsQueryParseResult) with { Status = DnsQueryParseStatus.Ignore };

        var id = BinaryPrimitives.ReadUInt16BigEndian(packet);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        var opcode = (DnsOpcode)((flags >> 11) & 0xF);
        var recursionDesired = (flags & FlagRecursionDesired) != 0;
        var header = new DnsQueryParseResult(DnsQueryParseStatus.FormatError, id, opcode, recursionDesired, null);
        if ((flags & FlagResponse) != 0)
            return header with { Status = DnsQueryParseStatus.Ignore };
        if (opcode != DnsOpcode.Query)
            return header with { Status = DnsQueryParseStatus.NotImplemented };

        var reader = new DnsReader(packet);
        reader.TryReadBytes(DnsReader.HeaderLength, out _);
        var questionCount = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var recordCount = BinaryPrimitives.ReadUInt16BigEndian(packet[6..])
            + BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        var additionalCount = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        if (questionCount != 1)
            return header; // RFC 9619: exactly one question

        if (!reader.TryReadName(out var name) || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out var @class)
            || type == (ushort)DnsRecordType.OPT)
            return header;
        // Counts the remaining bytes cannot possibly hold are rejected before any loop runs over them.
        if ((long)(recordCount + additionalCount) * RecordMinLength > reader.Remaining)
            return header;

        DnsEdns? edns = null;
        for (var i = 0; i < recordCount + additionalCount; i++)
        {
            if (!TryReadRecord(ref reader, out var owner, out var recordType, out var recordClass, out var ttl, out _))
                return header;
            if (recordType != (ushort)DnsRecordType.OPT)
                continue;
            if (i < recordCount || edns is not null || owner.Length != 0)
                return header;
            edns = EdnsFrom(recordClass, ttl);
        }

        var question = new DnsQuestion(name, (DnsRecordType)type, (DnsRecordClass)@class);
        return header with { Status = DnsQueryParseStatus.Query, Query = new DnsQuery(id, question, recursionDesired, edns) };
    }

    /// <summary>A query message for <paramref name="query"/> (used by clients and tests).</summary>
    public static byte[] BuildQuery(DnsQuery query)
    {
        var name = DnsName.Encode(query.Question.Name);
        var message = new byte[DnsReader.HeaderLength + name.Length + 4 + (query.Edns is null ? 0 : OptRecordLength)];
        var at = WriteHeader(message, query.Id, query.RecursionDesired ? FlagRecursionDesired : (ushort)0, 1, 0, query.Edns is null ? 0 : 1);
        at = WriteQuestion(message, at, name, query.Question);
        if (query.Edns is not null)
            WriteOpt(message, at, query.Edns.UdpPayloadSize, 0, query.Edns.Version, query.Edns.DnssecOk);
        return message;
    }

    /// <summary>
    /// A response to <paramref name="query"/>: its question echoed exactly as asked, one A record per address (owner
    /// compressed to the question name, so its case is echoed too), and an OPT record when the query had one. When
    /// the whole message would exceed <paramref name="maxLength"/> the answers are dropped and TC is set, so the
    /// client retries over TCP (RFC 2181 9).
    /// </summary>
    /// <param name="addresses">IPv4 addresses only.</param>
    /// <param name="maxLength">At least 512; the UDP limit for the client, or <see cref="MaxMessageLength"/> for TCP.</param>
    public static byte[] BuildResponse(DnsQuery query, DnsResponseCode code, IReadOnlyList<IPAddress> addresses, uint ttlSeconds,
        int maxLength, bool authoritative)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, MaxUdpLengthWithoutEdns);
        if ((int)code > 0xF && query.Edns is null)
            throw new ArgumentException($"response code {code} needs EDNS to be carried", nameof(code));
        foreach (var address in addresses)
        {
            if (address.AddressFamily != AddressFamily.InterNetwork)
                throw new ArgumentException($"not an IPv4 address: {address}", nameof(addresses));
        }

        var name = DnsName.Encode(query.Question.Name);
        var fixedLength = DnsReader.HeaderLength + name.Length + 4 + (query.Edns is null ? 0 : OptRecordLength);
        var answerCount = addresses.Count;
        var truncated = (long)fixedLength + ((long)answerCount * ARecordLength) > Math.Min(maxLength, MaxMessageLength);
        if (truncated)
            answerCount = 0;

        var flags = (ushort)(FlagResponse | ((int)code & 0xF)
            | (authoritative ? FlagAuthoritative : 0)
            | (truncated ? FlagTruncated : 0)
            | (query.RecursionDesired ? FlagRecursionDesired : 0));
        var message = new byte[fixedLength + (answerCount * ARecordLength)];
        var at = WriteHeader(message, query.Id, flags, 1, answerCount, query.Edns is null ? 0 : 1);
        at = WriteQuestion(message, at, name, query.Question);
        for (var i = 0; i < answerCount; i++)
        {
            at = WriteUInt16(message, at, PointerToQuestionName);
            at = WriteUInt16(message, at, (ushort)DnsRecordType.A);
            at = WriteUInt16(message, at, (ushort)DnsRecordClass.IN);
            BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(at), ttlSeconds);
            at = WriteUInt16(message, at + 4, 4);
            addresses[i].TryWriteBytes(message.AsSpan(at, 4), out _);
            at += 4;
        }

        if (query.Edns is not null)
            WriteOpt(message, at, DnsEdns.RecommendedUdpPayloadSize, (int)code >> 4, 0, query.Edns.DnssecOk);
        return message;
    }

    /// <summary>A response carrying only a header (no question): for FORMERR and NOTIMP, where the question cannot be trusted.</summary>
    public static byte[] BuildHeaderOnlyResponse(ushort id, DnsOpcode opcode, bool recursionDesired, DnsResponseCode code)
    {
        if ((int)code > 0xF)
            throw new ArgumentException($"response code {code} needs EDNS to be carried", nameof(code));
        var flags = (ushort)(FlagResponse | (((int)opcode & 0xF) << 11) | (recursionDesired ? FlagRecursionDesired : 0) | (int)code);
        var message = new byte[DnsReader.HeaderLength];
        WriteHeader(message, id, flags, 0, 0, 0);
        return message;
    }

    /// <summary>
    /// Strictly parses any message (every count honoured, compression followed, at most one OPT and only in the
    /// additional section, no trailing bytes). Used to read responses: by clients, tests and the upstream forwarder.
    /// </summary>
    public static bool TryParseMessage(ReadOnlySpan<byte> packet, [NotNullWhen(true)] out DnsMessage? message)
    {
        message = null;
        var reader = new DnsReader(packet);
        if (!reader.TryReadUInt16(out var id) || !reader.TryReadUInt16(out var flags)
            || !reader.TryReadUInt16(out var questionCount) || !reader.TryReadUInt16(out var answerCount)
            || !reader.TryReadUInt16(out var authorityCount) || !reader.TryReadUInt16(out var additionalCount))
            return false;
        if (((long)questionCount * QuestionMinLength) + ((long)(answerCount + authorityCount + additionalCount) * RecordMinLength) > reader.Remaining)
            return false;

        var questions = new List<DnsQuestion>(questionCount);
        for (var i = 0; i < questionCount; i++)
        {
            if (!reader.TryReadName(out var name) || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out var @class))
                return false;
            questions.Add(new DnsQuestion(name, (DnsRecordType)type, (DnsRecordClass)@class));
        }

        var sections = new[] { new List<DnsRecord>(answerCount), new List<DnsRecord>(authorityCount), new List<DnsRecord>(additionalCount) };
        var counts = new[] { answerCount, authorityCount, additionalCount };
        DnsEdns? edns = null;
        var extendedCode = 0;
        for (var section = 0; section < sections.Length; section++)
        {
            for (var i = 0; i < counts[section]; i++)
            {
                if (!TryReadRecord(ref reader, out var owner, out var type, out var @class, out var ttl, out var data))
                    return false;
                if (type == (ushort)DnsRecordType.OPT)
                {
                    if (section != 2 || edns is not null || owner.Length != 0)
                        return false;
                    edns = EdnsFrom(@class, ttl);
                    extendedCode = (int)(ttl >> 24);
                    continue;
                }

                sections[section].Add(new DnsRecord(owner, (DnsRecordType)type, (DnsRecordClass)@class, ttl, data.ToArray()));
            }
        }

        if (reader.Remaining != 0)
            return false;
        message = new DnsMessage(
            id,
            IsResponse: (flags & FlagResponse) != 0,
            Opcode: (DnsOpcode)((flags >> 11) & 0xF),
            Authoritative: (flags & FlagAuthoritative) != 0,
            Truncated: (flags & FlagTruncated) != 0,
            RecursionDesired: (flags & FlagRecursionDesired) != 0,
            RecursionAvailable: (flags & FlagRecursionAvailable) != 0,
            ResponseCode: (DnsResponseCode)((extendedCode << 4) | (flags & 0xF)),
            questions, sections[0], sections[1], sections[2], edns);
        return true;
    }

    private static bool TryReadRecord(ref DnsReader reader, out string owner, out ushort type, out ushort @class, out uint ttl,
        out ReadOnlySpan<byte> data)
    {
        type = @class = 0;
        ttl = 0;
        data = default;
        return reader.TryReadName(out owner)
            && reader.TryReadUInt16(out type)
            && reader.TryReadUInt16(out @class)
            && reader.TryReadUInt32(out ttl)
            && reader.TryReadUInt16(out var dataLength)
            && reader.TryReadBytes(dataLength, out data);
    }

    // OPT reuses CLASS for the sender's UDP payload size and TTL for extended-rcode(8) | version(8) | DO(1) | zero(15).
    private static DnsEdns EdnsFrom(ushort @class, uint ttl) =>
        new(Math.Max(@class, (ushort)MaxUdpLengthWithoutEdns), (byte)(ttl >> 16), (ttl & 0x8000) != 0);

    private static int WriteHeader(Span<byte> message, ushort id, ushort flags, int questions, int answers, int additional)
    {
        var at = WriteUInt16(message, 0, id);
        at = WriteUInt16(message, at, flags);
        at = WriteUInt16(message, at, (ushort)questions);
        at = WriteUInt16(message, at, (ushort)answers);
        at = WriteUInt16(message, at, 0);
        return WriteUInt16(message, at, (ushort)additional);
    }

    private static int WriteQuestion(Span<byte> message, int at, ReadOnlySpan<byte> name, DnsQuestion question)
    {
        name.CopyTo(message[at..]);
        at = WriteUInt16(message, at + name.Length, (ushort)question.Type);
        return WriteUInt16(message, at, (ushort)question.Class);
    }

    // Responses always say version 0 (all we speak) and copy DO back as RFC 3225 asks, though no DNSSEC data is served.
    private static int WriteOpt(Span<byte> message, int at, ushort udpPayloadSize, int extendedCode, byte version, bool dnssecOk)
    {
        message[at++] = 0; // root name
        at = WriteUInt16(message, at, (ushort)DnsRecordType.OPT);
        at = WriteUInt16(message, at, udpPayloadSize);
        var ttl = ((uint)extendedCode << 24) | ((uint)version << 16) | (dnssecOk ? 0x8000u : 0);
        BinaryPrimitives.WriteUInt32BigEndian(message[at..], ttl);
        return WriteUInt16(message, at + 4, 0);
    }

    private static int WriteUInt16(Span<byte> message, int at, ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message[at..], value);
        return at + 2;
    }
}
