using System.Diagnostics;
using System.Net;
using Xunit;

namespace Contiv.Dns.Tests;

public sealed class DnsCodecTests
{
    private static readonly string C1 = Hex.Name("contiv-c1");
    private static readonly string Question = C1 + "0001 0001"; // contiv-c1 A IN, 15 bytes, at offset 12
    private const string NoOpt = "";
    private const string Opt4096 = "00 0029 1000 00000000 0000";

    private static DnsQueryParseResult Parse(string hex) => DnsCodec.ParseQuery(Hex.Bytes(hex));

    private static void AssertFormErr(string hex) => Assert.Equal(DnsQueryParseStatus.FormatError, Parse(hex).Status);

    [Fact]
    public void Parses_a_hand_built_query()
    {
        var parsed = Parse("BEEF 0100 0001 0000 0000 0000" + Question);

        Assert.Equal(DnsQueryParseStatus.Query, parsed.Status);
        Assert.Equal(new DnsQuery(0xBEEF, new DnsQuestion("contiv-c1", DnsRecordType.A), RecursionDesired: true), parsed.Query);
    }

    [Fact]
    public void Keeps_the_case_asked_and_compares_without_it()
    {
        var parsed = Parse("0001 0000 0001 0000 0000 0000" + Hex.Name("CoNtIv-C1.Blue") + "001c 0001");

        var question = parsed.Query!.Question;
        Assert.Equal("CoNtIv-C1.Blue", question.Name);
        Assert.Equal("contiv-c1.blue", question.NormalizedName);
        Assert.Equal(DnsRecordType.AAAA, question.Type);
        Assert.True(question.NameEquals("contiv-c1.blue."));
    }

    [Fact]
    public void Reads_the_edns_opt_record()
    {
        var plain = Parse("0001 0000 0001 0000 0000 0001" + Question + Opt4096).Query!;
        var withDo = Parse("0001 0000 0001 0000 0000 0001" + Question + "00 0029 04d0 00008000 0000").Query!;
        var tiny = Parse("0001 0000 0001 0000 0000 0001" + Question + "00 0029 0100 00010000 0000").Query!;

        Assert.Equal(new DnsEdns(4096), plain.Edns);
        Assert.Equal(new DnsEdns(1232, 0, DnssecOk: true), withDo.Edns);
        Assert.Equal(new DnsEdns(512, Version: 1), tiny.Edns); // sizes under 512 mean 512 (RFC 6891 6.2.3)
    }

    [Fact]
    public void Tolerates_other_records_with_compressed_names_and_trailing_bytes()
    {
        // An additional A record owned by a pointer to the question name (offset 12), then the OPT, then junk.
        var parsed = Parse("0001 0000 0001 0000 0000 0002" + Question + "C00C 0001 0001 00000000 0004 01020304" + Opt4096 + "DEAD");

        Assert.Equal(DnsQueryParseStatus.Query, parsed.Status);
        Assert.Equal(4096, parsed.Query!.Edns!.UdpPayloadSize);
    }

    [Fact]
    public void Ignores_what_is_not_a_query()
    {
        Assert.Equal(DnsQueryParseStatus.Ignore, Parse("0001 8000 0001 0000 0000 0000" + Question).Status); // a response
        Assert.Equal(DnsQueryParseStatus.Ignore, Parse("0001 0000 0001 0000 0000 00").Status); // 11 bytes
        Assert.Equal(DnsQueryParseStatus.Ignore, Parse("").Status);
    }

    [Fact]
    public void Other_opcodes_are_not_implemented_and_keep_the_header()
    {
        var parsed = Parse("ABCD 1100 0001 0000 0000 0000" + Question); // opcode 2 (STATUS), RD

        Assert.Equal(new DnsQueryParseResult(DnsQueryParseStatus.NotImplemented, 0xABCD, DnsOpcode.Status, true, null), parsed);
    }

