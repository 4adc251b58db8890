using StackExchange.Redis;

namespace Contiv.State;

/// <summary>The change feed: one channel subscription per store, and provable resyncs after reconnects.</summary>
public sealed partial class RedisKeyValueStore
{
    /// <summary>
    /// One shared channel subscription serves every subscriber of this store; notifications arrive in
    /// the order Redis published them, one at a time. Waits (bounded by
    /// <see cref="RedisStoreOptions.OperationTimeout"/>) until Redis confirms the subscription, so a
    /// commit made after this returns is notified. When Redis is unreachable this returns anyway; the
    /// subscription is established when Redis comes back, followed by a <see cref="StoreChange.Resync"/>.
    /// </summary>
    public IDisposable Subscribe(string prefix, Action<StoreChange> onChange)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var registration = _dispatcher.Add(prefix, onChange);
        Task subscribing;
        lock (_subscribeGate)
        {
            subscribing = _channelSubscription ??= SubscribeChannelAsync();
        }

        // Blocking is bounded, and Subscribe is called at start-up, not on hot paths.
        subscribing.Wait(_options.OperationTimeout + _options.AttemptTimeout);
        return registration;
    }

    /// <summary>The first subscription attempt (Subscribe waits for it); on failure, keeps trying in the background.</summary>
    private async Task SubscribeChannelAsync()
    {
        if (!await TrySubscribeChannelAsync())
        {
            _ = Task.Run(KeepSubscribingAsync);
        }
    }

    private async Task KeepSubscribingAsync()
    {
        var delay = TimeSpan.FromMilliseconds(250);
        try
        {
            while (true)
            {
                await Task.Delay(delay, _disposingToken);
                if (await TrySubscribeChannelAsync())
                {
                    // Commits made before the subscription existed were never announced.
                    _dispatcher.PublishResync();
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
        catch (OperationCanceledException) when (_disposingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Subscribes with the same retries and time limit as any other operation.</summary>
    private async Task<bool> TrySubscribeChannelAsync()
    {
        try
        {
            // A message queue, not a handler: handlers are invoked concurrently, in no particular order,
            // while a queue hands messages over one at a time in the order Redis sent them. Once this
            // succeeds, the library re-subscribes the queue by itself after every reconnect.
            var queue = await _pipeline.ExecuteAsync(SubscribeOnceAsync, _disposingToken);
            queue.OnMessage(OnChannelMessage);
            _messages = queue;
            return true;
        }
        catch (Exception) when (!_disposingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async ValueTask<ChannelMessageQueue> SubscribeOnceAsync(CancellationToken token)
    {
        var subscriber = (await _connection.WaitAsync(token)).GetSubscriber();
        try
        {
            return await subscriber.SubscribeAsync(_channel).WaitOrAbandonAsync(token);
        }
        catch (Exception)
        {
            // A failed SUBSCRIBE leaves its queue registered inside the library, where nobody would ever
            // read it. Unsubscribing the whole channel wipes that registration (locally, even while the
            // server is down) before the next attempt.
            try
            {
                _ = subscriber.UnsubscribeAsync(_channel, flags: CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
                // The local wipe happens before the server is asked; the server part may fail.
            }

            throw;
        }
    }

    private void OnChannelMessage(ChannelMessage message) => OnChannelMessage(message.Channel, message.Message);

    private void OnChannelMessage(RedisChannel channel, RedisValue message)
    {
        if (!ChangeMessages.TryDecode(((ReadOnlyMemory<byte>)message).Span, out var keys, out var probeId))
        {
            return;
        }

        if (keys is not null)
        {
            _dispatcher.Publish(keys);
        }
        else if (_pendingProbe is { } probe && probe.Id == probeId)
        {
            probe.Delivered.TrySetResult();
        }
    }

    /// <summary>
    /// Delivers <see cref="StoreChange.Resync"/> once the channel subscription is provably live again:
    /// a Resync sent before the re-subscription reached the server would let subscribers re-read and
    /// still miss a commit made in between. The proof is a probe message this store publishes and
    /// receives on its own channel.
    /// </summary>
    private void RequestResync()
    {
        Interlocked.Increment(ref _resyncRequests);
        if (Interlocked.CompareExchange(ref _probing, 1, 0) == 0)
        {
            _ = Task.Run(ResyncLoopAsync);
        }
    }

    private async Task ResyncLoopAsync()
    {
        try
        {
            while (true)
            {
                var requestsHandled = Volatile.Read(ref _resyncRequests);
                await ProbeUntilDeliveredAsync(_disposingToken);
                _dispatcher.PublishResync();
                Volatile.Write(ref _probing, 0);
                // Another reconnect while probing needs its own Resync after its own proof.
                if (Volatile.Read(ref _resyncRequests) == requestsHandled || Interlocked.CompareExchange(ref _probing, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch (Exception) when (_disposingToken.IsCancellationRequested)
        {
            // Disposed while probing.
        }
    }

    private async Task ProbeUntilDeliveredAsync(CancellationToken token)
    {
        while (true)
        {
            var probe = new PendingProbe(Guid.NewGuid().ToString("N"));
            _pendingProbe = probe;
            try
            {
                var multiplexer = await _connection.WaitAsync(token);
                await multiplexer.GetDatabase(_options.Database)
                    .PublishAsync(_channel, ChangeMessages.EncodeProbe(probe.Id))
                    .WaitOrAbandonAsync(token);
                await probe.Delivered.Task.WaitAsync(_options.AttemptTimeout, token);
                return;
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                // Whatever went wrong (down again, slow, refused), keep trying: giving up would leave
                // subscribers without their Resync.
                await Task.Delay(ProbeRetryDelay, token);
            }
            finally
            {
                _pendingProbe = null;
            }
        }
    }

    private sealed record PendingProbe(string Id)
    {
        public TaskCompletionSource Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
