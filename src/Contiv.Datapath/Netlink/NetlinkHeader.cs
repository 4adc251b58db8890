namespace Contiv.Datapath.Netlink;

/// <summary><c>struct nlmsghdr</c>: 16 bytes in front of every netlink message.</summary>
internal readonly record struct NetlinkHeader(uint Length, ushort Type, ushort Flags, uint Sequence, uint PortId)
{
    public const int Size = 16;

    /// <summary>NLMSG_ALIGN / NLA_ALIGN: messages and attributes start on 4-byte boundaries.</summary>
    public static int Align(int length) => (length + 3) & ~3;

    public void WriteTo(Span<byte> destination)
    {
        HostOrder.WriteUInt32(destination, Length);
        HostOrder.WriteUInt16(destination[4..], Type);
        HostOrder.WriteUInt16(destination[6..], Flags);
        HostOrder.WriteUInt32(destination[8..], Sequence);
        HostOrder.WriteUInt32(destination[12..], PortId);
    }

    public static NetlinkHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new FormatException($"netlink header needs {Size} bytes, got {source.Length}");
        }

        return new NetlinkHeader(
            HostOrder.ReadUInt32(source),
            HostOrder.ReadUInt16(source[4..]),
            HostOrder.ReadUInt16(source[6..]),
            HostOrder.ReadUInt32(source[8..]),
            HostOrder.ReadUInt32(source[12..]));
    }
}
