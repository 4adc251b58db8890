using Contiv.TestSupport;

namespace Contiv.Datapath.Tests;

/// <summary>Byte layouts written as hex, spaced and commented per field, compared as hex for readable diffs.</summary>
internal static class Bytes
{
    public static byte[] Hex(string text) =>
        Convert.FromHexString(string.Concat(text.Split((char[])[' ', '\n', '\r', '|'], StringSplitOptions.RemoveEmptyEntries)));

    public static void Equal(string expectedHex, byte[] actual) =>
        Assert.Equal(Convert.ToHexString(Hex(expectedHex)), Convert.ToHexString(actual));

    /// <summary>The layouts below are the kernel's on little-endian hosts (x86-64, arm64).</summary>
    public static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            Prerequisite.Impossible("hand-computed layouts assume a little-endian host");
        }
    }
}
