using System.Threading.Channels;

namespace Contiv.State;

/// <summary>
/// The subscribers of one store and the single background loop that calls them. Every change,
/// whatever thread or transport it arrived on, goes through one queue, so each callback sees
/// notifications one at a time and in arrival order, and a slow callback delays only notifications.
/// </summary>
internal sealed class ChangeDispatcher : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Channel<IReadOnlyList<string>?> _queue =
        Channel.CreateUnbounded<IReadOnlyList<string>?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _pump;
    private Subscription[] _subscriptions = [];

    public ChangeDispatcher()
    {
        _pump = Task.Run(PumpAsync);
    }

    public bool HasSubscribers => Volatile.Read(ref _subscriptions).Length > 0;

    public IDisposable Add(string prefix, Action<StoreChange> onChange)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        var subscription = new Subscription(this, prefix, onChange);
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    /// <summary>Queues a notification for each of <paramref name="keys"/>.</summary>
    public void Publish(IReadOnlyList<string> keys)
    {
        if (keys.Count > 0 && HasSubscribers)
        {
            _queue.Writer.TryWrite(keys);
        }
    }

    /// <summary>Queues <see cref="StoreChange.Resync"/> for every subscriber.</summary>
    public void PublishResync()
    {
        if (HasSubscribers)
        {
            _queue.Writer.TryWrite(null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _subscriptions = [];
        }

        _queue.Writer.TryComplete();
        await _pump;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions.Where(s => !ReferenceEquals(s, subscription))];
        }
    }

    private async Task PumpAsync()
    {
        await foreach (var keys in _queue.Reader.ReadAllAsync())
        {
            foreach (var subscription in Volatile.Read(ref _subscriptions))
            {
                if (keys is null)
                {
                    subscription.Deliver(StoreChange.Resync);
                    continue;
                }

                foreach (var key in keys)
                {
                    if (key.StartsWith(subscription.Prefix, StringComparison.Ordinal))
                    {
                        subscription.Deliver(new StoreChange(key));
                    }
                }
            }
        }
    }

    private sealed class Subscription(ChangeDispatcher owner, string prefix, Action<StoreChange> onChange) : IDisposable
    {
        private volatile bool _disposed;

        public string Prefix { get; } = prefix;

        public void Deliver(StoreChange change)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                onChange(change);
            }
            catch (Exception)
            {
                // One subscriber's bug must not stop notifications to the others; the callback
                // owns its error handling (the contract says it must be quick and not throw).
            }
        }

        public void Dispose()
        {
            _disposed = true;
            owner.Remove(this);
        }
    }
}
