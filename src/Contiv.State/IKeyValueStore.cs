namespace Contiv.State;

/// <summary>
/// The shared state every ContivDocker process sees: a string key/value store with atomic
/// multi-key compare-and-set commits and change notifications. Everything above it (tenants,
/// networks, address and tag allocation) is pure code that reads a few keys, decides, and commits
/// conditionally on what it read (see <see cref="StoreTransaction"/>), so the same logic is atomic
/// on Redis (many hosts) and on the embedded file store (one host, several processes).
/// </summary>
public interface IKeyValueStore : IAsyncDisposable
{
    /// <summary>Human-readable location (e.g. <c>redis://127.0.0.1:6379</c>), used in error messages.</summary>
    string Description { get; }

    /// <summary>The value of each key (null when absent), read as one consistent snapshot.</summary>
    Task<IReadOnlyDictionary<string, string?>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Every key starting with <paramref name="prefix"/> with its value, ordered by key (ordinal).</summary>
    Task<IReadOnlyList<KeyValuePair<string, string>>> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically applies <paramref name="writes"/> (a null value deletes the key) if and only if every
    /// condition holds at commit time. Returns false, having written nothing, when a condition failed.
    /// Successful commits notify subscribers of every written key, in every process.
    /// </summary>
    Task<bool> TryCommitAsync(IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="TryCommitAsync(IReadOnlyList{KeyCondition}, IReadOnlyList{KeyWrite}, CancellationToken)"/>,
    /// also conditioned on address pools' versions and creating or deleting pools in the same atomic
    /// step. Pool writes are not announced to subscribers (only the key writes are).
    /// </summary>
    Task<bool> TryCommitAsync(
        IReadOnlyList<KeyCondition> conditions,
        IReadOnlyList<KeyWrite> writes,
        IReadOnlyList<PoolCondition> poolConditions,
        IReadOnlyList<PoolWrite> poolWrites,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a slot of an address pool (and writes its record key, see <see cref="PoolTake"/>) in one
    /// atomic step on the store: on Redis one script call, so concurrent hosts never conflict or retry.
    /// Applied exactly once even when a reply is lost and the call is retried.
    /// </summary>
    /// <remarks>
    /// Pool operations are the allocation hot path and are not announced to subscribers: neither the
    /// pool nor the record key written with it (the embedded store may still report the record key to
    /// other processes, as it reports every changed key it finds). Nothing that reacts to
    /// notifications needs them; read them when needed.
    /// </remarks>
    Task<PoolTakeResult> TakeFromPoolAsync(PoolTake take, CancellationToken cancellationToken = default);

    /// <summary>
    /// Frees a slot of an address pool and deletes its record key, atomically. Returns false (and
    /// writes nothing) when the slot was free or the pool does not exist: releasing is idempotent.
    /// Not announced to subscribers (see <see cref="TakeFromPoolAsync"/>).
    /// </summary>
    Task<bool> ReleaseToPoolAsync(PoolRelease release, CancellationToken cancellationToken = default);

    /// <summary>The pool as one consistent version, or null when it does not exist.</summary>
    Task<AddressPool?> GetPoolAsync(string pool, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="onChange"/> for keys under <paramref name="prefix"/> changed by any process.
    /// Delivery is at-least-once and may coalesce; a <see cref="StoreChange.Resync"/> change
    /// (empty key) means "notifications may have been missed, re-read everything" (e.g. after a reconnect).
    /// The callback runs on a background thread and must not block for long.
    /// </summary>
    IDisposable Subscribe(string prefix, Action<StoreChange> onChange);
}

/// <summary>A precondition of a commit: the key holds exactly <see cref="ExpectedValue"/> (null: the key is absent).</summary>
public readonly record struct KeyCondition(string Key, string? ExpectedValue);

/// <summary>One write of a commit: set <see cref="Key"/> to <see cref="Value"/>, or delete it when null.</summary>
public readonly record struct KeyWrite(string Key, string? Value);

/// <summary>A change notification. An empty <see cref="Key"/> asks the subscriber to resynchronise.</summary>
public readonly record struct StoreChange(string Key)
{
    public static StoreChange Resync { get; } = new(string.Empty);

    public bool IsResync => Key.Length == 0;
}

/// <summary>
/// The store could not be reached (after bounded retries). Nothing was written, with one exception
/// flagged by <see cref="CommitOutcomeUnknown"/>.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// Set when a commit reached the server but its reply was lost and the store then became
    /// unreachable, so the commit may have been applied (once, never partially). Re-running the
    /// <see cref="StoreTransaction"/> is safe: its conditions see the applied state.
    /// </summary>
    public bool CommitOutcomeUnknown { get; init; }
}

/// <summary>A transaction kept losing compare-and-set races and gave up. Nothing was written.</summary>
public sealed class StoreConflictException(string message) : Exception(message);