    [Theory]
    [InlineData("0001 0000 0000 0000 0000 0000", "no question")]
    [InlineData("0001 0000 0002 0000 0000 0000 {Q}{Q}", "two questions")]
    [InlineData("0001 0000 0001 0000 0000 0000 3F6162", "label length past the end")]
    [InlineData("0001 0000 0001 0000 0000 0000 09636F6E746976", "name cut short")]
    [InlineData("0001 0000 0001 0000 0000 0000 {C1}00", "type and class cut short")]
    [InlineData("0001 0000 0001 0000 0000 0000 41 61 00 0001 0001", "extended label type 0x40")]
    [InlineData("0001 0000 0001 0000 0000 0000 81 61 00 0001 0001", "reserved label type 0x80")]
    [InlineData("0001 0000 0001 0000 0000 0000 C00C 0001 0001", "pointer in the question: nowhere earlier to point")]
    [InlineData("0001 0000 0001 0000 0000 0000 {C1}0029 0001", "question type OPT")]
    [InlineData("0001 0000 0001 0000 0000 0001 {Q} C01B 0001 0001 00000000 0000", "pointer to itself")]
    [InlineData("0001 0000 0001 0000 0000 0001 {Q} 0161 C01B 0001 0001 00000000 0000", "label then pointer back to its own start")]
    [InlineData("0001 0000 0001 0001 0000 0000 {Q} C01D 0001 0001 00000000 0000 00", "forward pointer")]
    [InlineData("0001 0000 0001 0000 0000 0001 {Q} C002 0001 0001 00000000 0000", "pointer into the header")]
    [InlineData("0001 0000 0001 0000 0000 0001 {Q} C0", "pointer cut in half")]
    [InlineData("0001 0000 0001 0000 0000 0001 {Q} 00 0001 0001 00000000 0008 0102", "rdata past the end")]
    [InlineData("0001 0000 0001 FFFF FFFF FFFF {Q}", "counts the packet cannot hold")]
    [InlineData("0001 0000 0001 0000 0000 0002 {Q}{OPT}{OPT}", "two OPT records")]
    [InlineData("0001 0000 0001 0001 0000 0000 {Q}{OPT}", "OPT in the answer section")]
    [InlineData("0001 0000 0001 0000 0000 0001 {Q} C00C 0029 1000 00000000 0000", "OPT with a non-root name")]
    public void Malformed_queries_are_format_errors(string template, string why)
    {
        AssertFormErr(template.Replace("{Q}", Question, StringComparison.Ordinal)
            .Replace("{C1}", C1, StringComparison.Ordinal)
            .Replace("{OPT}", Opt4096, StringComparison.Ordinal));
        Assert.NotNull(why);
    }

    [Fact]
    public void Names_over_255_bytes_are_format_errors()
    {
        var label = "3F" + new string('6', 126); // 63 x 'f'
        AssertFormErr("0001 0000 0001 0000 0000 0000" + label + label + label + label + "00 0001 0001");
        Assert.Equal(DnsQueryParseStatus.Query,
            Parse("0001 0000 0001 0000 0000 0000" + label + label + label + "3D" + new string('6', 122) + "00 0001 0001").Status);
    }

