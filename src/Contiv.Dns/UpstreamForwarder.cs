using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Contiv.Dns;

/// <summary>
/// Relays one query to a fixed upstream server and returns its response with the client's ID restored.
/// Each exchange uses a fresh socket (a random source port) and a random ID, and only a response that
/// matches both the ID and the question is accepted, so off-path spoofing needs to guess both.
/// </summary>
internal sealed class UpstreamForwarder(IPEndPoint upstream)
{
    public IPEndPoint Upstream { get; } = upstream;

    /// <returns>The response for the client, or null when the upstream gave nothing usable.</returns>
    public async Task<byte[]?> ForwardAsync(ReadOnlyMemory<byte> query, DnsQuestion question, bool overTcp, CancellationToken cancellationToken)
    {
        var outgoing = query.ToArray();
        var clientId = BinaryPrimitives.ReadUInt16BigEndian(outgoing);
        var upstreamId = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        BinaryPrimitives.WriteUInt16BigEndian(outgoing, upstreamId);

        var response = overTcp
            ? await ExchangeOverTcpAsync(outgoing, cancellationToken)
            : await ExchangeOverUdpAsync(outgoing, upstreamId, question, cancellationToken);
        if (response is null || !IsResponseTo(response, upstreamId, question))
            return null;
        BinaryPrimitives.WriteUInt16BigEndian(response, clientId);
        return response;
    }

    private async Task<byte[]?> ExchangeOverUdpAsync(byte[] query, ushort id, DnsQuestion question, CancellationToken cancellationToken)
    {
        using var socket = new Socket(Upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(Upstream, cancellationToken); // a connected socket hears only from the upstream
        await socket.SendAsync(query, SocketFlags.None, cancellationToken);
        var buffer = new byte[DnsCodec.MaxMessageLength];
        while (true)
        {
            var length = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            var response = buffer.AsSpan(0, length).ToArray();
            if (IsResponseTo(response, id, question))
                return response; // anything else is a stale or forged datagram: keep waiting until the deadline
        }
    }

    private async Task<byte[]?> ExchangeOverTcpAsync(byte[] query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(Upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(Upstream, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var framed = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed, cancellationToken);

        var prefix = new byte[2];
        await stream.ReadExactlyAsync(prefix, cancellationToken);
        var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await stream.ReadExactlyAsync(response, cancellationToken);
        return response;
    }

    private static bool IsResponseTo(byte[] response, ushort id, DnsQuestion question) =>
        DnsCodec.TryParseMessage(response, out var message)
        && message.IsResponse
        && message.Id == id
        && message.Questions.Count == 1
        && message.Questions[0].Type == question.Type
        && message.Questions[0].Class == question.Class
        && message.Questions[0].NameEquals(question.Name);
}
