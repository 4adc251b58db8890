using Contiv.State;

namespace Contiv.ControlPlane.Tests;

/// <summary>A unit-test stand-in for the store: same commit semantics, one process, no I/O.</summary>
public sealed class InMemoryKeyValueStore : IKeyValueStore
{
    private readonly SortedDictionary<string, string> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AddressPool> _pools = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public string Description => "memory";

    public int Commits { get; private set; }

    public Task<IReadOnlyDictionary<string, string?>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyDictionary<string, string?>>(keys.Distinct().ToDictionary(k => k, k => _data.GetValueOrDefault(k)));
        }
    }

    public Task<IReadOnlyList<KeyValuePair<string, string>>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<KeyValuePair<string, string>>>(
                [.. _data.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))]);
        }
    }

    public Task<bool> TryCommitAsync(IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes, CancellationToken cancellationToken = default) =>
        TryCommitAsync(conditions, writes, [], [], cancellationToken);

    public async Task<bool> TryCommitAsync(
        IReadOnlyList<KeyCondition> conditions,
        IReadOnlyList<KeyWrite> writes,
        IReadOnlyList<PoolCondition> poolConditions,
        IReadOnlyList<PoolWrite> poolWrites,
        CancellationToken cancellationToken = default)
    {
        // Yield so concurrent transactions really interleave between read and commit.
        await Task.Yield();
        lock (_lock)
        {
            if (conditions.Any(c => _data.GetValueOrDefault(c.Key) != c.ExpectedValue)
                || poolConditions.Any(c => (_pools.GetValueOrDefault(c.Pool)?.Version ?? 0) != c.Version))
            {
                return false;
            }

            Apply(writes);
            foreach (var write in poolWrites)
            {
                if (write.Spec is null)
                {
                    _pools.Remove(write.Pool);
                }
                else
                {
                    _pools[write.Pool] = AddressPool.Create(write.Spec);
                }
            }

            Commits++;
            return true;
        }
    }

    public async Task<PoolTakeResult> TakeFromPoolAsync(PoolTake take, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        lock (_lock)
        {
            var (result, next, record) = PoolSteps.Take(_pools.GetValueOrDefault(take.Pool), take);
            if (next is not null)
            {
                _pools[take.Pool] = next;
                Apply(record is { } r ? [r] : []);
            }

            return result;
        }
    }

    public async Task<bool> ReleaseToPoolAsync(PoolRelease release, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        lock (_lock)
        {
            if (_pools.GetValueOrDefault(release.Pool) is not { } pool || release.Slot >= pool.Size || !pool.IsTaken(release.Slot))
            {
                return false;
            }

            _pools[release.Pool] = pool.With(release.Slot, taken: false);
            Apply(release.RecordKey is null ? [] : [new KeyWrite(release.RecordKey, null)]);
            return true;
        }
    }

    public Task<AddressPool?> GetPoolAsync(string pool, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_pools.GetValueOrDefault(pool));
        }
    }

    /// <summary>Pools by name, for tests that check nothing is left behind.</summary>
    public IReadOnlyCollection<string> PoolNames
    {
        get
        {
            lock (_lock)
            {
                return [.. _pools.Keys];
            }
        }
    }

    private void Apply(IReadOnlyList<KeyWrite> writes)
    {
        foreach (var w in writes)
        {
            if (w.Value is null)
            {
                _data.Remove(w.Key);
            }
            else
            {
                _data[w.Key] = w.Value;
            }
        }
    }

    public IDisposable Subscribe(string prefix, Action<StoreChange> onChange) => new Unsubscriber();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Unsubscriber : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
