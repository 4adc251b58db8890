namespace Contiv.Dns.Tests;

/// <summary>Hand-built packets read best as hex with spaces; this turns them into bytes.</summary>
internal static class Hex
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>A name in wire form written as hex, from dotted labels (no escapes): "contiv-c1" → "09 63 6f ... 00".</summary>
    public static string Name(string dotted) =>
        string.Concat(dotted.Split('.', StringSplitOptions.RemoveEmptyEntries)
            .Select(label => $"{label.Length:x2}{Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(label))}")) + "00";
}
