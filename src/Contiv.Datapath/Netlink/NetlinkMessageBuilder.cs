using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Contiv.Datapath.Netlink;

/// <summary>
/// Builds one netlink request: <c>nlmsghdr</c>, a family header, then attributes (<c>struct rtattr</c>:
/// u16 length including its 4-byte header but not the padding, u16 type, value padded to 4 bytes).
/// Nested attributes are an attribute whose value is more attributes (or, for VETH_INFO_PEER, an
/// ifinfomsg followed by attributes); their length covers everything written between
/// <see cref="BeginNested"/> and <see cref="EndNested"/>.
/// </summary>
internal sealed class NetlinkMessageBuilder
{
    private const int AttributeHeaderSize = 4;

    private byte[] _buffer = new byte[256];
    private int _length = NetlinkHeader.Size;

    public NetlinkMessageBuilder(ushort type, ushort flags)
    {
        Type = type;
        Flags = flags;
    }

    public ushort Type { get; }

    public ushort Flags { get; }

    public void AddHeader<T>(in T header)
        where T : struct, IFamilyHeader<T>
    {
        header.WriteTo(Reserve(T.Size));
    }

    public void AddAttribute(ushort type, ReadOnlySpan<byte> value)
    {
        var length = AttributeHeaderSize + value.Length;
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException($"attribute {type} is too long ({value.Length} bytes)", nameof(value));
        }

        var destination = Reserve(length);
        HostOrder.WriteUInt16(destination, (ushort)length);
        HostOrder.WriteUInt16(destination[2..], type);
        value.CopyTo(destination[AttributeHeaderSize..]);
    }

    public void AddUInt8(ushort type, byte value) => AddAttribute(type, [value]);

    public void AddUInt16(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        HostOrder.WriteUInt16(bytes, value);
        AddAttribute(type, bytes);
    }

    /// <summary>A u16 in network byte order (e.g. IFLA_VXLAN_PORT, IFLA_VLAN_PROTOCOL).</summary>
    public void AddUInt16BigEndian(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        AddAttribute(type, bytes);
    }

    public void AddUInt32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        HostOrder.WriteUInt32(bytes, value);
        AddAttribute(type, bytes);
    }

    /// <summary>A u32 in network byte order (nf_tables carries its numbers this way).</summary>
    public void AddUInt32BigEndian(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        AddAttribute(type, bytes);
    }

    /// <summary>A u64 in network byte order (nf_tables counters, handles).</summary>
    public void AddUInt64BigEndian(ushort type, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        AddAttribute(type, bytes);
    }

    /// <summary>A NUL-terminated string, as the kernel's NLA_STRING / NLA_NUL_STRING policies expect.</summary>
    public void AddString(ushort type, string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        AddAttribute(type, bytes);
    }

    /// <summary>An IPv4 (4 bytes) or IPv6 (16 bytes) address, in network order as the kernel stores it.</summary>
    public void AddAddress(ushort type, IPAddress address) => AddAttribute(type, address.GetAddressBytes());

    /// <summary>Starts a nested attribute; returns the token to pass to <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        var start = _length;
        var header = Reserve(AttributeHeaderSize);
        HostOrder.WriteUInt16(header[2..], type);
        return start;
    }

    public void EndNested(int token)
    {
        var length = _length - token;
        if (length > ushort.MaxValue)
        {
            throw new InvalidOperationException("nested attribute is too long");
        }

        HostOrder.WriteUInt16(_buffer.AsSpan(token), (ushort)length);
    }

    /// <summary>The finished message with its header filled in.</summary>
    public byte[] Build(uint sequence, uint portId = 0)
    {
        new NetlinkHeader((uint)_length, Type, Flags, sequence, portId).WriteTo(_buffer);
        return _buffer.AsSpan(0, _length).ToArray();
    }

    /// <summary>Appends <paramref name="length"/> bytes plus zero padding to the next 4-byte boundary.</summary>
    private Span<byte> Reserve(int length)
    {
        var padded = NetlinkHeader.Align(length);
        if (_length + padded > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + padded));
        }

        var slot = _buffer.AsSpan(_length, padded);
        slot.Clear();
        _length += padded;
        return slot[..length];
    }
}
