using System.Net;
using System.Net.Sockets;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.Dns.Tests;

/// <summary>Real clients over real sockets: ISC dig (UDP and TCP, EDNS, truncation) and busybox nslookup.</summary>
public sealed class ExternalClientTests
{
    [Theory]
    [InlineData("+notcp")]
    [InlineData("+tcp")]
    public async Task Dig_resolves_a_single_label_name(string transport)
    {
        await using var dns = TestZone.Start();

        var dig = await ExternalClients.DigAsync(dns.LocalEndPoint, transport, "contiv-c1", "A");

        Assert.Equal("NOERROR", dig.Status);
        Assert.Contains("aa", dig.Flags);
        Assert.Equal(["contiv-c1. 5 IN A 10.1.1.2"], dig.Answers);
    }

    [Theory]
    [InlineData("+notcp")]
    [InlineData("+tcp")]
    public async Task Dig_gets_the_question_echoed_in_the_case_it_asked(string transport)
    {
        await using var dns = TestZone.Start();

        var dig = await ExternalClients.DigAsync(dns.LocalEndPoint, transport, "CoNtIv-C1.", "A");

        Assert.Equal(";CoNtIv-C1. IN A", dig.Question);
        Assert.Equal(["CoNtIv-C1. 5 IN A 10.1.1.2"], dig.Answers);
    }

    [Theory]
    [InlineData("contiv-c1", "AAAA", "NOERROR")] // name exists, no v6: empty answer
    [InlineData("nobody", "A", "NXDOMAIN")]
    [InlineData("nobody", "AAAA", "NXDOMAIN")]
    [InlineData("other-tenant", "A", "REFUSED")]
    [InlineData("store-down", "A", "SERVFAIL")]
    [InlineData("external.example", "A", "REFUSED")]
    public async Task Dig_sees_the_right_status_and_no_answers(string name, string type, string status)
    {
        await using var dns = TestZone.Start();

        var dig = await ExternalClients.DigAsync(dns.LocalEndPoint, name, type);

        Assert.Equal(status, dig.Status);
        Assert.Equal(0, dig.AnswerCount);
    }

    [Fact]
    public async Task Dig_retries_truncated_answers_over_tcp()
    {
        await using var dns = TestZone.Start();

        var truncated = await ExternalClients.DigAsync(dns.LocalEndPoint, "+ignore", "many", "A");
        var retried = await ExternalClients.DigAsync(dns.LocalEndPoint, "many", "A");

        Assert.Contains("tc", truncated.Flags);
        Assert.Equal(0, truncated.AnswerCount);
        Assert.Contains("Truncated, retrying in TCP mode", retried.Text, StringComparison.Ordinal);
        Assert.Equal(200, retried.AnswerCount);
    }

    [Fact]
    public async Task Dig_gets_more_in_udp_with_edns_than_without()
    {
        await using var dns = TestZone.Start();

        var withEdns = await ExternalClients.DigAsync(dns.LocalEndPoint, "+ignore", "+bufsize=1232", "sixty", "A");
        var without = await ExternalClients.DigAsync(dns.LocalEndPoint, "+ignore", "+noedns", "sixty", "A");

        Assert.Equal(60, withEdns.AnswerCount);
        Assert.DoesNotContain("tc", withEdns.Flags);
        Assert.Contains("tc", without.Flags);
    }

    [Fact]
    public async Task Dig_edns_version_1_gets_badvers()
    {
        await using var dns = TestZone.Start();

        var dig = await ExternalClients.DigAsync(dns.LocalEndPoint, "+edns=1", "+noednsnegotiation", "contiv-c1", "A");

        Assert.Equal("BADVERS", dig.Status);
    }

    [Fact]
    public async Task Busybox_nslookup_resolves_and_reports_missing_names()
    {
        // busybox nslookup cannot pick a port, so this needs 127.0.0.1:53 (root, and nothing else on it).
        await using var dns = new DnsResponder(new IPEndPoint(IPAddress.Loopback, DnsResponder.DefaultPort), TestZone.ResolveAsync);
        try
        {
            dns.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            Prerequisite.Missing($"listening on 127.0.0.1:53 for busybox nslookup needs root: {e.SocketErrorCode}");
        }
        catch (SocketException e)
        {
            // Another server holds the port: nothing the project could install changes that.
            Prerequisite.Impossible($"cannot listen on 127.0.0.1:53 for busybox nslookup: {e.SocketErrorCode}");
        }

        if (!File.Exists("/bin/busybox"))
            Prerequisite.MissingPackage("/bin/busybox", "busybox-static");

        var found = await ExternalClients.BusyboxAsync("nslookup", "contiv-c1", "127.0.0.1");
        var missing = await ExternalClients.BusyboxAsync("nslookup", "nobody", "127.0.0.1");

        Assert.True(found.ExitCode == 0, found.Output + found.Error);
        Assert.Contains("Address: 10.1.1.2", found.Output, StringComparison.Ordinal);
        Assert.Contains("NXDOMAIN", missing.Output + missing.Error, StringComparison.Ordinal);
    }
}
