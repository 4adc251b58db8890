using System.Globalization;
using System.Net.NetworkInformation;

namespace Contiv.Model;

/// <summary>
/// A 48-bit MAC address. Contiv derives its MACs from IPv4 addresses, so every host computes the same
/// MAC for the same address: a locally administered unicast prefix (<c>02:0N</c>) that says what the
/// address is for, then the four address bytes.
/// </summary>
public readonly record struct MacAddress
{
    private const ulong Mask = 0xFFFF_FFFF_FFFF;
    private const ulong EndpointPrefix = 0x0202;
    private const ulong TenantRouterPrefix = 0x0203;
    private const ulong NetworkServicePrefix = 0x0204;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value & Mask;

    /// <summary>All zeros: the FDB's flooding entry.</summary>
    public static MacAddress Zero => default;

    /// <summary>An endpoint's MAC: <c>02:02:</c> and its IPv4 address.</summary>
    public static MacAddress FromIPv4(uint address) => new((EndpointPrefix << 32) | address);

    /// <summary>A tenant router's interface holding a gateway: <c>02:03:</c> and the gateway address, the same on every host.</summary>
    public static MacAddress TenantRouterFromIPv4(uint gateway) => new((TenantRouterPrefix << 32) | gateway);

    /// <summary>A network's bridge holding a host service address: <c>02:04:</c> and that address.</summary>
    public static MacAddress NetworkServiceFromIPv4(uint address) => new((NetworkServicePrefix << 32) | address);

    public static MacAddress FromPhysicalAddress(PhysicalAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bytes = address.GetAddressBytes();
        if (bytes.Length != 6)
        {
            throw new FormatException($"not a 48-bit MAC address: {address}");
        }

        return new(bytes.Aggregate(0UL, (value, b) => (value << 8) | b));
    }

    /// <summary>Parses <c>02:02:0a:01:02:03</c>, <c>02-02-0A-01-02-03</c> or <c>02020a010203</c>.</summary>
    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"not a MAC address: \"{text}\"");

    public static bool TryParse(string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null)
        {
            return false;
        }

        var hex = text.Replace(":", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        if (hex.Length != 12 || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        mac = new MacAddress(value);
        return true;
    }

    public PhysicalAddress ToPhysicalAddress()
    {
        var bytes = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(_value >> (8 * (5 - i)));
        }

        return new PhysicalAddress(bytes);
    }

    /// <summary>Lower-case, colon-separated: the form Contiv's records and Docker use.</summary>
    public override string ToString() => string.Join(':', ToPhysicalAddress().GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
