using System.Globalization;
using System.Text;

namespace Contiv.Model;

/// <summary>
/// Compact range strings as Contiv prints them: runs of consecutive values as <c>start-end</c>, single
/// values alone, joined by ", " (<c>10.1.2.1-10.1.2.3, 10.1.2.5</c>). Also parses tag ranges such as
/// <c>1-4094</c> or <c>100-200,300</c>.
/// </summary>
public static class RangeText
{
    public static string Format(IEnumerable<int> sortedValues, Func<int, string> render)
    {
        var sb = new StringBuilder();
        int? start = null, previous = null;
        foreach (var value in sortedValues)
        {
            if (previous is { } p && value == p + 1)
            {
                previous = value;
                continue;
            }

            Flush();
            start = previous = value;
        }

        Flush();
        return sb.ToString();

        void Flush()
        {
            if (start is not { } s || previous is not { } e)
            {
                return;
            }

            if (sb.Length > 0)
            {
                sb.Append(", ");
            }

            sb.Append(render(s));
            if (e != s)
            {
                sb.Append('-').Append(render(e));
            }
        }
    }

    public static string FormatNumbers(IEnumerable<int> sortedValues) =>
        Format(sortedValues, v => v.ToString(CultureInfo.InvariantCulture)).Replace(" ", string.Empty, StringComparison.Ordinal);

    /// <summary>Parses <c>a-b[,c[-d]]...</c> into inclusive ranges; every value must be within [min, max].</summary>
    public static IReadOnlyList<(int From, int To)> ParseNumberRanges(string? text, int min, int max, string what)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw ContivException.Invalid($"{what} must not be empty");
        }

        var ranges = new List<(int, int)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', StringSplitOptions.TrimEntries);
            if (bounds.Length is < 1 or > 2
                || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                || !int.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var to))
            {
                throw ContivException.Invalid($"invalid {what} \"{text}\": expected ranges such as {min}-{max} or 100-200,300");
            }

            if (from > to || from < min || to > max)
            {
                throw ContivException.Invalid($"invalid {what} \"{text}\": values must be ascending and within {min}-{max}");
            }

            ranges.Add((from, to));
        }

        return ranges;
    }

    /// <summary>Expands a list of numbers written as ranges ("1-3,7") into a sorted set.</summary>
    public static SortedSet<int> ParseNumberSet(string? text)
    {
        var set = new SortedSet<int>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return set;
        }

        foreach (var (from, to) in ParseNumberRanges(text, 0, int.MaxValue, "number set"))
        {
            for (var v = from; v <= to; v++)
            {
                set.Add(v);
            }
        }

        return set;
    }
}
