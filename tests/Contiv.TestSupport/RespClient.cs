using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Contiv.TestSupport;

/// <summary>An error reply (<c>-ERR ...</c>) from Redis.</summary>
public sealed record RedisErrorReply(string Message);

/// <summary>
/// A minimal one-command-per-connection Redis client (RESP2), so tests can look at a server directly,
/// independently of the client library under test, and can wait for a server before any client exists.
/// </summary>
public static class RespClient
{
    /// <summary>
    /// Sends one command and returns its reply: <see cref="string"/> (simple or bulk string),
    /// <see cref="long"/>, null (nil), <c>object?[]</c> (array) or <see cref="RedisErrorReply"/>.
    /// </summary>
    public static async Task<object?> ExecuteAsync(EndPoint endPoint, IReadOnlyList<string> command, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var protocol = endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp;
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, protocol);
        await socket.ConnectAsync(endPoint, cancellation.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var request = new StringBuilder();
        request.Append(CultureInfo.InvariantCulture, $"*{command.Count}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellation.Token);
        var reader = new ReplyReader(stream, cancellation.Token);
        return await reader.ReadAsync();
    }

    private sealed class ReplyReader(Stream stream, CancellationToken cancellationToken)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync()
        {
            var line = await ReadLineAsync();
            var payload = line[1..];
            switch (line[0])
            {
                case '+':
                    return payload;
                case '-':
                    return new RedisErrorReply(payload);
                case ':':
                    return long.Parse(payload, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(payload, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await ReadExactlyAsync(length + 2);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    var count = int.Parse(payload, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync();
                    }

                    return items;
                default:
                    throw new InvalidDataException($"unexpected RESP reply line '{line}'");
            }
        }

        private async Task<string> ReadLineAsync()
        {
            var line = new List<byte>();
            while (true)
            {
                if (_start == _end)
                {
                    await FillAsync();
                }

                var b = _buffer[_start++];
                if (b == '\n' && line.Count > 0 && line[^1] == '\r')
                {
                    return Encoding.UTF8.GetString([.. line[..^1]]);
                }

                line.Add(b);
            }
        }

        private async Task<byte[]> ReadExactlyAsync(int count)
        {
            var result = new byte[count];
            var copied = 0;
            while (copied < count)
            {
                if (_start == _end)
                {
                    await FillAsync();
                }

                var take = Math.Min(count - copied, _end - _start);
                Array.Copy(_buffer, _start, result, copied, take);
                _start += take;
                copied += take;
            }

            return result;
        }

        private async Task FillAsync()
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            if (_end == 0)
            {
                throw new EndOfStreamException("Redis closed the connection");
            }
        }
    }
}
