namespace Contiv.Datapath.Netlink;

/// <summary>One message received from the kernel: its header and the bytes after it.</summary>
internal readonly record struct NetlinkMessage(NetlinkHeader Header, ReadOnlyMemory<byte> Payload)
{
    /// <summary>
    /// Splits a datagram into messages (a dump packs several into one recv). Each starts on a 4-byte
    /// boundary; a length that runs past the buffer means a corrupt or truncated datagram.
    /// </summary>
    public static IReadOnlyList<NetlinkMessage> ParseAll(ReadOnlyMemory<byte> buffer)
    {
        var messages = new List<NetlinkMessage>();
        var offset = 0;
        while (buffer.Length - offset >= NetlinkHeader.Size)
        {
            var header = NetlinkHeader.Read(buffer.Span[offset..]);
            if (header.Length < NetlinkHeader.Size || header.Length > buffer.Length - offset)
            {
                throw new FormatException(
                    $"netlink message at offset {offset} has length {header.Length}, {buffer.Length - offset} bytes left");
            }

            messages.Add(new NetlinkMessage(header, buffer.Slice(offset + NetlinkHeader.Size, (int)header.Length - NetlinkHeader.Size)));
            offset += NetlinkHeader.Align((int)header.Length);
        }

        if (offset < buffer.Length)
        {
            throw new FormatException($"{buffer.Length - offset} stray bytes after the last netlink message");
        }

        return messages;
    }

    public T ReadHeader<T>()
        where T : struct, IFamilyHeader<T>
    {
        if (Payload.Length < T.Size)
        {
            throw new FormatException($"{typeof(T).Name} needs {T.Size} bytes, message has {Payload.Length}");
        }

        return T.Read(Payload.Span);
    }

    /// <summary>The attributes that follow the family header <typeparamref name="T"/>.</summary>
    public NetlinkAttributes AttributesAfter<T>()
        where T : struct, IFamilyHeader<T>
    {
        var start = Math.Min(NetlinkHeader.Align(T.Size), Payload.Length);
        return NetlinkAttributes.Parse(Payload[start..]);
    }
}
