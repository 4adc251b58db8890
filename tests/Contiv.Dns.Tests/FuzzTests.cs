using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Contiv.Dns.Tests;

/// <summary>
/// Mutated and random packets (fixed seeds, so a failure reproduces): nothing throws, and every reply the
/// responder sends is a well-formed response to the packet that caused it, or no reply when none is due.
/// </summary>
public sealed class FuzzTests
{
    private static readonly byte[][] Seeds =
    [
        DnsCodec.BuildQuery(new DnsQuery(1, new DnsQuestion("contiv-c1", DnsRecordType.A))),
        DnsCodec.BuildQuery(new DnsQuery(2, new DnsQuestion("Sixty", DnsRecordType.A), true, new DnsEdns(4096, 0, true))),
        DnsCodec.BuildQuery(new DnsQuery(3, new DnsQuestion("web.blue.contiv", DnsRecordType.AAAA), true, new DnsEdns(512))),
        DnsCodec.BuildQuery(new DnsQuery(4, new DnsQuestion("many", DnsRecordType.ANY))),
        Hex.Bytes("0005 0000 0001 0000 0000 0002" + Hex.Name("contiv-c2") + "0001 0001"
            + "C00C 0001 0001 00000000 0004 01020304" + "00 0029 1000 00000000 0000"),
        DnsCodec.BuildResponse(new DnsQuery(6, new DnsQuestion("contiv-c1", DnsRecordType.A)), DnsResponseCode.NoError,
            [TestZone.C1, TestZone.C2], 5, 512, true),
    ];

