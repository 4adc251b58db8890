using System.Buffers.Binary;
using Contiv.Datapath.Netlink;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// <c>struct nfgenmsg</c> (4 bytes) after every nfnetlink header: the address family the object
/// belongs to, the nfnetlink version, and a big-endian resource id (the subsystem in batch messages).
/// </summary>
internal readonly record struct NfGenMessage(byte Family, byte Version, ushort ResourceId) : IFamilyHeader<NfGenMessage>
{
    public static int Size => 4;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Family;
        destination[1] = Version;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], ResourceId);
    }

    public static NfGenMessage Read(ReadOnlySpan<byte> source) =>
        new(source[0], source[1], BinaryPrimitives.ReadUInt16BigEndian(source[2..]));
}
