using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Contiv.Datapath.Nftables;

/// <summary>
/// Bytes as the kernel compares them (NFTA_DATA_VALUE): a packet field in network order, or a
/// host-order number for fields nf_tables keeps in host order (ct state). Compares by content.
/// </summary>
public sealed class NftValue : IEquatable<NftValue>
{
    private readonly byte[] _bytes;

    public NftValue(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length is 0 or > 64)
        {
            throw new ArgumentException($"an nf_tables value has 1..64 bytes, not {bytes.Length}", nameof(bytes));
        }

        _bytes = bytes.ToArray();
    }

    public ReadOnlySpan<byte> Bytes => _bytes;

    public int Length => _bytes.Length;

    public static NftValue Ipv4(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? new NftValue(address.GetAddressBytes())
            : throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));

    /// <summary>An IPv4 netmask of <paramref name="prefixLength"/> bits, in network order.</summary>
    public static NftValue Ipv4Mask(int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength));
        return new NftValue(bytes);
    }

    public static NftValue Byte(byte value) => new([value]);

    /// <summary>A 16-bit packet field such as a port, in network order.</summary>
    public static NftValue BigEndian16(ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return new NftValue(bytes);
    }

    /// <summary>A 32-bit number in host order (ct state bits, meta mark).</summary>
    public static NftValue HostOrder32(uint value) => new(BitConverter.GetBytes(value));

    public bool Equals(NftValue? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => Equals(obj as NftValue);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }

    public override string ToString() => _bytes.Length == 4 && _bytes is var b
        ? $"{b[0]}.{b[1]}.{b[2]}.{b[3]}"
        : "0x" + Convert.ToHexStringLower(_bytes);
}
