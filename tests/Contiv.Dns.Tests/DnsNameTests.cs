using Xunit;

namespace Contiv.Dns.Tests;

public sealed class DnsNameTests
{
    [Fact]
    public void Single_label_with_and_without_trailing_dot_encode_the_same()
    {
        Assert.Equal(Hex.Bytes(Hex.Name("contiv-c1")), DnsName.Encode("contiv-c1"));
        Assert.Equal(DnsName.Encode("contiv-c1"), DnsName.Encode("contiv-c1."));
        Assert.Equal([0], DnsName.Encode("."));
        Assert.Equal([0], DnsName.Encode(""));
    }

    [Theory]
    [InlineData("contiv-c1", "CONTIV-C1.")]
    [InlineData("web.blue.contiv", "Web.Blue.Contiv")]
    [InlineData("a\\.", "A\\.")]
    public void Names_compare_case_insensitively_ignoring_a_trailing_dot(string left, string right) =>
        Assert.True(DnsName.AreEqual(left, right));

    [Theory]
    [InlineData("contiv-c1", "contiv-c2")]
    [InlineData("a\\.", "a")] // the escaped dot is part of the label, not a separator
    [InlineData("web.blue", "web")]
    public void Different_names_are_not_equal(string left, string right) => Assert.False(DnsName.AreEqual(left, right));

    [Fact]
    public void Normalize_lowercases_and_drops_the_trailing_dot() =>
        Assert.Equal("contiv-c1.blue", DnsName.Normalize("Contiv-C1.BLUE."));

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("has space")]
    [InlineData("caf\u00e9")]
    [InlineData("bad\\")]
    [InlineData("bad\\999")]
    public void Invalid_names_are_rejected(string name)
    {
        Assert.False(DnsName.IsValid(name));
        Assert.Throws<ArgumentException>(() => DnsName.Encode(name));
    }

    [Fact]
    public void Labels_and_names_have_their_rfc_limits()
    {
        Assert.True(DnsName.IsValid(new string('a', 63)));
        Assert.False(DnsName.IsValid(new string('a', 64)));
        // 4 labels of 63 = 4*64 + 1 = 257 bytes; 3 of 63 plus one of 61 = 255, the most allowed.
        var longest = string.Join('.', new string('a', 63), new string('b', 63), new string('c', 63), new string('d', 61));
        Assert.Equal(255, DnsName.Encode(longest).Length);
        Assert.False(DnsName.IsValid(longest + "d"));
    }

    [Fact]
    public void Escapes_round_trip_through_the_wire()
    {
        // One label holding a dot, a backslash, a space, a zero byte and 0xFF.
        var wire = Hex.Bytes("07 61 2e 5c 20 00 ff 62 00");
        var packet = Hex.Bytes("0001 0000 0001 0000 0000 0000").Concat(wire).Concat(Hex.Bytes("0001 0001")).ToArray();
        var parsed = DnsCodec.ParseQuery(packet);

        Assert.Equal(DnsQueryParseStatus.Query, parsed.Status);
        Assert.Equal("a\\.\\\\\\032\\000\\255b", parsed.Query!.Question.Name);
        Assert.Equal(wire, DnsName.Encode(parsed.Query.Question.Name));
    }
}
