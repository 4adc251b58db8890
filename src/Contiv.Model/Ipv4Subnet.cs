using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Contiv.Model;

/// <summary>
/// An IPv4 subnet as Contiv configures it: a CIDR, optionally narrowed to a host range written
/// <c>10.1.1.10-20/24</c> (addresses outside the range are never handed out). Host index 0 is the
/// network address; index <see cref="Size"/>-1 is the broadcast address.
/// </summary>
public sealed class Ipv4Subnet
{
    /// <summary>Larger subnets would make the per-network address bitmap unwieldy to update atomically.</summary>
    public const int MinPrefixLength = 14;

    /// <summary>A /31 or /32 has no host addresses once network and broadcast are reserved.</summary>
    public const int MaxPrefixLength = 30;

    private Ipv4Subnet(uint network, int prefixLength, int firstHost, int lastHost, string text)
    {
        NetworkAddress = network;
        PrefixLength = prefixLength;
        FirstHostIndex = firstHost;
        LastHostIndex = lastHost;
        Text = text;
    }

    public uint NetworkAddress { get; }

    public int PrefixLength { get; }

    /// <summary>Number of addresses in the CIDR, network and broadcast included.</summary>
    public int Size => 1 << (32 - PrefixLength);

    /// <summary>Lowest host index that may be handed out (1, or the start of a range).</summary>
    public int FirstHostIndex { get; }

    /// <summary>Highest host index that may be handed out (Size-2, or the end of a range).</summary>
    public int LastHostIndex { get; }

    /// <summary>The subnet as configured (kept verbatim for display).</summary>
    public string Text { get; }

    /// <summary>The plain CIDR, e.g. <c>10.1.2.0/24</c>, as Docker's IPAM pool.</summary>
    public string Cidr => $"{FormatAddress(NetworkAddress)}/{PrefixLength}";

    public static Ipv4Subnet Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw ContivException.Invalid("subnet is required (e.g. --subnet 10.1.2.0/24)");
        }

        text = text.Trim();
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            throw ContivException.Invalid($"invalid subnet \"{text}\": expected CIDR notation such as 10.1.2.0/24");
        }

        var addressPart = text[..slash];
        string? rangeEnd = null;
        var dash = addressPart.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            rangeEnd = addressPart[(dash + 1)..];
            addressPart = addressPart[..dash];
        }

        if (!TryParseAddress(addressPart, out var address))
        {
            throw ContivException.Invalid($"invalid subnet \"{text}\": \"{addressPart}\" is not an IPv4 address");
        }

        if (prefix is < MinPrefixLength or > MaxPrefixLength)
        {
            throw ContivException.Invalid(
                $"invalid subnet \"{text}\": prefix length must be between /{MinPrefixLength} and /{MaxPrefixLength}");
        }

        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        var network = address & mask;
        var size = 1 << (32 - prefix);
        if (rangeEnd is null)
        {
            if (network != address)
            {
                throw ContivException.Invalid(
                    $"invalid subnet \"{text}\": host bits are set; did you mean {FormatAddress(network)}/{prefix}?");
            }

            return new Ipv4Subnet(network, prefix, 1, size - 2, text);
        }

        // Range form: the end is the last octet (10.1.1.10-20/24) or a full address.
        uint end;
        if (byte.TryParse(rangeEnd, NumberStyles.None, CultureInfo.InvariantCulture, out var lastOctet))
        {
            end = (address & 0xFFFFFF00u) | lastOctet;
        }
        else if (!TryParseAddress(rangeEnd, out end))
        {
            throw ContivException.Invalid($"invalid subnet range \"{text}\": \"{rangeEnd}\" is not an address or last octet");
        }

        var first = (int)(address - network);
        var last = (int)(end - network);
        if ((end & mask) != network || last < first || first < 1 || last > size - 2)
        {
            throw ContivException.Invalid(
                $"invalid subnet range \"{text}\": the range must lie inside {FormatAddress(network)}/{prefix} and exclude its network and broadcast addresses");
        }

        return new Ipv4Subnet(network, prefix, first, last, text);
    }

    public bool Contains(uint address) => (address & Mask) == NetworkAddress;

    public uint Mask => uint.MaxValue << (32 - PrefixLength);

    public uint AddressAt(int hostIndex) => NetworkAddress + (uint)hostIndex;

    public int IndexOf(uint address) => (int)(address - NetworkAddress);

    /// <summary>Parses an IPv4 address that must lie inside this subnet and be usable as a host address.</summary>
    public int ParseHostIndex(string? text, string what)
    {
        if (!TryParseAddress(text, out var address))
        {
            throw ContivException.Invalid($"invalid {what} \"{text}\": not an IPv4 address");
        }

        if (!Contains(address))
        {
            throw ContivException.Invalid($"{what} {text} is not inside subnet {Cidr}");
        }

        var index = IndexOf(address);
        if (index == 0 || index == Size - 1)
        {
            throw ContivException.Invalid($"{what} {text} is the {(index == 0 ? "network" : "broadcast")} address of subnet {Cidr}");
        }

        return index;
    }

    public static bool TryParseAddress(string? text, out uint address)
    {
        address = 0;
        if (text is null || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork
            || text.Count(c => c == '.') != 3)
        {
            return false;
        }

        address = BinaryPrimitives.ReadUInt32BigEndian(ip.GetAddressBytes());
        return true;
    }

    public static string FormatAddress(uint address) =>
        $"{address >> 24}.{(address >> 16) & 0xFF}.{(address >> 8) & 0xFF}.{address & 0xFF}";

    public override string ToString() => Text;
}
