namespace Contiv.State;

/// <summary>What a transaction decided: the writes to commit and the value to hand back.</summary>
public sealed record TransactionPlan<T>(IReadOnlyList<KeyWrite> Writes, T Result)
{
    /// <summary>Address pools to create or delete in the same commit.</summary>
    public IReadOnlyList<PoolWrite> PoolWrites { get; init; } = [];
}

/// <summary>
/// Optimistic read-decide-commit loop: read the keys, run a pure decision, commit on the condition
/// that none of the keys changed meanwhile, and retry from a fresh read when another process won.
/// The decision may throw (e.g. a validation error): nothing is written then.
/// </summary>
public static class StoreTransaction
{
    public const int DefaultMaxAttempts = 200;

    public static Task<T> RunAsync<T>(
        IKeyValueStore store,
        IReadOnlyCollection<string> keys,
        Func<IReadOnlyDictionary<string, string?>, TransactionPlan<T>> decide,
        CancellationToken cancellationToken = default) =>
        RunAsync(store, keys, [], (snapshot, _) => decide(snapshot), cancellationToken);

    /// <summary>
    /// As above, also reading address <paramref name="pools"/> and committing on the condition that
    /// none of them was taken from or released to meanwhile (their versions are unchanged).
    /// </summary>
    public static async Task<T> RunAsync<T>(
        IKeyValueStore store,
        IReadOnlyCollection<string> keys,
        IReadOnlyCollection<string> pools,
        Func<IReadOnlyDictionary<string, string?>, IReadOnlyDictionary<string, AddressPool?>, TransactionPlan<T>> decide,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(decide);
        const int maxAttempts = DefaultMaxAttempts;
        for (var attempt = 1; ; attempt++)
        {
            var snapshot = await store.GetAsync(keys, cancellationToken);
            var poolSnapshot = new Dictionary<string, AddressPool?>(StringComparer.Ordinal);
            foreach (var pool in pools)
            {
                // Not one snapshot with the keys, but the commit's conditions check every version read.
                poolSnapshot[pool] = await store.GetPoolAsync(pool, cancellationToken);
            }

            var plan = decide(snapshot, poolSnapshot);
            if (plan.Writes.Count == 0 && plan.PoolWrites.Count == 0)
            {
                return plan.Result;
            }

            var conditions = keys.Select(k => new KeyCondition(k, snapshot.GetValueOrDefault(k))).ToList();
            var poolConditions = poolSnapshot.Select(p => new PoolCondition(p.Key, p.Value?.Version ?? 0)).ToList();
            var committed = poolConditions.Count == 0 && plan.PoolWrites.Count == 0
                ? await store.TryCommitAsync(conditions, plan.Writes, cancellationToken)
                : await store.TryCommitAsync(conditions, plan.Writes, poolConditions, plan.PoolWrites, cancellationToken);
            if (committed)
            {
                return plan.Result;
            }

            if (attempt >= maxAttempts)
            {
                throw new StoreConflictException(
                    $"gave up after {attempt} conflicting attempts to update {string.Join(", ", keys.Concat(pools))} in {store.Description}");
            }

            // Jittered backoff keeps hosts that collide on one key from colliding again in lockstep.
            var ceilingMs = Math.Min(50, 1 << Math.Min(attempt, 6));
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceilingMs), cancellationToken);
        }
    }
}
