using System.Globalization;
using System.Net.Sockets;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace Contiv.State;

/// <summary>
/// The multi-host store: every host's processes talk to one Redis server.
/// </summary>
/// <remarks>
/// <para>Layout, under <see cref="RedisStoreOptions.KeyPrefix"/> (P):</para>
/// <list type="bullet">
/// <item><c>P data/KEY</c>: string, the value of KEY.</item>
/// <item><c>P index</c>: sorted set of every KEY (all scores 0), so a prefix listing is one lexical range
/// (ZRANGEBYLEX) instead of a SCAN over the whole server.</item>
/// <item><c>P receipts/ID</c>: short-lived marker written by commit ID; see <see cref="TryCommitAsync"/>.</item>
/// <item><c>P changes</c>: pub/sub channel carrying, per commit, a JSON array of the keys it wrote.</item>
/// </list>
/// <para>
/// A commit is one WATCH/MULTI/EXEC transaction that writes the values, maintains the index and
/// PUBLISHes the change message, so the index never disagrees with the data and a notification is
/// sent exactly for committed writes.
/// </para>
/// <para>
/// Every operation runs through a Polly pipeline: transient failures (connection lost or refused,
/// timeouts, a server still loading its AOF) are retried with jittered exponential backoff, each
/// attempt has its own timeout, and the whole operation is capped by
/// <see cref="RedisStoreOptions.OperationTimeout"/>, after which <see cref="StoreUnavailableException"/>
/// is thrown. The connection itself is re-established in the background by StackExchange.Redis, so
/// the same store object works again once Redis is back.
/// </para>
/// </remarks>
public sealed class RedisKeyValueStore : IKeyValueStore
{
    /// <summary>Longer than any retry window (a few seconds), short enough not to pile up.</summary>
    private static readonly TimeSpan ReceiptLifetime = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan ProbeRetryDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Lists a prefix as one atomic script, so the listing is a snapshot even while others commit.
    /// KEYS[1] is the index, ARGV[1] the key prefix (empty: everything), ARGV[2] the data-key prefix.
    /// Returns a flat array key1, value1, key2, value2, ... MGET runs in batches because Lua's unpack
    /// cannot spread more than a few thousand values.
    /// </summary>
    private const string ListScript = """
        local names
        if ARGV[1] == '' then
          names = redis.call('ZRANGEBYLEX', KEYS[1], '-', '+')
        else
          names = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. ARGV[1], '(' .. ARGV[1] .. '\255')
        end
        local result = {}
        for first = 1, #names, 500 do
          local last = math.min(first + 499, #names)
          local dataKeys = {}
          for i = first, last do
            dataKeys[#dataKeys + 1] = ARGV[2] .. names[i]
          end
          local values = redis.call('MGET', unpack(dataKeys))
          for i = 1, #values do
            if values[i] then
              result[#result + 1] = names[first + i - 1]
              result[#result + 1] = values[i]
            end
          end
        end
        return result
        """;

    private readonly RedisStoreOptions _options;
    private readonly string _dataKeyPrefix;
    private readonly RedisKey _indexKey;
    private readonly string _receiptKeyPrefix;
    private readonly RedisChannel _channel;
    private readonly Task<ConnectionMultiplexer> _connection;
    private readonly ResiliencePipeline _pipeline;
    private readonly ChangeDispatcher _dispatcher = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly CancellationToken _disposingToken;
    private readonly Lock _subscribeGate = new();
    private Task? _channelSubscription;
    private volatile ChannelMessageQueue? _messages;
    private int _resyncRequests;
    private int _probing;
    private volatile PendingProbe? _pendingProbe;
    private volatile string? _lastConnectionCause;
    private int _disposed;

