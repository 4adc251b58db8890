using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Contiv.Dns.Tests;

/// <summary>A minimal stub client on top of the codec: one query, one answer, over UDP or TCP.</summary>
internal static class TestDnsClient
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Asks over UDP, retrying on silence as real stub resolvers do (UDP may drop under load).</summary>
    public static async Task<DnsMessage> QueryUdpAsync(IPEndPoint server, DnsQuery query, IPAddress? from = null)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await ExchangeUdpAsync(server, DnsCodec.BuildQuery(query), TimeSpan.FromSeconds(2), from) is { } reply)
                return ParseReplyTo(query, reply);
        }

        throw new TimeoutException($"no UDP reply for {query.Question} in 3 tries");
    }

    public static async Task<DnsMessage> QueryTcpAsync(IPEndPoint server, DnsQuery query)
    {
        using var connection = await ConnectTcpAsync(server);
        await using var stream = new NetworkStream(connection);
        return ParseReplyTo(query, await ExchangeTcpAsync(stream, DnsCodec.BuildQuery(query)));
    }

    /// <summary>Sends raw bytes and returns the raw reply, or null if none came in time.</summary>
    public static async Task<byte[]?> ExchangeUdpAsync(IPEndPoint server, byte[] packet, TimeSpan timeout, IPAddress? from = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(from ?? IPAddress.Loopback, 0));
        await socket.ConnectAsync(server);
        await socket.SendAsync(packet, SocketFlags.None);
        var buffer = new byte[DnsCodec.MaxMessageLength];
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var length = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            return buffer[..length];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public static async Task<Socket> ConnectTcpAsync(IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        return socket;
    }

    /// <summary>One length-prefixed exchange on an open connection (RFC 1035 4.2.2).</summary>
    public static async Task<byte[]> ExchangeTcpAsync(Stream stream, byte[] message)
    {
        var framed = new byte[2 + message.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        await stream.WriteAsync(framed);
        return await ReadFramedAsync(stream);
    }

    public static async Task<byte[]> ReadFramedAsync(Stream stream)
    {
        using var deadline = new CancellationTokenSource(DefaultTimeout);
        var prefix = new byte[2];
        await stream.ReadExactlyAsync(prefix, deadline.Token);
        var reply = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await stream.ReadExactlyAsync(reply, deadline.Token);
        return reply;
    }

    private static DnsMessage ParseReplyTo(DnsQuery query, byte[] reply)
    {
        if (!DnsCodec.TryParseMessage(reply, out var message))
            throw new InvalidDataException($"malformed reply: {Convert.ToHexString(reply)}");
        if (!message.IsResponse || message.Id != query.Id)
            throw new InvalidDataException($"reply is not a response to query {query.Id}: {message}");
        return message;
    }
}
