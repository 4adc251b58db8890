using Contiv.State.Etcd.Api;

namespace Contiv.State.Etcd;

/// <summary>
/// The change feed: one watch on <c>P data/</c> per store, resumed after a lost stream from the
/// revision after the last one it delivered, so a member failure loses no notification.
/// </summary>
public sealed partial class EtcdKeyValueStore
{
    /// <summary>Pool receipts live at <c>P data.pool-receipts/</c>: '.' sorts just before '/'.</summary>
    private const string PoolReceiptInfix = "data.pool-receipts/";

    private static readonly TimeSpan FirstRewatchDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRewatchDelay = TimeSpan.FromSeconds(2);

    private readonly Lock _watchGate = new();
    private readonly TaskCompletionSource _firstWatchLive = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _watchLoop;
    private volatile bool _subscribeGaveUp;

    /// <summary>
    /// Every subscriber shares one watch. Waits (bounded by the operation timeout) until etcd confirms
    /// the watch, so a commit made after this returns is notified. When no member answers this returns
    /// anyway; the watch is established when one does, followed by a <see cref="StoreChange.Resync"/>.
    /// </summary>
    public IDisposable Subscribe(string prefix, Action<StoreChange> onChange)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var registration = _dispatcher.Add(prefix, onChange);
        lock (_watchGate)
        {
            _watchLoop ??= Task.Run(WatchLoopAsync);
        }

        // Blocking is bounded, and Subscribe is called at start-up, not on hot paths.
        if (!_firstWatchLive.Task.Wait(_options.OperationTimeout + _options.AttemptTimeout))
        {
            _subscribeGaveUp = true;
        }
        return registration;
    }

    /// <summary>
    /// Watches until disposed. <c>nextRevision</c> is the first revision not yet delivered (0 until the
    /// first watch is created: "from now"). A stream that breaks is re-created on the next member from
    /// <c>nextRevision</c>, so etcd replays what happened meanwhile; only when etcd has compacted that
    /// history away does the watch start from now, after which subscribers get a Resync.
    /// </summary>
    private async Task WatchLoopAsync()
    {
        long nextRevision = 0;
        var resyncWhenLive = false;
        var delay = FirstRewatchDelay;
        while (!_disposingToken.IsCancellationRequested)
        {
            var endpoint = _endpoints.Current;
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_disposingToken);
                attempt.CancelAfter(_options.OperationTimeout);
                var callOptions = await _endpoints.CallOptionsAsync(endpoint, attempt.Token);
                using var call = endpoint.Watch.Watch(callOptions.WithCancellationToken(_disposingToken));
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest
                    {
                        // [P data.pool-receipts/, P data0): the pool receipts and every data key.
                        Key = _poolReceiptPrefix,
                        RangeEnd = PrefixEnd(Bytes(_options.KeyPrefix + "data")),
                        StartRevision = nextRevision,
                        ProgressNotify = true,
                    },
                }, attempt.Token);
                var created = await call.ResponseStream.MoveNext(attempt.Token);
                if (!created || !call.ResponseStream.Current.Created)
                {
                    throw new IOException($"etcd member {endpoint.Address} did not create the watch");
                }

                var first = call.ResponseStream.Current;
                if (first.Canceled || first.CompactRevision > 0)
                {
                    // The revisions we would resume from are compacted: start from now and resync.
                    nextRevision = 0;
                    resyncWhenLive = true;
                    continue;
                }

                if (nextRevision == 0)
                {
                    nextRevision = first.Header.Revision + 1;
                    // A watch from "now" may have missed commits, unless it is the first, made while
                    // Subscribe still waited for it.
                    resyncWhenLive |= _firstWatchLive.Task.IsCompleted || _subscribeGaveUp;
                }

                _firstWatchLive.TrySetResult();
                if (resyncWhenLive)
                {
                    _dispatcher.PublishResync();
                }

                resyncWhenLive = false;
                delay = FirstRewatchDelay;
                while (await call.ResponseStream.MoveNext(_disposingToken))
                {
                    var response = call.ResponseStream.Current;
                    if (response.Canceled)
                    {
                        if (response.CompactRevision > 0)
                        {
                            nextRevision = 0;
                            resyncWhenLive = true;
                        }

                        break;
                    }

                    nextRevision = Math.Max(nextRevision, Deliver(response) + 1);
                }
            }
            catch (Exception) when (!_disposingToken.IsCancellationRequested)
            {
                // Member down, cut off from the quorum (require-leader cancels its watches), or slow:
                // try the next one, from the same revision.
                _endpoints.MoveOnFrom(endpoint);
                try
                {
                    await Task.Delay(delay, _disposingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRewatchDelay.Ticks));
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    /// <summary>Hands a response's keys to the dispatcher; returns the last revision it covers.</summary>
    private long Deliver(WatchResponse response)
    {
        if (response.Events.Count == 0)
        {
            // A progress notification: every change up to this revision has been delivered.
            return response.Header.Revision;
        }

        // A revision is one Txn, and etcd sends all of a revision's events in one response. A Txn that
        // wrote a pool receipt was a pool take or release, whose record key is not announced.
        var poolOperations = new HashSet<long>();
        foreach (var change in response.Events)
        {
            if (change.Kv.Key.Span.StartsWith(_poolReceiptPrefix.Span))
            {
                poolOperations.Add(change.Kv.ModRevision);
            }
        }

        var keys = new List<string>(response.Events.Count);
        long last = 0;
        foreach (var change in response.Events)
        {
            last = Math.Max(last, change.Kv.ModRevision);
            if (!poolOperations.Contains(change.Kv.ModRevision) && change.Kv.Key.Span.StartsWith(_dataPrefix.Span))
            {
                keys.Add(StripDataPrefix(change.Kv.Key));
            }
        }

        _dispatcher.Publish(keys);
        return last;
    }
}