    public RedisKeyValueStore(RedisStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _disposingToken = _disposing.Token;
        Description = options.Description;
        _dataKeyPrefix = options.KeyPrefix + "data/";
        _indexKey = options.KeyPrefix + "index";
        _receiptKeyPrefix = options.KeyPrefix + "receipts/";
        _channel = RedisChannel.Literal(options.KeyPrefix + "changes");
        _pipeline = BuildPipeline(options);

        var attemptMs = (int)Math.Ceiling(options.AttemptTimeout.TotalMilliseconds);
        var configuration = new ConfigurationOptions
        {
            EndPoints = { options.EndPoint },
            Password = options.Password,
            DefaultDatabase = options.Database,
            ClientName = "contiv",
            // Start even when Redis is down and keep reconnecting in the background: hosts must come
            // up in any order and survive a Redis restart without being restarted themselves.
            AbortOnConnectFail = false,
            ConnectRetry = 1,
            // Operations wait for the connection within their own time limits; a connect timeout as
            // short as an attempt's fails needlessly on a loaded machine.
            ConnectTimeout = Math.Max(attemptMs, 2000),
            SyncTimeout = attemptMs,
            AsyncTimeout = attemptMs,
            // Fail commands at once while disconnected instead of queueing them: the retry pipeline
            // decides how long to wait, and a queued commit would have an unknown outcome.
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new ExponentialRetry(250, 2000),
        };
        _connection = ConnectAsync(configuration);
    }

    public string Description { get; }

    public RedisStoreOptions Options => _options;

    public async Task<IReadOnlyDictionary<string, string?>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckKeys(keys);
        var names = keys.ToArray();
        if (names.Length == 0)
        {
            return new Dictionary<string, string?>(StringComparer.Ordinal);
        }

        var dataKeys = Array.ConvertAll(names, DataKey);
        // One MGET is one atomic read, so the values form a consistent snapshot.
        var values = await RunAsync(
            (database, token) => database.StringGetAsync(dataKeys).WaitOrAbandonAsync(token),
            commit: null,
            cancellationToken);
        var result = new Dictionary<string, string?>(names.Length, StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            result[names[i]] = values[i].IsNull ? null : Decode(values[i]);
        }

