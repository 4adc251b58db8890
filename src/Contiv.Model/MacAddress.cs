namespace Contiv.Model;

/// <summary>Endpoint MACs are derived from the IPv4 address, so every host computes the same MAC.</summary>
public static class MacAddress
{
    /// <summary><c>02:02:</c> (locally administered, unicast) followed by the four address bytes.</summary>
    public static string FromIPv4(uint address) =>
        $"02:02:{address >> 24:x2}:{(address >> 16) & 0xFF:x2}:{(address >> 8) & 0xFF:x2}:{address & 0xFF:x2}";
}
