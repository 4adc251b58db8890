using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Contiv.Dns.Tests;

public sealed class DnsResponderTests
{
    [Fact]
    public async Task Answers_a_records_over_udp()
    {
        await using var dns = TestZone.Start();

        var reply = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("contiv-c1"));

        Assert.Equal(DnsResponseCode.NoError, reply.ResponseCode);
        Assert.True(reply.Authoritative);
        Assert.False(reply.RecursionAvailable); // authoritative only, even though RD was asked
        var answer = Assert.Single(reply.Answers);
        Assert.Equal(("contiv-c1", DnsRecordType.A, 5u, TestZone.C1), (answer.Name, answer.Type, answer.TtlSeconds, answer.Address));
    }

    [Fact]
    public async Task Answers_pipelined_queries_on_one_tcp_connection()
    {
        await using var dns = TestZone.Start();
        using var connection = await TestDnsClient.ConnectTcpAsync(dns.LocalEndPoint);
        await using var stream = new NetworkStream(connection);

        foreach (var (name, address) in new[] { ("contiv-c1", TestZone.C1), ("contiv-c2", TestZone.C2), ("CONTIV-C1.", TestZone.C1) })
        {
            var query = TestZone.Query(name);
            Assert.True(DnsCodec.TryParseMessage(await TestDnsClient.ExchangeTcpAsync(stream, DnsCodec.BuildQuery(query)), out var reply));
            Assert.Equal(query.Id, reply.Id);
            Assert.Equal(address, Assert.Single(reply.Answers).Address);
            Assert.Equal(name.TrimEnd('.'), reply.Questions[0].Name);
        }
    }

    [Theory]
    [InlineData("contiv-c1", DnsRecordType.AAAA, DnsResponseCode.NoError, 0)] // exists, has no v6: NODATA
    [InlineData("contiv-c1", DnsRecordType.MX, DnsResponseCode.NoError, 0)]
    [InlineData("contiv-c1", DnsRecordType.ANY, DnsResponseCode.NoError, 1)]
    [InlineData("no-addresses", DnsRecordType.A, DnsResponseCode.NoError, 0)]
    [InlineData("nobody", DnsRecordType.A, DnsResponseCode.NXDomain, 0)]
    [InlineData("nobody", DnsRecordType.AAAA, DnsResponseCode.NXDomain, 0)]
    [InlineData("other-tenant", DnsRecordType.A, DnsResponseCode.Refused, 0)]
    [InlineData("store-down", DnsRecordType.A, DnsResponseCode.ServFail, 0)]
    [InlineData("throws", DnsRecordType.A, DnsResponseCode.ServFail, 0)]
    [InlineData("external.example", DnsRecordType.A, DnsResponseCode.Refused, 0)] // forwarding is off by default
    [InlineData("contiv-c1", DnsRecordType.AXFR, DnsResponseCode.Refused, 0)]
    public async Task Maps_each_outcome_to_its_response_code(string name, DnsRecordType type, DnsResponseCode code, int answers)
    {
        await using var dns = TestZone.Start();

        foreach (var overTcp in new[] { false, true })
        {
            var query = TestZone.Query(name, type);
            var reply = overTcp
                ? await TestDnsClient.QueryTcpAsync(dns.LocalEndPoint, query)
                : await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, query);

            Assert.Equal(code, reply.ResponseCode);
            Assert.Equal(answers, reply.Answers.Count);
            Assert.Equal([query.Question], reply.Questions);
            Assert.Equal(code is DnsResponseCode.NoError or DnsResponseCode.NXDomain, reply.Authoritative);
        }
    }

    [Fact]
    public async Task Refuses_other_classes()
    {
        await using var dns = TestZone.Start();
        var query = new DnsQuery(7, new DnsQuestion("version.bind", DnsRecordType.TXT, DnsRecordClass.CH));

        Assert.Equal(DnsResponseCode.Refused, (await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, query)).ResponseCode);
    }

    [Fact]
    public async Task Answers_malformed_queries_with_formerr_and_ignores_responses_and_runts()
    {
        await using var dns = TestZone.Start();
        var server = dns.LocalEndPoint;
        var shortWait = TimeSpan.FromMilliseconds(300);

        var formErr = await TestDnsClient.ExchangeUdpAsync(server, Hex.Bytes("4242 0100 0002 0000 0000 0000"), shortWait);
        var notImp = await TestDnsClient.ExchangeUdpAsync(server, Hex.Bytes("4243 2800 0001 0000 0000 0000" + Hex.Name("x") + "0001 0001"), shortWait);

        Assert.Equal(Hex.Bytes("4242 8101 0000 0000 0000 0000"), formErr);
        Assert.Equal(Hex.Bytes("4243 A804 0000 0000 0000 0000"), notImp); // opcode 5 (UPDATE) kept
        Assert.Null(await TestDnsClient.ExchangeUdpAsync(server, Hex.Bytes("4244 8000 0001 0000 0000 0000" + Hex.Name("x") + "0001 0001"), shortWait));
        Assert.Null(await TestDnsClient.ExchangeUdpAsync(server, Hex.Bytes("4245"), shortWait));
    }

    [Fact]
    public async Task Speaks_edns_and_rejects_unknown_versions()
    {
        await using var dns = TestZone.Start();

        var v0 = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("contiv-c1", edns: new DnsEdns(4096, DnssecOk: true)));
        var v1 = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("contiv-c1", edns: new DnsEdns(4096, Version: 1)));

        Assert.Equal(new DnsEdns(DnsEdns.RecommendedUdpPayloadSize, 0, DnssecOk: true), v0.Edns);
        Assert.Single(v0.Answers);
        Assert.Equal(DnsResponseCode.BadVers, v1.ResponseCode);
        Assert.Empty(v1.Answers);
    }

    [Fact]
    public async Task Truncates_big_udp_answers_and_serves_them_whole_over_tcp()
    {
        await using var dns = TestZone.Start();
        var server = dns.LocalEndPoint;

        var sixtyPlain = await TestDnsClient.QueryUdpAsync(server, TestZone.Query("sixty"));
        var sixtyEdns = await TestDnsClient.QueryUdpAsync(server, TestZone.Query("sixty", edns: new DnsEdns(1232)));
        var manyEdns = await TestDnsClient.QueryUdpAsync(server, TestZone.Query("many", edns: new DnsEdns(4096))); // capped at 1232
        var manyTcp = await TestDnsClient.QueryTcpAsync(server, TestZone.Query("many"));

        Assert.Equal((true, 0), (sixtyPlain.Truncated, sixtyPlain.Answers.Count));
        Assert.Equal((false, 60), (sixtyEdns.Truncated, sixtyEdns.Answers.Count));
        Assert.Equal((true, 0), (manyEdns.Truncated, manyEdns.Answers.Count));
        Assert.Equal(TestZone.Many, manyTcp.Answers.Select(a => a.Address));
    }

    [Fact]
    public async Task The_resolver_sees_the_client_address_so_tenants_stay_apart()
    {
        // Loopback owns all of 127/8, so two "containers" can ask from 127.0.0.2 and 127.0.0.3 (to 127.0.0.1).
        var blue = IPAddress.Parse("127.0.0.2");
        var seen = new List<IPAddress>();
        ValueTask<DnsAnswer> Resolve(DnsQuestion question, IPAddress client, CancellationToken _)
        {
            lock (seen)
                seen.Add(client);
            return ValueTask.FromResult(question.NameEquals("web") && client.Equals(blue) ? DnsAnswer.WithAddresses(TestZone.C1) : DnsAnswer.Refused);
        }

        await using var dns = TestZone.Start(Resolve);

        var fromBlue = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("web"), from: blue);
        var fromRed = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("web"), from: IPAddress.Parse("127.0.0.3"));

        Assert.Equal(TestZone.C1, Assert.Single(fromBlue.Answers).Address);
        Assert.Equal((DnsResponseCode.Refused, 0), (fromRed.ResponseCode, fromRed.Answers.Count));
        Assert.Equal([blue, IPAddress.Parse("127.0.0.3")], seen);
    }

    [Fact]
    public async Task A_hung_resolver_costs_one_request_timeout_then_servfail()
    {
        await using var dns = TestZone.Start(options: new DnsResponderOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) });
        var clock = Stopwatch.StartNew();

        var udp = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("hangs"));
        var tcp = await TestDnsClient.QueryTcpAsync(dns.LocalEndPoint, TestZone.Query("hangs"));

        Assert.Equal((DnsResponseCode.ServFail, DnsResponseCode.ServFail), (udp.ResponseCode, tcp.ResponseCode));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Answers_many_concurrent_queries()
    {
        await using var dns = TestZone.Start(options: new DnsResponderOptions { MaxConcurrentRequests = 64 });
        var names = new[] { ("contiv-c1", TestZone.C1), ("contiv-c2", TestZone.C2), ("slow", TestZone.C1) };

        var replies = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
        {
            var (name, address) = names[i % names.Length];
            var query = TestZone.Query(name);
            var reply = i % 10 == 0
                ? await TestDnsClient.QueryTcpAsync(dns.LocalEndPoint, query)
                : await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, query);
            return (reply, address);
        }));

        Assert.All(replies, r => Assert.Equal(r.address, Assert.Single(r.reply.Answers).Address));
    }

    [Fact]
    public async Task Forwarding_is_off_unless_configured_and_then_relays_over_both_transports()
    {
        var upstreamQueries = 0;
        var relayed = IPAddress.Parse("192.0.2.9");
        ValueTask<DnsAnswer> Upstream(DnsQuestion question, IPAddress client, CancellationToken _)
        {
            Interlocked.Increment(ref upstreamQueries);
            return ValueTask.FromResult(DnsAnswer.WithAddresses(relayed));
        }

        await using var upstream = TestZone.Start(Upstream);
        await using (var isolated = TestZone.Start())
        {
            var refused = await TestDnsClient.QueryUdpAsync(isolated.LocalEndPoint, TestZone.Query("external.example"));
            Assert.Equal(DnsResponseCode.Refused, refused.ResponseCode);
        }

        Assert.Equal(0, upstreamQueries);

        await using var forwarding = TestZone.Start(options: new DnsResponderOptions { UpstreamForwarder = upstream.LocalEndPoint });
        var query = TestZone.Query("External.Example");
        var viaUdp = await TestDnsClient.QueryUdpAsync(forwarding.LocalEndPoint, query);
        var viaTcp = await TestDnsClient.QueryTcpAsync(forwarding.LocalEndPoint, query);
        var local = await TestDnsClient.QueryUdpAsync(forwarding.LocalEndPoint, TestZone.Query("contiv-c1"));
        var refusedStill = await TestDnsClient.QueryUdpAsync(forwarding.LocalEndPoint, TestZone.Query("other-tenant"));

        Assert.All(new[] { viaUdp, viaTcp }, reply =>
        {
            Assert.Equal(query.Id, reply.Id); // the client's ID restored
            Assert.Equal("External.Example", reply.Questions[0].Name);
            Assert.Equal(relayed, Assert.Single(reply.Answers).Address);
        });
        Assert.Equal(TestZone.C1, Assert.Single(local.Answers).Address);
        Assert.Equal(DnsResponseCode.Refused, refusedStill.ResponseCode); // Refused is never forwarded
        Assert.Equal(2, upstreamQueries);
    }

    [Fact]
    public async Task A_silent_or_closed_upstream_gives_servfail()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = new DnsResponderOptions
        {
            UpstreamForwarder = (IPEndPoint)silent.LocalEndPoint!,
            RequestTimeout = TimeSpan.FromMilliseconds(300),
        };
        await using var dns = TestZone.Start(options: options);

        var viaUdp = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("external.example"));
        var viaTcp = await TestDnsClient.QueryTcpAsync(dns.LocalEndPoint, TestZone.Query("external.example")); // nothing listens on TCP

        Assert.Equal((DnsResponseCode.ServFail, DnsResponseCode.ServFail), (viaUdp.ResponseCode, viaTcp.ResponseCode));
    }

    [Fact]
    public async Task Dispose_stops_quickly_with_queries_in_flight_and_frees_the_port()
    {
        var dns = TestZone.Start(options: new DnsResponderOptions { RequestTimeout = TimeSpan.FromMinutes(5) });
        var endpoint = dns.LocalEndPoint;
        var inFlight = TestDnsClient.ExchangeUdpAsync(endpoint, DnsCodec.BuildQuery(TestZone.Query("hangs")), TimeSpan.FromSeconds(3));
        using var idleConnection = await TestDnsClient.ConnectTcpAsync(endpoint);
        await Task.Delay(100);

        var clock = Stopwatch.StartNew();
        await dns.DisposeAsync();
        await dns.DisposeAsync(); // idempotent

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {clock.Elapsed}");
        Assert.Null(await inFlight); // cancelled queries get no reply
        Assert.Equal(endpoint, dns.LocalEndPoint);
        Assert.Throws<ObjectDisposedException>(dns.Start);
        await using var again = TestZone.Start(port: endpoint.Port);
        Assert.Single((await TestDnsClient.QueryTcpAsync(again.LocalEndPoint, TestZone.Query("contiv-c1"))).Answers);
    }

    [Fact]
    public async Task Lifecycle_misuse_and_bad_options_fail_loudly()
    {
        await using var dns = new DnsResponder(new IPEndPoint(IPAddress.Loopback, 0), TestZone.ResolveAsync);
        Assert.Throws<InvalidOperationException>(() => dns.LocalEndPoint);
        dns.Start();
        Assert.Throws<InvalidOperationException>(dns.Start);

        await using var second = new DnsResponder(dns.LocalEndPoint, TestZone.ResolveAsync);
        Assert.Throws<SocketException>(second.Start); // port taken
        Assert.Throws<SocketException>(second.Start); // a failed Start can be retried

        Assert.Throws<ArgumentOutOfRangeException>(() => new DnsResponder(dns.LocalEndPoint, TestZone.ResolveAsync, new DnsResponderOptions { Ttl = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DnsResponder(dns.LocalEndPoint, TestZone.ResolveAsync, new DnsResponderOptions { MaxUdpPayloadSize = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DnsResponder(dns.LocalEndPoint, TestZone.ResolveAsync, new DnsResponderOptions { RequestTimeout = TimeSpan.Zero }));
    }

    [Fact]
    public async Task Ttl_is_configurable()
    {
        await using var dns = TestZone.Start(options: new DnsResponderOptions { Ttl = TimeSpan.FromSeconds(42) });

        var reply = await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("contiv-c1"));

        Assert.Equal(42u, Assert.Single(reply.Answers).TtlSeconds);
    }
}