        return result;
    }

    public async Task<IReadOnlyList<KeyValuePair<string, string>>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        RedisKey[] scriptKeys = [_indexKey];
        RedisValue[] scriptArguments = [prefix, _dataKeyPrefix];
        var reply = await RunAsync(
            (database, token) => database.ScriptEvaluateAsync(ListScript, scriptKeys, scriptArguments).WaitOrAbandonAsync(token),
            commit: null,
            cancellationToken);
        var flat = (RedisResult[])reply!;
        var result = new List<KeyValuePair<string, string>>(flat.Length / 2);
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            result.Add(new KeyValuePair<string, string>(flat[i].ToString(), Decode((RedisValue)flat[i + 1])));
        }

        // Redis orders by UTF-8 bytes; the contract is .NET ordinal (UTF-16) order. They differ only
        // for characters beyond U+FFFF, but sorting an already sorted list is cheap.
        result.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return result;
    }

    /// <summary>
    /// Applies the writes in one WATCH/MULTI/EXEC transaction conditioned on <paramref name="conditions"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Retrying a commit whose reply was lost (connection dropped or timed out after EXEC was sent) must
    /// not apply it twice, and must not report false for a commit that did apply: the caller would
    /// re-read, see its own write as someone else's, and e.g. allocate a second slot, leaking the first.
    /// So every commit also writes a unique receipt key, and is conditioned on that receipt being
    /// absent. After an attempt with an unknown outcome, the next attempt first checks the receipt: if
    /// present, the earlier attempt committed and the result is true. If the earlier EXEC is somehow
    /// still pending at the server, it will fail its receipt condition once a retry has committed, so
    /// it can never apply in addition. Attempts rejected before anything was sent (no connection) leave
    /// the outcome known.
    /// </para>
    /// <para>
    /// When every attempt fails and one of them may have reached the server, the
    /// <see cref="StoreUnavailableException"/> has <see cref="StoreUnavailableException.CommitOutcomeUnknown"/>
    /// set: the commit may have been applied, exactly once. Callers that run a
    /// <see cref="StoreTransaction"/> simply run it again: its conditions see the new state.
    /// </para>
    /// </remarks>
    public async Task<bool> TryCommitAsync(IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckCommit(conditions, writes);
        if (writes.Count == 0)
        {
            // Nothing to apply: the answer is whether the conditions hold, read as one snapshot.
            var current = await GetAsync(conditions.Select(c => c.Key).Distinct(StringComparer.Ordinal).ToList(), cancellationToken);
            return conditions.All(c => current[c.Key] == c.ExpectedValue);
        }

        var attempts = new CommitAttempts(
            receipt: _receiptKeyPrefix + Guid.NewGuid().ToString("N"),
            message: ChangeMessages.EncodeKeys(StoreArguments.WrittenKeys(writes)));
        return await RunAsync((database, token) => CommitOnceAsync(database, conditions, writes, attempts, token), attempts, cancellationToken);
    }

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

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync();
        await _dispatcher.DisposeAsync();
        try
        {
            var multiplexer = await _connection;
            multiplexer.ConnectionRestored -= OnConnectionRestored;
            multiplexer.ConnectionFailed -= OnConnectionFailed;
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            await multiplexer.DisposeAsync();
        }
        catch (Exception)
        {
            // The connection never came up or is already broken: nothing left to release.
        }

        _disposing.Dispose();
    }

    public override string ToString() => Description;

    private static ResiliencePipeline BuildPipeline(RedisStoreOptions options)
    {
        var builder = new ResiliencePipelineBuilder().AddTimeout(options.OperationTimeout);
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(1),
            });
        }

        return builder.AddTimeout(options.AttemptTimeout).Build();
    }

    /// <summary>Failures worth retrying: the server may answer the same request a moment later.</summary>
    private static bool IsTransient(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException or SocketException or IOException or TimeoutRejectedException => true,
        // A restarted server answers LOADING while it replays its append-only file.
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// True when the client refused the command without sending it: with <see cref="BacklogPolicy.FailFast"/>
    /// that is "No connection is active/available", UnableToResolvePhysicalConnection.
    /// </summary>
    private static bool WasRejectedBeforeSending(Exception exception) =>
        exception is RedisConnectionException { FailureType: ConnectionFailureType.UnableToResolvePhysicalConnection or ConnectionFailureType.UnableToConnect };

    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private RedisKey DataKey(string key) => _dataKeyPrefix + key;

    /// <summary>
    /// Values are stored behind a one-character marker. StackExchange.Redis compares a condition's
    /// expected value with the stored one numerically whenever both parse as numbers ("1,6" never
    /// equalled itself; "1.50" equalled "1.500"), so a stored value must never look like a number.
    /// </summary>
    private const char ValueMarker = 'v';

    private static RedisValue Encode(string value) => ValueMarker + value;

    private static string Decode(RedisValue stored)
    {
        var text = stored.ToString();
        return text.Length > 0 && text[0] == ValueMarker ? text[1..] : text;
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        return multiplexer;
    }

    private async Task<bool> CommitOnceAsync(IDatabase database, IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes, CommitAttempts attempts, CancellationToken token)
    {
        if (attempts.OutcomeUnknown && await database.KeyExistsAsync(attempts.Receipt).WaitOrAbandonAsync(token))
        {
            return true;
        }

        var transaction = database.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(attempts.Receipt));
        foreach (var condition in conditions)
        {
            var dataKey = DataKey(condition.Key);
            transaction.AddCondition(condition.ExpectedValue is null
                ? Condition.KeyNotExists(dataKey)
                : Condition.StringEqual(dataKey, Encode(condition.ExpectedValue)));
        }

        var queued = new List<Task>(writes.Count * 2 + 2);
        foreach (var write in writes)
        {
            if (write.Value is null)
            {
                queued.Add(transaction.KeyDeleteAsync(DataKey(write.Key)));
                queued.Add(transaction.SortedSetRemoveAsync(_indexKey, write.Key));
            }
            else
            {
                queued.Add(transaction.StringSetAsync(DataKey(write.Key), Encode(write.Value)));
                queued.Add(transaction.SortedSetAddAsync(_indexKey, write.Key, 0));
            }
        }

        queued.Add(transaction.StringSetAsync(attempts.Receipt, "1", ReceiptLifetime));
        queued.Add(transaction.PublishAsync(_channel, attempts.Message));
        // The queued commands' own tasks fault when the connection drops; observe them so they do not
        // surface later as unobserved exceptions. ExecuteAsync reports the outcome.
        Observe(Task.WhenAll(queued));

        bool committed;
        try
        {
            committed = await transaction.ExecuteAsync().WaitOrAbandonAsync(token);
        }
        catch (Exception exception)
        {
            if (!WasRejectedBeforeSending(exception))
            {
                attempts.OutcomeUnknown = true;
            }

            throw;
        }

        if (!committed && attempts.OutcomeUnknown)
        {
            // The conditions failed: possibly because an earlier attempt of this very commit applied.
            return await database.KeyExistsAsync(attempts.Receipt).WaitOrAbandonAsync(token);
        }

        return committed;
    }

    private async Task<T> RunAsync<T>(Func<IDatabase, CancellationToken, Task<T>> operation, CommitAttempts? commit, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            return await _pipeline.ExecuteAsync(
                async token =>
                {
                    var multiplexer = await _connection.WaitAsync(token);
                    return await operation(multiplexer.GetDatabase(_options.Database), token);
                },
                cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && (IsTransient(exception) || exception is OperationCanceledException))
        {
            throw new StoreUnavailableException($"state store {Description} is unreachable: {DescribeFailure(exception)}", exception)
            {
                CommitOutcomeUnknown = commit?.OutcomeUnknown ?? false,
            };
        }
    }

    private string DescribeFailure(Exception exception)
    {
        switch (exception)
        {
            case TimeoutRejectedException:
                return string.Create(CultureInfo.InvariantCulture, $"no answer within {_options.OperationTimeout.TotalSeconds:0.#} s");
            case RedisTimeoutException:
                return "timed out waiting for a reply";
            case RedisServerException:
                return exception.Message;
        }

        // "No connection available" wraps the real cause (e.g. UnableToConnect); the library's messages
        // are long diagnostic dumps, so describe the deepest failure type and any socket error instead.
        RedisConnectionException? deepest = null;
        string? socketError = null;
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is RedisConnectionException connection)
            {
                deepest = connection;
            }
            else if (current is SocketException or IOException)
            {
                socketError ??= current.Message;
            }
        }

        if (deepest is null)
        {
            return FirstClause(exception.Message);
        }

        var reason = deepest.FailureType switch
        {
            ConnectionFailureType.UnableToConnect => "cannot connect",
            ConnectionFailureType.UnableToResolvePhysicalConnection => "not connected",
            ConnectionFailureType.SocketClosed => "connection closed",
            ConnectionFailureType.SocketFailure => "connection failed",
            ConnectionFailureType.AuthenticationFailure => "authentication failed",
            _ => "connection problem",
        };
        var cause = socketError ?? _lastConnectionCause;
        return cause is null ? $"{reason} ({deepest.FailureType})" : $"{reason} ({deepest.FailureType}): {cause}";
    }

    private static string FirstClause(string message)
    {
        var end = message.IndexOf("; ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        // The socket error (e.g. "Connection refused") when the library has one.
        if (e.Exception?.InnerException is { } cause and not RedisException)
        {
            _lastConnectionCause = cause.Message;
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _lastConnectionCause = null;
        // Messages published while we were disconnected are lost: tell subscribers to re-read. (Before
        // the first successful subscription, KeepSubscribingAsync sends the Resync.)
        if (_messages is not null)
        {
            RequestResync();
        }
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

    private sealed class CommitAttempts(RedisKey receipt, byte[] message)
    {
        public RedisKey Receipt { get; } = receipt;

        public byte[] Message { get; } = message;

        /// <summary>Set once an attempt may have reached the server without us learning its outcome.</summary>
        public bool OutcomeUnknown { get; set; }
    }

    private sealed record PendingProbe(string Id)
    {
        public TaskCompletionSource Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

internal static class TaskCancellationExtensions
{
    /// <summary>
    /// Awaits a task that cannot itself be cancelled (StackExchange.Redis takes no tokens), giving up
    /// when <paramref name="token"/> fires. The abandoned task still completes later; its fault is observed.
    /// </summary>
    public static async Task<T> WaitOrAbandonAsync<T>(this Task<T> task, CancellationToken token)
    {
        try
        {
            return await task.WaitAsync(token);
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }
}
