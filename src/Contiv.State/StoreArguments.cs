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

    public static void CheckPools(IReadOnlyList<PoolCondition> poolConditions, IReadOnlyList<PoolWrite> poolWrites)
    {
        ArgumentNullException.ThrowIfNull(poolConditions);
        ArgumentNullException.ThrowIfNull(poolWrites);
        foreach (var condition in poolConditions)
        {
            CheckKey(condition.Pool, nameof(poolConditions));
            ArgumentOutOfRangeException.ThrowIfNegative(condition.Version, nameof(poolConditions));
        }

        foreach (var write in poolWrites)
        {
            CheckKey(write.Pool, nameof(poolWrites));
            if (write.Spec is { } spec)
            {
                // Validates the size and reserved slots before anything is sent.
                _ = AddressPool.Create(spec);
            }
        }
    }

    public static void CheckTake(PoolTake take)
    {
        ArgumentNullException.ThrowIfNull(take);
        CheckKey(take.Pool, nameof(take));
        if (take.RecordKeyPrefix is not null && take.RecordValue is null)
        {
            throw new ArgumentException("a pool take with a record key prefix needs a record value", nameof(take));
        }

        if (take.Slot is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(take), "a requested slot is never negative");
        }
    }

    public static void CheckRelease(PoolRelease release)
    {
        ArgumentNullException.ThrowIfNull(release);
        CheckKey(release.Pool, nameof(release));
        ArgumentOutOfRangeException.ThrowIfNegative(release.Slot, nameof(release));
        if (release.RecordKey is not null)
        {
            CheckKey(release.RecordKey, nameof(release));
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
