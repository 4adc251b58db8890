using System.Runtime.InteropServices;

namespace Contiv.Datapath.Netlink;

/// <summary>
/// Netlink headers and most attributes are in the host's byte order (unlike on-the-wire protocols);
/// the few network-order fields (IFLA_VXLAN_PORT, IFLA_VLAN_PROTOCOL) use BinaryPrimitives big-endian.
/// </summary>
internal static class HostOrder
{
    public static void WriteUInt16(Span<byte> destination, ushort value) => MemoryMarshal.Write(destination, in value);

    public static void WriteUInt32(Span<byte> destination, uint value) => MemoryMarshal.Write(destination, in value);

    public static void WriteInt32(Span<byte> destination, int value) => MemoryMarshal.Write(destination, in value);

    public static ushort ReadUInt16(ReadOnlySpan<byte> source) => MemoryMarshal.Read<ushort>(source);

    public static uint ReadUInt32(ReadOnlySpan<byte> source) => MemoryMarshal.Read<uint>(source);

    public static int ReadInt32(ReadOnlySpan<byte> source) => MemoryMarshal.Read<int>(source);
}
