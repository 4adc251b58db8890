using Contiv.State;

namespace Contiv.ControlPlane.Tests;

/// <summary>A unit-test stand-in for the store: same commit semantics, one process, no I/O.</summary>
public sealed class InMemoryKeyValueStore : IKeyValueStore
{
    private readonly SortedDictionary<string, string> _data = new(StringComparer.Ordinal);
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

    public async Task<bool> TryCommitAsync(IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes, CancellationToken cancellationToken = default)
    {
        // Yield so concurrent transactions really interleave between read and commit.
        await Task.Yield();
        lock (_lock)
        {
            if (conditions.Any(c => _data.GetValueOrDefault(c.Key) != c.ExpectedValue))
            {
                return false;
            }

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

            Commits++;
            return true;
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