    [Fact]
    public void Hostile_counts_and_pointer_chains_cost_bounded_work()
    {
        // Record 1 (answer) carries, inside its RDATA at offset 38, a root label followed by 8000 pointers, each to
        // the one before it; record 2 (additional) is owned by the last of them: a legal chain of 8000 jumps.
        const int Pointers = 8000;
        var chain = "00" + string.Concat(Enumerable.Range(0, Pointers).Select(i => $"{0xC000 | (i == 0 ? 38 : 37 + (2 * i)):X4}"));
        var longChain = Hex.Bytes("0001 0000 0001 0001 0000 0001" + Question
            + $"00 0001 0001 00000000 {1 + (2 * Pointers):X4}" + chain
            + $"{0xC000 | (38 + 1 + (2 * (Pointers - 1))):X4} 0001 0001 00000000 0000");
        var hugeCounts = Hex.Bytes("0001 0000 0001 FFFF FFFF FFFF" + Question + new string('0', 2 * 60000));

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(DnsQueryParseStatus.Query, DnsCodec.ParseQuery(longChain).Status);
            Assert.Equal(DnsQueryParseStatus.FormatError, DnsCodec.ParseQuery(hugeCounts).Status);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Builds_an_a_response_byte_for_byte()
    {
        var query = Parse("BEEF 0100 0001 0000 0000 0000" + Question).Query!;

        var response = DnsCodec.BuildResponse(query, DnsResponseCode.NoError, [IPAddress.Parse("10.1.1.2")], 5, 512, authoritative: true);

        // QR AA RD, 1 question, 1 answer: owner is a pointer to the question name, TTL 5, 10.1.1.2.
        Assert.Equal(Hex.Bytes("BEEF 8500 0001 0001 0000 0000" + Question + "C00C 0001 0001 00000005 0004 0A010102"), response);
    }

    [Fact]
    public void Echoes_the_question_exactly_and_answers_opt_with_opt()
    {
        var asked = "1234 0000 0001 0000 0000 0001" + Hex.Name("CoNtIv-C1") + "0001 00FF" + "00 0029 1000 00008000 0000";
        var query = Parse(asked).Query!;

        var response = DnsCodec.BuildResponse(query, DnsResponseCode.NXDomain, [], 5, 4096, authoritative: true);

        // NXDOMAIN, AA, no RD; question (class ANY kept) byte-identical; OPT: our 1232, DO copied back.
        Assert.Equal(Hex.Bytes("1234 8403 0001 0000 0000 0001" + Hex.Name("CoNtIv-C1") + "0001 00FF" + "00 0029 04D0 00008000 0000"), response);
    }

    [Fact]
    public void Header_only_errors_keep_id_opcode_and_rd()
    {
        Assert.Equal(Hex.Bytes("ABCD 9104 0000 0000 0000 0000"),
            DnsCodec.BuildHeaderOnlyResponse(0xABCD, DnsOpcode.Status, recursionDesired: true, DnsResponseCode.NotImp));
        Assert.Equal(Hex.Bytes("0007 8001 0000 0000 0000 0000"),
            DnsCodec.BuildHeaderOnlyResponse(7, DnsOpcode.Query, recursionDesired: false, DnsResponseCode.FormErr));
    }

    [Fact]
    public void Bad_version_travels_in_the_opt_extended_rcode()
    {
        var query = new DnsQuery(9, new DnsQuestion("x", DnsRecordType.A), Edns: new DnsEdns(1232, Version: 1));

        var response = DnsCodec.BuildResponse(query, DnsResponseCode.BadVers, [], 5, 512, authoritative: false);

        Assert.True(DnsCodec.TryParseMessage(response, out var message));
        Assert.Equal(DnsResponseCode.BadVers, message.ResponseCode);
        Assert.Equal(0, response[3] & 0xF); // the low 4 bits of 16 are zero; the 1 is in the OPT TTL's top byte
        Assert.Throws<ArgumentException>(() =>
            DnsCodec.BuildResponse(query with { Edns = null }, DnsResponseCode.BadVers, [], 5, 512, false));
    }

    [Fact]
    public void Udp_responses_over_the_limit_are_truncated_to_no_answers()
    {
        var query = new DnsQuery(1, new DnsQuestion("contiv-c1", DnsRecordType.A));
        IPAddress[] Addresses(int count) => [.. Enumerable.Range(1, count).Select(i => new IPAddress([10, 1, 0, (byte)i]))];

        // 12 header + 15 question + 30 * 16 = 507 bytes fit in 512; a 31st record does not.
        var fits = DnsCodec.BuildResponse(query, DnsResponseCode.NoError, Addresses(30), 5, 512, true);
        var over = DnsCodec.BuildResponse(query, DnsResponseCode.NoError, Addresses(31), 5, 512, true);
        var overTcp = DnsCodec.BuildResponse(query, DnsResponseCode.NoError, Addresses(31), 5, DnsCodec.MaxMessageLength, true);

        Assert.True(DnsCodec.TryParseMessage(fits, out var fitsMessage));
        Assert.Equal((507, false, 30), (fits.Length, fitsMessage.Truncated, fitsMessage.Answers.Count));
        Assert.True(DnsCodec.TryParseMessage(over, out var overMessage));
        Assert.Equal((true, 0, 1), (overMessage.Truncated, overMessage.Answers.Count, overMessage.Questions.Count));
        Assert.True(DnsCodec.TryParseMessage(overTcp, out var tcpMessage));
        Assert.Equal((false, 31), (tcpMessage.Truncated, tcpMessage.Answers.Count));
    }

    [Fact]
    public void Only_ipv4_addresses_go_in_a_records()
    {
        var query = new DnsQuery(1, new DnsQuestion("x", DnsRecordType.A));
        Assert.Throws<ArgumentException>(() => DnsCodec.BuildResponse(query, DnsResponseCode.NoError, [IPAddress.IPv6Loopback], 5, 512, true));
        Assert.Throws<ArgumentException>(() => DnsAnswer.WithAddresses(IPAddress.IPv6Loopback));
        Assert.Equal(IPAddress.Loopback, DnsAnswer.WithAddresses(IPAddress.Loopback.MapToIPv6()).Addresses[0]);
    }

    [Theory]
    [InlineData("contiv-c1", DnsRecordType.A, false, null)]
    [InlineData("web.Blue.contiv.", DnsRecordType.AAAA, true, (ushort)4096)]
    [InlineData(".", DnsRecordType.NS, true, (ushort)1232)]
    public void Queries_round_trip(string name, DnsRecordType type, bool recursionDesired, ushort? ednsSize)
    {
        var query = new DnsQuery(4242, new DnsQuestion(name, type), recursionDesired, ednsSize is { } size ? new DnsEdns(size) : null);

        var parsed = DnsCodec.ParseQuery(DnsCodec.BuildQuery(query));

        Assert.Equal(DnsQueryParseStatus.Query, parsed.Status);
        // Parsed names are in canonical presentation form: no trailing dot, root is "".
        Assert.Equal(query with { Question = query.Question with { Name = name.TrimEnd('.') } }, parsed.Query);
    }

    [Fact]
    public void Responses_round_trip()
    {
        var query = new DnsQuery(77, new DnsQuestion("Contiv-C1", DnsRecordType.A), true, new DnsEdns(1232));
        IPAddress[] addresses = [IPAddress.Parse("10.1.1.2"), IPAddress.Parse("10.1.1.3")];

        Assert.True(DnsCodec.TryParseMessage(DnsCodec.BuildResponse(query, DnsResponseCode.NoError, addresses, 30, 1232, true), out var message));

        Assert.Equal(77, message.Id);
        Assert.True(message.IsResponse && message.Authoritative && message.RecursionDesired && !message.RecursionAvailable && !message.Truncated);
        Assert.Equal(DnsResponseCode.NoError, message.ResponseCode);
        Assert.Equal([query.Question], message.Questions);
        Assert.Equal(addresses, message.Answers.Select(a => a.Address));
        Assert.All(message.Answers, a => Assert.Equal(("Contiv-C1", DnsRecordType.A, DnsRecordClass.IN, 30u), (a.Name, a.Type, a.Class, a.TtlSeconds)));
        Assert.Empty(message.Additional);
        Assert.Equal(new DnsEdns(1232), message.Edns);
    }

    [Fact]
    public void Message_parser_follows_pointer_chains_and_rejects_leftovers()
    {
        // Question contiv-c1.blue at 12 (16 bytes + type/class); answer 1 at 32 is "x1" + ptr 12; answer 2 at 51 is "y2" + ptr 32.
        var response = "0001 8400 0001 0002 0000 0000" + Hex.Name("contiv-c1.blue") + "0001 0001"
            + "0278 31C0 0C 0001 0001 00000005 0004 0A000001"
            + "0279 32C0 20 0001 0001 00000005 0004 0A000002";

        Assert.True(DnsCodec.TryParseMessage(Hex.Bytes(response), out var message));
        Assert.Equal(["x1.contiv-c1.blue", "y2.x1.contiv-c1.blue"], message.Answers.Select(a => a.Name));
        Assert.False(DnsCodec.TryParseMessage(Hex.Bytes(response + "00"), out _));
        Assert.False(DnsCodec.TryParseMessage(Hex.Bytes(response[..^2]), out _));
    }
}
