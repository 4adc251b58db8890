namespace Contiv.State;

/// <summary>Argument checks shared by every store, so both implementations reject the same inputs.</summary>
internal static class StoreArguments
{
    public static void CheckKeys(IReadOnlyCollection<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            CheckKey(key, nameof(keys));
        }
    }

    public static void CheckCommit(IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(writes);
        foreach (var condition in conditions)
        {
            CheckKey(condition.Key, nameof(conditions));
        }

        foreach (var write in writes)
        {
            CheckKey(write.Key, nameof(writes));
        }
    }

    /// <summary>The keys a commit notifies about: each written key once, in first-write order.</summary>
    public static IReadOnlyList<string> WrittenKeys(IReadOnlyList<KeyWrite> writes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<string>(writes.Count);
        foreach (var write in writes)
        {
            if (seen.Add(write.Key))
            {
                keys.Add(write.Key);
            }
        }

        return keys;
    }

    private static void CheckKey(string? key, string parameterName)
    {
        // The empty key is reserved: StoreChange uses it to mean "resynchronise".
        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("store keys must be non-empty strings", parameterName);
        }
    }
}
