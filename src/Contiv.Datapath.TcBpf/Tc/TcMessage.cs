using System.Runtime.InteropServices;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// <c>struct tcmsg</c> (20 bytes, linux/rtnetlink.h): the family header of qdisc, class and filter
/// messages. For filters <see cref="Info"/> is TC_H_MAKE(priority &lt;&lt; 16, htons(protocol)).
/// </summary>
internal readonly record struct TcMessage(byte Family, int Index, uint Handle, uint Parent, uint Info)
{
    public const int Size = 20;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1..4].Clear(); // tcm__pad1, tcm__pad2
        MemoryMarshal.Write(destination[4..], Index);
        MemoryMarshal.Write(destination[8..], Handle);
        MemoryMarshal.Write(destination[12..], Parent);
        MemoryMarshal.Write(destination[16..], Info);
    }

    public static TcMessage Read(ReadOnlySpan<byte> source) => source.Length < Size
        ? throw new FormatException($"tcmsg needs {Size} bytes, message has {source.Length}")
        : new(
        source[0],
        MemoryMarshal.Read<int>(source[4..]),
        MemoryMarshal.Read<uint>(source[8..]),
        MemoryMarshal.Read<uint>(source[12..]),
        MemoryMarshal.Read<uint>(source[16..]));
}