    /// <summary>One to three mutations of a seed, or (one time in eight) pure noise.</summary>
    private static byte[] Mutate(Random random)
    {
        if (random.Next(8) == 0)
            return RandomBytes(random, random.Next(0, 600));
        var packet = Seeds[random.Next(Seeds.Length)].ToList();
        for (var round = random.Next(1, 4); round > 0; round--)
        {
            switch (random.Next(6))
            {
                case 0: // flip bits
                    for (var i = random.Next(1, 9); i > 0 && packet.Count > 0; i--)
                        packet[random.Next(packet.Count)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // overwrite bytes
                    for (var i = random.Next(1, 9); i > 0 && packet.Count > 0; i--)
                        packet[random.Next(packet.Count)] = (byte)random.Next(256);
                    break;
                case 2: // truncate
                    packet = packet.Take(random.Next(packet.Count + 1)).ToList();
                    break;
                case 3: // insert junk
                    packet.InsertRange(random.Next(packet.Count + 1), RandomBytes(random, random.Next(1, 40)));
                    break;
                case 4 when packet.Count >= 12: // lie in a count
                    var at = 4 + (2 * random.Next(4));
                    var count = random.Next(3) == 0 ? 0xFFFF : random.Next(0, 6);
                    packet[at] = (byte)(count >> 8);
                    packet[at + 1] = (byte)count;
                    break;
                case 5 when packet.Count > 13: // plant a compression pointer anywhere
                    var position = random.Next(12, packet.Count - 1);
                    var target = random.Next(0, packet.Count + 20);
                    packet[position] = (byte)(0xC0 | (target >> 8));
                    packet[position + 1] = (byte)target;
                    break;
            }
        }

        if (packet.Count > 2 && random.Next(4) != 0)
            packet[2] &= 0x7F; // mostly queries, so most packets reach the deeper code
        return [.. packet];
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static bool DeservesReply(byte[] packet) => packet.Length >= 12 && (packet[2] & 0x80) == 0;

    /// <summary>The reply must be a parseable response to this packet, within the size its transport allows.</summary>
    private static void AssertRepliesTo(byte[] packet, byte[]? reply, bool overTcp)
    {
        var context = $"packet {Convert.ToHexString(packet)} reply {(reply is null ? "none" : Convert.ToHexString(reply))}";
        if (!DeservesReply(packet))
        {
            Assert.True(reply is null, context);
            return;
        }

        Assert.True(reply is not null, context);
        Assert.True(DnsCodec.TryParseMessage(reply, out var message), context);
        Assert.True(message.IsResponse, context);
        Assert.True(BinaryPrimitives.ReadUInt16BigEndian(packet) == message.Id, context);
        Assert.True((DnsOpcode)((packet[2] >> 3) & 0xF) == message.Opcode, context);

        var parsed = DnsCodec.ParseQuery(packet);
        if (parsed.Status != DnsQueryParseStatus.Query)
        {
            var expected = parsed.Status == DnsQueryParseStatus.FormatError ? DnsResponseCode.FormErr : DnsResponseCode.NotImp;
            Assert.True(message.ResponseCode == expected && message.Questions.Count == 0, context);
            return;
        }

        var query = parsed.Query!;
        Assert.True(message.Questions.Count == 1 && message.Questions[0] == query.Question, context);
        var limit = overTcp ? DnsCodec.MaxMessageLength
            : query.Edns is null ? 512 : Math.Clamp((int)query.Edns.UdpPayloadSize, 512, DnsEdns.RecommendedUdpPayloadSize);
        Assert.True(reply.Length <= limit, context);
        Assert.True(!message.Truncated || message.Answers.Count == 0, context);
        Assert.True(query.Edns is null == message.Edns is null, context);
    }

    [Fact]
    public void The_codec_survives_fifty_thousand_mutated_packets()
    {
        var random = new Random(20240601);
        var queries = 0;
        for (var i = 0; i < 50_000; i++)
        {
            var packet = Mutate(random);
            var parsed = DnsCodec.ParseQuery(packet);
            _ = DnsCodec.TryParseMessage(packet, out _); // must not throw, whatever it decides
            if (parsed.Status != DnsQueryParseStatus.Query)
                continue;

            // Whatever parsed as a query must be answerable, with its question echoed byte for byte.
            queries++;
            var response = DnsCodec.BuildResponse(parsed.Query!, DnsResponseCode.NoError, [TestZone.C1], 5, 512, true);
            Assert.True(DnsCodec.TryParseMessage(response, out var message), Convert.ToHexString(packet));
            Assert.Equal(parsed.Query!.Question, message.Questions[0]);
            var questionLength = DnsName.Encode(parsed.Query.Question.Name).Length + 4;
            Assert.Equal(packet.AsSpan(12, questionLength), response.AsSpan(12, questionLength));
        }

        Assert.InRange(queries, 2_000, 48_000); // the mutations reach both the happy and the unhappy paths
    }

    [Fact]
    public async Task The_responder_answers_twenty_thousand_mutated_packets_well_formed()
    {
        await using var dns = new DnsResponder(new IPEndPoint(IPAddress.Loopback, 0), TestZone.ResolveAsync,
            new DnsResponderOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) });
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var packet = Mutate(random);
            var overTcp = i % 2 == 0;
            AssertRepliesTo(packet, await dns.AnswerAsync(packet, IPAddress.Loopback, overTcp, CancellationToken.None), overTcp);
        }
    }

    [Fact]
    public async Task The_server_survives_mutated_packets_over_udp()
    {
        await using var dns = TestZone.Start(options: new DnsResponderOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) });
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await client.ConnectAsync(dns.LocalEndPoint);
        var random = new Random(11);
        var buffer = new byte[DnsCodec.MaxMessageLength];

        // Batches small enough that no socket buffer overflows, so every due reply must arrive.
        for (var batch = 0; batch < 60; batch++)
        {
            var sent = new Dictionary<ushort, byte[]>();
            var due = 0;
            for (var i = 0; i < 50; i++)
            {
                var packet = Mutate(random);
                if (packet.Length >= 2)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)((batch * 50) + i)); // unique IDs match replies to packets
                    sent[(ushort)((batch * 50) + i)] = packet;
                }

                due += DeservesReply(packet) ? 1 : 0;
                await client.SendAsync(packet, SocketFlags.None);
            }

            for (var received = 0; received < due; received++)
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var length = await client.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                var reply = buffer[..length];
                Assert.True(length >= 2, Convert.ToHexString(reply));
                Assert.True(sent.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(reply), out var packet), Convert.ToHexString(reply));
                AssertRepliesTo(packet, reply, overTcp: false);
            }
        }

        Assert.Single((await TestDnsClient.QueryUdpAsync(dns.LocalEndPoint, TestZone.Query("contiv-c1"))).Answers);
    }

    [Fact]
    public async Task The_server_survives_mutated_and_broken_tcp_streams()
    {
        var options = new DnsResponderOptions { RequestTimeout = TimeSpan.FromMilliseconds(200), TcpIdleTimeout = TimeSpan.FromMilliseconds(500) };
        await using var dns = TestZone.Start(options: options);
        var random = new Random(13);

        for (var connectionNumber = 0; connectionNumber < 20; connectionNumber++)
        {
            using var connection = await TestDnsClient.ConnectTcpAsync(dns.LocalEndPoint);
            await using var stream = new NetworkStream(connection);
            for (var i = 0; i < 20; i++)
            {
                var packet = Mutate(random);
                var framed = new byte[2 + packet.Length];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)packet.Length);
                packet.CopyTo(framed, 2);
                await stream.WriteAsync(framed);
                if (!DeservesReply(packet))
                {
                    // Nothing to answer: the server closes rather than leave the client hanging.
                    Assert.Equal(0, await stream.ReadAsync(new byte[1]));
                    break;
                }

                AssertRepliesTo(packet, await TestDnsClient.ReadFramedAsync(stream), overTcp: true);
            }
        }

        // A prefix promising more than is sent, then a close; a prefix and silence; raw noise: none of it hurts.
        foreach (var junk in new[] { Hex.Bytes("03E8 0001 0000"), Hex.Bytes("0040"), RandomBytes(random, 3000) })
        {
            using var connection = await TestDnsClient.ConnectTcpAsync(dns.LocalEndPoint);
            await connection.SendAsync(junk);
            connection.Shutdown(SocketShutdown.Send);
        }

        using (var silent = await TestDnsClient.ConnectTcpAsync(dns.LocalEndPoint))
        {
            await silent.SendAsync(Hex.Bytes("0040"));
            using var closedWithin = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            Assert.Equal(0, await silent.ReceiveAsync(new byte[1], SocketFlags.None, closedWithin.Token)); // idle timeout
        }

        Assert.Single((await TestDnsClient.QueryTcpAsync(dns.LocalEndPoint, TestZone.Query("contiv-c1"))).Answers);
    }
}
