using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Contiv.Datapath.Netlink;

/// <summary>One attribute (the kernel's <c>struct nlattr</c> / <c>rtattr</c>); <see cref="Type"/> has the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits masked off.</summary>
internal readonly record struct NetlinkAttribute(ushort Type, ReadOnlyMemory<byte> Value)
{
    public byte AsUInt8() => Value.Span[0];

    public ushort AsUInt16() => HostOrder.ReadUInt16(Value.Span);

    public ushort AsUInt16BigEndian() => BinaryPrimitives.ReadUInt16BigEndian(Value.Span);

    public uint AsUInt32() => HostOrder.ReadUInt32(Value.Span);

    /// <summary>A u32 in network byte order (nf_tables).</summary>
    public uint AsUInt32BigEndian() => BinaryPrimitives.ReadUInt32BigEndian(Value.Span);

    /// <summary>A u64 in network byte order (nf_tables).</summary>
    public ulong AsUInt64BigEndian() => BinaryPrimitives.ReadUInt64BigEndian(Value.Span);

    /// <summary>A string attribute, without the trailing NUL the kernel includes.</summary>
    public string AsString()
    {
        var span = Value.Span;
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    public IPAddress AsAddress() => new(Value.Span);

    public NetlinkAttributes AsNested() => NetlinkAttributes.Parse(Value);
}

/// <summary>A parsed run of attributes, in the order the kernel sent them.</summary>
internal sealed class NetlinkAttributes
{
    private readonly List<NetlinkAttribute> _attributes;

    private NetlinkAttributes(List<NetlinkAttribute> attributes) => _attributes = attributes;

    public IReadOnlyList<NetlinkAttribute> All => _attributes;

    public static NetlinkAttributes Parse(ReadOnlyMemory<byte> buffer)
    {
        var attributes = new List<NetlinkAttribute>();
        var offset = 0;
        while (buffer.Length - offset >= 4)
        {
            var span = buffer.Span[offset..];
            var length = HostOrder.ReadUInt16(span);
            var type = (ushort)(HostOrder.ReadUInt16(span[2..]) & Uapi.NLA_TYPE_MASK);
            if (length < 4 || length > buffer.Length - offset)
            {
                throw new FormatException($"attribute {type} at offset {offset} has length {length}, {buffer.Length - offset} bytes left");
            }

            attributes.Add(new NetlinkAttribute(type, buffer.Slice(offset + 4, length - 4)));
            offset += NetlinkHeader.Align(length);
        }

        return new NetlinkAttributes(attributes);
    }

    public bool TryGet(ushort type, out NetlinkAttribute attribute)
    {
        foreach (var candidate in _attributes)
        {
            if (candidate.Type == type)
            {
                attribute = candidate;
                return true;
            }
        }

        attribute = default;
        return false;
    }

    public string? GetString(ushort type) => TryGet(type, out var a) ? a.AsString() : null;

    public uint? GetUInt32(ushort type) => TryGet(type, out var a) && a.Value.Length >= 4 ? a.AsUInt32() : null;

    public uint? GetUInt32BigEndian(ushort type) => TryGet(type, out var a) && a.Value.Length >= 4 ? a.AsUInt32BigEndian() : null;

    public ulong? GetUInt64BigEndian(ushort type) => TryGet(type, out var a) && a.Value.Length >= 8 ? a.AsUInt64BigEndian() : null;

    public byte? GetUInt8(ushort type) => TryGet(type, out var a) && a.Value.Length >= 1 ? a.AsUInt8() : null;

    public IPAddress? GetAddress(ushort type) =>
        TryGet(type, out var a) && (a.Value.Length == 4 || a.Value.Length == 16) ? a.AsAddress() : null;

    public NetlinkAttributes? GetNested(ushort type) => TryGet(type, out var a) ? a.AsNested() : null;
}
