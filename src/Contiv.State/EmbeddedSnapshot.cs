namespace Contiv.State;

/// <summary>
/// One committed version of an embedded store's data file. Immutable; identified by
/// (<see cref="StoreId"/>, <see cref="Generation"/>): every commit writes a new generation, and a
/// store directory that was wiped and recreated gets a new id, so equal identities mean equal contents.
/// </summary>
internal sealed class EmbeddedSnapshot
{
    // Before Empty: static fields initialise in textual order.
    private static readonly Dictionary<string, AddressPool> NoPools = new(StringComparer.Ordinal);

    public static readonly EmbeddedSnapshot Empty = new(null, 0, new Dictionary<string, string>(StringComparer.Ordinal), null);

    private readonly Dictionary<string, AddressPool> _pools;
    private string[]? _sortedKeys;

    public EmbeddedSnapshot(string? storeId, long generation, Dictionary<string, string> entries, Dictionary<string, AddressPool>? pools)
    {
        StoreId = storeId;
        Generation = generation;
        Entries = entries;
        _pools = pools ?? NoPools;
    }

    /// <summary>Random id given to the data file when it is first written; null before that.</summary>
    public string? StoreId { get; }

    public long Generation { get; }

    public IReadOnlyDictionary<string, string> Entries { get; }

    /// <summary>Address pools by name (a namespace of their own, not listed with the entries).</summary>
    public IReadOnlyDictionary<string, AddressPool> Pools => _pools;

    public bool IsSameVersion(string? storeId, long generation) =>
        string.Equals(StoreId, storeId, StringComparison.Ordinal) && Generation == generation;

    public bool IsSameVersion(EmbeddedSnapshot other) => IsSameVersion(other.StoreId, other.Generation);

    /// <summary>Keys in ordinal order (built once per snapshot, on first listing).</summary>
    public string[] SortedKeys
    {
        get
        {
            var keys = Volatile.Read(ref _sortedKeys);
            if (keys is null)
            {
                keys = [.. Entries.Keys];
                Array.Sort(keys, StringComparer.Ordinal);
                Volatile.Write(ref _sortedKeys, keys);
            }

            return keys;
        }
    }

    public bool Satisfies(IReadOnlyList<KeyCondition> conditions)
    {
        foreach (var condition in conditions)
        {
            if (!string.Equals(Entries.GetValueOrDefault(condition.Key), condition.ExpectedValue, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public bool Satisfies(IReadOnlyList<PoolCondition> poolConditions)
    {
        foreach (var condition in poolConditions)
        {
            var version = Pools.TryGetValue(condition.Pool, out var pool) ? pool.Version : 0;
            if (version != condition.Version)
            {
                return false;
            }
        }

        return true;
    }

    public EmbeddedSnapshot Apply(IReadOnlyList<KeyWrite> writes) => Apply(writes, []);

    /// <summary>The next version: <paramref name="writes"/> applied, and each pool in <paramref name="pools"/> replaced (null deletes it).</summary>
    public EmbeddedSnapshot Apply(IReadOnlyList<KeyWrite> writes, IReadOnlyList<KeyValuePair<string, AddressPool?>> pools)
    {
        var entries = new Dictionary<string, string>(Entries, StringComparer.Ordinal);
        foreach (var write in writes)
        {
            if (write.Value is null)
            {
                entries.Remove(write.Key);
            }
            else
            {
                entries[write.Key] = write.Value;
            }
        }

        var nextPools = pools.Count == 0 ? _pools : new Dictionary<string, AddressPool>(_pools, StringComparer.Ordinal);
        foreach (var (name, pool) in pools)
        {
            if (pool is null)
            {
                nextPools.Remove(name);
            }
            else
            {
                nextPools[name] = pool;
            }
        }

        return new EmbeddedSnapshot(StoreId ?? Guid.NewGuid().ToString("N"), Generation + 1, entries, nextPools);
    }

    public List<KeyValuePair<string, string>> List(string prefix)
    {
        var keys = SortedKeys;
        var result = new List<KeyValuePair<string, string>>();
        // First key >= prefix; every key starting with prefix follows it contiguously in ordinal order.
        var index = Array.BinarySearch(keys, prefix, StringComparer.Ordinal);
        for (var i = index < 0 ? ~index : index; i < keys.Length && keys[i].StartsWith(prefix, StringComparison.Ordinal); i++)
        {
            result.Add(new KeyValuePair<string, string>(keys[i], Entries[keys[i]]));
        }

        return result;
    }

    /// <summary>Keys whose value differs between the two snapshots (added, changed or removed), ordinal order.</summary>
    public static List<string> ChangedKeys(EmbeddedSnapshot before, EmbeddedSnapshot after)
    {
        var changed = new List<string>();
        foreach (var (key, value) in after.Entries)
        {
            if (!before.Entries.TryGetValue(key, out var old) || !string.Equals(old, value, StringComparison.Ordinal))
            {
                changed.Add(key);
            }
        }

        foreach (var key in before.Entries.Keys)
        {
            if (!after.Entries.ContainsKey(key))
            {
                changed.Add(key);
            }
        }

        changed.Sort(StringComparer.Ordinal);
        return changed;
    }
}
