namespace Contiv.State;

/// <summary>What a transaction decided: the writes to commit and the value to hand back.</summary>
public sealed record TransactionPlan<T>(IReadOnlyList<KeyWrite> Writes, T Result);

/// <summary>
/// Optimistic read-decide-commit loop: read the keys, run a pure decision, commit on the condition
/// that none of the keys changed meanwhile, and retry from a fresh read when another process won.
/// The decision may throw (e.g. a validation error): nothing is written then.
/// </summary>
public static class StoreTransaction
{
    public const int DefaultMaxAttempts = 200;

    // maxAttempts follows the token so that existing positional calls (store, keys, decide, token) keep compiling.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068:CancellationToken parameters must come last", Justification = "Published signature; maxAttempts is a rarely used tuning knob.")]
    public static async Task<T> RunAsync<T>(
        IKeyValueStore store,
        IReadOnlyCollection<string> keys,
        Func<IReadOnlyDictionary<string, string?>, TransactionPlan<T>> decide,
        CancellationToken cancellationToken = default)
    {
        const int maxAttempts = DefaultMaxAttempts;
        for (var attempt = 1; ; attempt++)
        {
            var snapshot = await store.GetAsync(keys, cancellationToken);
            var plan = decide(snapshot);
            if (plan.Writes.Count == 0)
            {
                return plan.Result;
            }

            var conditions = keys.Select(k => new KeyCondition(k, snapshot.GetValueOrDefault(k))).ToList();
            if (await store.TryCommitAsync(conditions, plan.Writes, cancellationToken))
            {
                return plan.Result;
            }

            if (attempt >= maxAttempts)
            {
                throw new StoreConflictException(
                    $"gave up after {attempt} conflicting attempts to update {string.Join(", ", keys)} in {store.Description}");
            }

            // Jittered backoff keeps hosts that collide on one key from colliding again in lockstep.
            var ceilingMs = Math.Min(50, 1 << Math.Min(attempt, 6));
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceilingMs), cancellationToken);
        }
    }
}
