namespace Contiv.Datapath.Netlink;

/// <summary>
/// The fixed struct that follows <c>nlmsghdr</c> in each rtnetlink family (ifinfomsg, ifaddrmsg,
/// ndmsg, rtmsg, tcmsg). Attributes start after it, at the next 4-byte boundary.
/// </summary>
internal interface IFamilyHeader<TSelf>
    where TSelf : struct, IFamilyHeader<TSelf>
{
    static abstract int Size { get; }

    static abstract TSelf Read(ReadOnlySpan<byte> source);

    void WriteTo(Span<byte> destination);
}

/// <summary><c>struct ifinfomsg</c> (16 bytes): links.</summary>
internal readonly record struct InterfaceInfoMessage(byte Family, ushort DeviceType, int Index, uint Flags, uint Change)
    : IFamilyHeader<InterfaceInfoMessage>
{
    public static int Size => 16;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1] = 0; // __ifi_pad
        HostOrder.WriteUInt16(destination[2..], DeviceType);
        HostOrder.WriteInt32(destination[4..], Index);
        HostOrder.WriteUInt32(destination[8..], Flags);
        HostOrder.WriteUInt32(destination[12..], Change);
    }

    public static InterfaceInfoMessage Read(ReadOnlySpan<byte> source) => new(
        source[0],
        HostOrder.ReadUInt16(source[2..]),
        HostOrder.ReadInt32(source[4..]),
        HostOrder.ReadUInt32(source[8..]),
        HostOrder.ReadUInt32(source[12..]));
}

/// <summary><c>struct ifaddrmsg</c> (8 bytes): interface addresses.</summary>
internal readonly record struct AddressMessage(byte Family, byte PrefixLength, byte Flags, byte Scope, int Index)
    : IFamilyHeader<AddressMessage>
{
    public static int Size => 8;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1] = PrefixLength;
        destination[2] = Flags;
        destination[3] = Scope;
        HostOrder.WriteInt32(destination[4..], Index);
    }

    public static AddressMessage Read(ReadOnlySpan<byte> source) =>
        new(source[0], source[1], source[2], source[3], HostOrder.ReadInt32(source[4..]));
}

/// <summary><c>struct ndmsg</c> (12 bytes): ARP/ND neighbours and, with AF_BRIDGE, forwarding-database entries.</summary>
internal readonly record struct NeighbourMessage(byte Family, int Index, ushort State, byte Flags, byte Type)
    : IFamilyHeader<NeighbourMessage>
{
    public static int Size => 12;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1..4].Clear(); // ndm_pad1, ndm_pad2
        HostOrder.WriteInt32(destination[4..], Index);
        HostOrder.WriteUInt16(destination[8..], State);
        destination[10] = Flags;
        destination[11] = Type;
    }

    public static NeighbourMessage Read(ReadOnlySpan<byte> source) => new(
        source[0], HostOrder.ReadInt32(source[4..]), HostOrder.ReadUInt16(source[8..]), source[10], source[11]);
}

/// <summary><c>struct rtmsg</c> (12 bytes): routes.</summary>
internal readonly record struct RouteMessage(
    byte Family, byte DestinationLength, byte SourceLength, byte Tos,
    byte Table, byte Protocol, byte Scope, byte Type, uint Flags)
    : IFamilyHeader<RouteMessage>
{
    public static int Size => 12;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1] = DestinationLength;
        destination[2] = SourceLength;
        destination[3] = Tos;
        destination[4] = Table;
        destination[5] = Protocol;
        destination[6] = Scope;
        destination[7] = Type;
        HostOrder.WriteUInt32(destination[8..], Flags);
    }

    public static RouteMessage Read(ReadOnlySpan<byte> source) => new(
        source[0], source[1], source[2], source[3], source[4], source[5], source[6], source[7],
        HostOrder.ReadUInt32(source[8..]));
}

/// <summary>
/// <c>struct tcmsg</c> (20 bytes): qdiscs, classes and filters. For filters <see cref="Info"/> is
/// TC_H_MAKE(priority &lt;&lt; 16, htons(protocol)).
/// </summary>
internal readonly record struct TcMessage(byte Family, int Index, uint Handle, uint Parent, uint Info)
    : IFamilyHeader<TcMessage>
{
    public static int Size => 20;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1..4].Clear(); // tcm__pad1, tcm__pad2
        HostOrder.WriteInt32(destination[4..], Index);
        HostOrder.WriteUInt32(destination[8..], Handle);
        HostOrder.WriteUInt32(destination[12..], Parent);
        HostOrder.WriteUInt32(destination[16..], Info);
    }

    public static TcMessage Read(ReadOnlySpan<byte> source) => new(
        source[0],
        HostOrder.ReadInt32(source[4..]),
        HostOrder.ReadUInt32(source[8..]),
        HostOrder.ReadUInt32(source[12..]),
        HostOrder.ReadUInt32(source[16..]));
}
