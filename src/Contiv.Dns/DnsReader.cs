using System.Buffers.Binary;

namespace Contiv.Dns;

/// <summary>
/// Bounds-checked reading of a DNS message. Every read says whether it fit instead of throwing, because hostile
/// packets are the normal case for a listening socket and exceptions are a poor price per junk datagram.
/// </summary>
internal ref struct DnsReader(ReadOnlySpan<byte> message)
{
    public const int HeaderLength = 12;

    private readonly ReadOnlySpan<byte> _message = message;

    public int Position { get; private set; }

    public readonly int Remaining => _message.Length - Position;

    public bool TryReadUInt16(out ushort value)
    {
        value = 0;
        if (Remaining < 2)
            return false;
        value = BinaryPrimitives.ReadUInt16BigEndian(_message[Position..]);
        Position += 2;
        return true;
    }

    public bool TryReadUInt32(out uint value)
    {
        value = 0;
        if (Remaining < 4)
            return false;
        value = BinaryPrimitives.ReadUInt32BigEndian(_message[Position..]);
        Position += 4;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (count < 0 || Remaining < count)
            return false;
        bytes = _message.Slice(Position, count);
        Position += count;
        return true;
    }

    /// <summary>
    /// Reads a possibly compressed name into presentation form. Every compression pointer must jump strictly
    /// below the lowest offset this name has visited so far (a name can only point at an earlier name) and never
    /// into the header, so loops are impossible and the work is bounded by the message length; together with the
    /// 255-byte name limit this rejects pointer loops, forward pointers and lengths past the end.
    /// </summary>
    public bool TryReadName(out string name)
    {
        name = "";
        Span<char> text = stackalloc char[DnsName.MaxWireLength * 4]; // worst case: every byte a \DDD escape
        var textLength = 0;
        var position = Position;
        var lowestVisited = Position;
        var resumeAt = -1; // where reading continues after the first pointer
        var wireLength = 1; // the root label

        while (true)
        {
            if (position >= _message.Length)
                return false;
            var length = _message[position];
            switch (length & 0xC0)
            {
                case 0x00 when length == 0:
                    Position = resumeAt >= 0 ? resumeAt : position + 1;
                    name = new string(text[..textLength]);
                    return true;

                case 0x00:
                    wireLength += 1 + length;
                    if (wireLength > DnsName.MaxWireLength || position + 1 + length > _message.Length)
                        return false;
                    if (textLength > 0)
                        text[textLength++] = '.';
                    textLength = DnsName.AppendEscapedLabel(_message.Slice(position + 1, length), text, textLength);
                    position += 1 + length;
                    break;

                case 0xC0:
                    if (position + 1 >= _message.Length)
                        return false;
                    var target = ((length & 0x3F) << 8) | _message[position + 1];
                    if (target < HeaderLength || target >= lowestVisited)
                        return false;
                    if (resumeAt < 0)
                        resumeAt = position + 2;
                    lowestVisited = target;
                    position = target;
                    break;

                default:
                    return false; // 0x40 (extended label types, RFC 6891 obsoleted them) and 0x80 (reserved)
            }
        }
    }
}
