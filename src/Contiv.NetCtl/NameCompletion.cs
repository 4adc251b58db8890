namespace Contiv.NetCtl;

/// <summary>Which names a completion offers for the word being typed.</summary>
public static class NameCompletion
{
    /// <summary>
    /// The distinct non-empty names that start with <paramref name="word"/> (names are
    /// case-sensitive), in ordinal order so the shell shows a stable list.
    /// </summary>
    public static IEnumerable<string> Matching(IEnumerable<string> names, string? word) =>
        names.Where(n => !string.IsNullOrEmpty(n) && n.StartsWith(word ?? string.Empty, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
}
