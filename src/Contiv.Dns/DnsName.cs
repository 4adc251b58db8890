namespace Contiv.Dns;

/// <summary>Domain names: presentation form (what <see cref="DnsQuestion.Name"/> holds) to and from wire form.</summary>
public static class DnsName
{
    /// <summary>Longest name on the wire, length bytes and root label included (RFC 1035 2.3.4).</summary>
    public const int MaxWireLength = 255;

    /// <summary>Longest label (RFC 1035 2.3.4); the two top bits of a length byte mark pointers.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>The name lower-cased (ASCII only, as DNS compares) with one unescaped trailing dot removed.</summary>
    public static string Normalize(string name)
    {
        var trimmed = HasTrailingDot(name) ? name[..^1] : name;
        return trimmed.ToLowerInvariant(); // names hold only ASCII (anything else is \DDD-escaped)
    }

    /// <summary>Whether two names are the same name: ASCII case-insensitive, trailing dots ignored.</summary>
    public static bool AreEqual(string left, string right) =>
        string.Equals(
            HasTrailingDot(left) ? left[..^1] : left,
            HasTrailingDot(right) ? right[..^1] : right,
            StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="name"/> is a valid presentation-form name that fits on the wire.</summary>
    public static bool IsValid(string name) => TryEncode(name, stackalloc byte[MaxWireLength + 1], out _);

    /// <summary>The name in wire form (uncompressed), or an <see cref="ArgumentException"/> when it is not a valid name.</summary>
    public static byte[] Encode(string name)
    {
        Span<byte> buffer = stackalloc byte[MaxWireLength + 1];
        return TryEncode(name, buffer, out var written)
            ? buffer[..written].ToArray()
            : throw new ArgumentException($"not a valid DNS name: '{name}'", nameof(name));
    }

    /// <summary>Writes <paramref name="name"/> in wire form; false when it is not valid (empty label, label over 63 bytes,
    /// name over 255 bytes, non-ASCII or control characters, a broken escape). <paramref name="destination"/> needs 256 bytes.</summary>
    internal static bool TryEncode(string name, Span<byte> destination, out int written)
    {
        written = 0;
        if (name is "" or ".")
        {
            destination[0] = 0;
            written = 1;
            return true;
        }

        var lengthAt = 0; // where the current label's length byte goes
        var position = 1;
        var labelLength = 0;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '.')
            {
                if (labelLength == 0)
                    return false; // "a..b" or ".a"
                destination[lengthAt] = (byte)labelLength;
                lengthAt = position++;
                labelLength = 0;
                if (position > MaxWireLength)
                    return false;
                continue;
            }

            int value;
            if (c == '\\')
            {
                if (i + 1 >= name.Length)
                    return false;
                if (i + 3 < name.Length && char.IsAsciiDigit(name[i + 1]) && char.IsAsciiDigit(name[i + 2]) && char.IsAsciiDigit(name[i + 3]))
                {
                    value = ((name[i + 1] - '0') * 100) + ((name[i + 2] - '0') * 10) + (name[i + 3] - '0');
                    i += 3;
                }
                else
                {
                    value = name[++i];
                    if (value > 0x7F)
                        return false;
                }
            }
            else
            {
                value = c;
            }

            if (value > 0xFF || (c != '\\' && (value < 0x21 || value > 0x7E)))
                return false; // unescaped characters must be printable ASCII
            if (++labelLength > MaxLabelLength || position >= MaxWireLength)
                return false;
            destination[position++] = (byte)value;
        }

        if (labelLength > 0)
        {
            destination[lengthAt] = (byte)labelLength;
            lengthAt = position;
        }

        destination[lengthAt] = 0; // the root label
        written = lengthAt + 1;
        return written <= MaxWireLength;
    }

    /// <summary>Appends one label's bytes in presentation form: '.', '\' and anything outside printable ASCII escaped.</summary>
    internal static int AppendEscapedLabel(ReadOnlySpan<byte> label, Span<char> output, int at)
    {
        foreach (var b in label)
        {
            if (b is (byte)'.' or (byte)'\\')
            {
                output[at++] = '\\';
                output[at++] = (char)b;
            }
            else if (b < 0x21 || b > 0x7E)
            {
                output[at++] = '\\';
                output[at++] = (char)('0' + (b / 100));
                output[at++] = (char)('0' + (b / 10 % 10));
                output[at++] = (char)('0' + (b % 10));
            }
            else
            {
                output[at++] = (char)b;
            }
        }

        return at;
    }

    private static bool HasTrailingDot(string name)
    {
        if (name.Length == 0 || name[^1] != '.')
            return false;
        // "a\." ends in an escaped dot that belongs to the label; "a\\." ends in a separator.
        var backslashes = 0;
        for (var i = name.Length - 2; i >= 0 && name[i] == '\\'; i--)
            backslashes++;
        return backslashes % 2 == 0;
    }
}
