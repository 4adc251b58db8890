using System.Runtime.InteropServices;
using System.Text;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// Builds one netlink request: <c>nlmsghdr</c> (16 bytes), a family header, then attributes
/// (<c>struct nlattr</c>: u16 length including its 4-byte header but not the padding, u16 type,
/// value padded to 4 bytes). A nested attribute's length covers everything written between
/// <see cref="BeginNested"/> and <see cref="EndNested"/>. Netlink is in host byte order.
/// (The Datapath library keeps its codec internal; tc needs only this much of one.)
/// </summary>
internal sealed class NetlinkRequest
{
    public const int HeaderSize = 16;
    private const int AttributeHeaderSize = 4;

    private byte[] _buffer = new byte[256];
    private int _length = HeaderSize;

    public NetlinkRequest(ushort type, ushort flags)
    {
        Type = type;
        Flags = flags;
    }

    public ushort Type { get; }

    public ushort Flags { get; }

    /// <summary>NLMSG_ALIGN / NLA_ALIGN.</summary>
    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>The family header (tcmsg, ifinfomsg), written by <paramref name="write"/> into <paramref name="size"/> zeroed bytes.</summary>
    public void AddHeader(int size, SpanAction write) => write(Reserve(size));

    public void AddAttribute(ushort type, ReadOnlySpan<byte> value)
    {
        var length = AttributeHeaderSize + value.Length;
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException($"attribute {type} is too long ({value.Length} bytes)", nameof(value));
        }

        var destination = Reserve(length);
        MemoryMarshal.Write(destination, (ushort)length);
        MemoryMarshal.Write(destination[2..], type);
        value.CopyTo(destination[AttributeHeaderSize..]);
    }

    public void AddUInt32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, value);
        AddAttribute(type, bytes);
    }

    /// <summary>NUL-terminated, as NLA_STRING / NLA_NUL_STRING policies accept.</summary>
    public void AddString(ushort type, string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        AddAttribute(type, bytes);
    }

    public int BeginNested(ushort type)
    {
        var start = _length;
        MemoryMarshal.Write(Reserve(AttributeHeaderSize)[2..], type);
        return start;
    }

    public void EndNested(int token) =>
        MemoryMarshal.Write(_buffer.AsSpan(token), checked((ushort)(_length - token)));

    public byte[] Build(uint sequence, uint portId)
    {
        var header = _buffer.AsSpan();
        MemoryMarshal.Write(header, (uint)_length);
        MemoryMarshal.Write(header[4..], Type);
        MemoryMarshal.Write(header[6..], Flags);
        MemoryMarshal.Write(header[8..], sequence);
        MemoryMarshal.Write(header[12..], portId);
        return _buffer.AsSpan(0, _length).ToArray();
    }

    private Span<byte> Reserve(int length)
    {
        var padded = Align(length);
        if (_length + padded > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + padded));
        }

        var slot = _buffer.AsSpan(_length, padded);
        slot.Clear();
        _length += padded;
        return slot[..length];
    }

    public delegate void SpanAction(Span<byte> destination);
}

/// <summary>One received netlink message: header fields and the bytes after the 16-byte header.</summary>
internal readonly record struct NetlinkMessage(ushort Type, ushort Flags, uint Sequence, uint PortId, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Splits a datagram into messages (a dump packs several into one); each starts 4-byte aligned.</summary>
    public static List<NetlinkMessage> ParseAll(ReadOnlyMemory<byte> buffer)
    {
        var messages = new List<NetlinkMessage>();
        var offset = 0;
        while (buffer.Length - offset >= NetlinkRequest.HeaderSize)
        {
            var span = buffer.Span[offset..];
            var length = MemoryMarshal.Read<uint>(span);
            if (length < NetlinkRequest.HeaderSize || length > buffer.Length - offset)
            {
                throw new FormatException($"netlink message at offset {offset} has length {length}, {buffer.Length - offset} bytes left");
            }

            messages.Add(new NetlinkMessage(
                MemoryMarshal.Read<ushort>(span[4..]),
                MemoryMarshal.Read<ushort>(span[6..]),
                MemoryMarshal.Read<uint>(span[8..]),
                MemoryMarshal.Read<uint>(span[12..]),
                buffer.Slice(offset + NetlinkRequest.HeaderSize, (int)length - NetlinkRequest.HeaderSize)));
            offset += NetlinkRequest.Align((int)length);
        }

        return messages;
    }

    /// <summary>The attributes after a family header of <paramref name="headerSize"/> bytes.</summary>
    public NetlinkAttributes AttributesAfter(int headerSize) =>
        NetlinkAttributes.Parse(Payload[Math.Min(NetlinkRequest.Align(headerSize), Payload.Length)..]);
}

/// <summary>A parsed run of attributes; types have NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off.</summary>
internal sealed class NetlinkAttributes
{
    private const ushort TypeMask = 0x3FFF;
    private readonly List<(ushort Type, ReadOnlyMemory<byte> Value)> _attributes;

    private NetlinkAttributes(List<(ushort, ReadOnlyMemory<byte>)> attributes) => _attributes = attributes;

    public static NetlinkAttributes Parse(ReadOnlyMemory<byte> buffer)
    {
        var attributes = new List<(ushort, ReadOnlyMemory<byte>)>();
        var offset = 0;
        while (buffer.Length - offset >= 4)
        {
            var span = buffer.Span[offset..];
            var length = MemoryMarshal.Read<ushort>(span);
            var type = (ushort)(MemoryMarshal.Read<ushort>(span[2..]) & TypeMask);
            if (length < 4 || length > buffer.Length - offset)
            {
                throw new FormatException($"attribute {type} at offset {offset} has length {length}, {buffer.Length - offset} bytes left");
            }

            attributes.Add((type, buffer.Slice(offset + 4, length - 4)));
            offset += NetlinkRequest.Align(length);
        }

        return new NetlinkAttributes(attributes);
    }

    public ReadOnlyMemory<byte>? Get(ushort type)
    {
        foreach (var (candidate, value) in _attributes)
        {
            if (candidate == type)
            {
                return value;
            }
        }

        return null;
    }

    public string? GetString(ushort type)
    {
        if (Get(type) is not { } value)
        {
            return null;
        }

        var span = value.Span;
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    public uint? GetUInt32(ushort type) => Get(type) is { Length: >= 4 } value ? MemoryMarshal.Read<uint>(value.Span) : null;

    public NetlinkAttributes? GetNested(ushort type) => Get(type) is { } value ? Parse(value) : null;
}
