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
/// <item><c>P receipts/ID</c>: short-lived marker written by commit ID; see <see cref="TryCommitAsync(IReadOnlyList{KeyCondition}, IReadOnlyList{KeyWrite}, CancellationToken)"/>.</item>
/// <item><c>P changes</c>: pub/sub channel carrying, per commit, a JSON array of the keys it wrote.</item>
/// <item><c>P pools/NAME</c>: string, address pool NAME's bitmap (Redis bit order: slot 0 is the first bit),
/// and <c>P poolmeta/NAME</c>: hash of its <c>first</c> address, <c>size</c> and <c>version</c>.</item>
/// </list>
/// <para>
/// Taking or releasing a pool slot is one Lua script (BITPOS/GETBIT, SETBIT, the record key and its
/// index entry, a receipt): one round trip, atomic, and never in conflict with another host's take.
/// </para>
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

    /// <summary>
    /// Takes a pool slot. KEYS: meta, bits, receipt, index. ARGV: requested slot ('' for the lowest
    /// free), record key prefix ('' for none), encoded record value, data-key prefix, receipt lifetime
    /// (ms). Returns {outcome, slot, first, size}, outcome 0 taken, 1 unavailable, 2 exhausted, 3 no pool.
    /// A receipt (slot:first:size) makes a retried call return the slot the first call took.
    /// </summary>
    private const string TakeScript = """
        local done = redis.call('GET', KEYS[3])
        if done then
          local slot, first, size = string.match(done, '^(%d+):(%d+):(%d+)$')
          return {0, tonumber(slot), tonumber(first), tonumber(size)}
        end
        local meta = redis.call('HMGET', KEYS[1], 'first', 'size')
        if not meta[1] then
          return {3, -1, 0, 0}
        end
        local first = tonumber(meta[1])
        local size = tonumber(meta[2])
        local slot
        if ARGV[1] == '' then
          slot = redis.call('BITPOS', KEYS[2], 0)
          if slot < 0 or slot >= size then
            return {2, -1, first, size}
          end
        else
          slot = tonumber(ARGV[1])
          if slot >= size or redis.call('GETBIT', KEYS[2], slot) == 1 then
            return {1, slot, first, size}
          end
        end
        redis.call('SETBIT', KEYS[2], slot, 1)
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        if ARGV[2] ~= '' then
          local a = first + slot
          local name = ARGV[2] .. string.format('%d.%d.%d.%d', math.floor(a / 16777216) % 256, math.floor(a / 65536) % 256, math.floor(a / 256) % 256, a % 256)
          redis.call('SET', ARGV[4] .. name, ARGV[3])
          redis.call('ZADD', KEYS[4], 0, name)
        end
        redis.call('SET', KEYS[3], string.format('%d:%d:%d', slot, first, size), 'PX', ARGV[5])
        return {0, slot, first, size}
        """;

    /// <summary>
    /// Frees a pool slot. KEYS: meta, bits, receipt, index. ARGV: slot, record key ('' for none),
    /// data-key prefix, receipt lifetime (ms). Returns 1 when the slot was taken (and is now free),
    /// else 0. The receipt keeps a retried call from freeing the slot again after another host took it.
    /// </summary>
    private const string ReleaseScript = """
        local done = redis.call('GET', KEYS[3])
        if done then
          return tonumber(done)
        end
        local size = redis.call('HGET', KEYS[1], 'size')
        local slot = tonumber(ARGV[1])
        if not size or slot >= tonumber(size) or redis.call('GETBIT', KEYS[2], slot) == 0 then
          return 0
        end
        redis.call('SETBIT', KEYS[2], slot, 0)
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        if ARGV[2] ~= '' then
          redis.call('DEL', ARGV[3] .. ARGV[2])
          redis.call('ZREM', KEYS[4], ARGV[2])
        end
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
        return 1
        """;

    /// <summary>Reads a pool as one snapshot. KEYS: meta, bits. Returns {first, size, version, bits} or an empty array.</summary>
    private const string GetPoolScript = """
        local meta = redis.call('HMGET', KEYS[1], 'first', 'size', 'version')
        if not meta[1] then
          return {}
        end
        return {meta[1], meta[2], meta[3], redis.call('GET', KEYS[2]) or ''}
        """;

    private readonly RedisStoreOptions _options;
    private readonly string _dataKeyPrefix;
    private readonly RedisKey _indexKey;
    private readonly string _receiptKeyPrefix;
    private readonly string _poolKeyPrefix;
    private readonly string _poolMetaKeyPrefix;
    private readonly long _poolReceiptLifetimeMs;
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
        _poolKeyPrefix = options.KeyPrefix + "pools/";
        _poolMetaKeyPrefix = options.KeyPrefix + "poolmeta/";
        // A pool receipt only has to outlive the retries of its own call (bounded by OperationTimeout);
        // allocations are frequent, so they do not get the commits' two minutes.
        _poolReceiptLifetimeMs = (long)Math.Max(10_000, 3 * (options.OperationTimeout + options.AttemptTimeout).TotalMilliseconds);
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
    public Task<bool> TryCommitAsync(IReadOnlyList<KeyCondition> conditions, IReadOnlyList<KeyWrite> writes, CancellationToken cancellationToken = default) =>
        TryCommitAsync(conditions, writes, [], [], cancellationToken);

    /// <inheritdoc cref="TryCommitAsync(IReadOnlyList{KeyCondition}, IReadOnlyList{KeyWrite}, CancellationToken)"/>
    public async Task<bool> TryCommitAsync(
        IReadOnlyList<KeyCondition> conditions,
        IReadOnlyList<KeyWrite> writes,
        IReadOnlyList<PoolCondition> poolConditions,
        IReadOnlyList<PoolWrite> poolWrites,
        CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckCommit(conditions, writes);
        StoreArguments.CheckPools(poolConditions, poolWrites);
        if (writes.Count == 0 && poolWrites.Count == 0)
        {
            // Nothing to apply: the answer is whether the conditions hold, read as one snapshot.
            var current = await GetAsync(conditions.Select(c => c.Key).Distinct(StringComparer.Ordinal).ToList(), cancellationToken);
            if (!conditions.All(c => current[c.Key] == c.ExpectedValue))
            {
                return false;
            }

            foreach (var condition in poolConditions)
            {
                if ((await GetPoolAsync(condition.Pool, cancellationToken))?.Version is var version && (version ?? 0) != condition.Version)
                {
                    return false;
                }
            }

            return true;
        }

        var attempts = new CommitAttempts(
            receipt: _receiptKeyPrefix + Guid.NewGuid().ToString("N"),
            message: ChangeMessages.EncodeKeys(StoreArguments.WrittenKeys(writes)));
        var commit = new PendingCommit(conditions, writes, poolConditions, poolWrites);
        return await RunAsync((database, token) => CommitOnceAsync(database, commit, attempts, token), attempts, cancellationToken);
    }

    public async Task<PoolTakeResult> TakeFromPoolAsync(PoolTake take, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckTake(take);
        RedisKey[] keys = [PoolMetaKey(take.Pool), PoolKey(take.Pool), _receiptKeyPrefix + Guid.NewGuid().ToString("N"), _indexKey];
        RedisValue[] arguments =
        [
            take.Slot is { } slot ? slot : RedisValue.EmptyString,
            take.RecordKeyPrefix ?? string.Empty,
            take.RecordValue is null ? RedisValue.EmptyString : Encode(take.RecordValue),
            _dataKeyPrefix,
            _poolReceiptLifetimeMs,
        ];
        var attempts = new CommitAttempts(keys[2], []);
        var reply = await RunAsync((database, token) => EvaluatePoolScriptAsync(database, TakeScript, keys, arguments, attempts, token), attempts, cancellationToken);
        var parts = (RedisResult[])reply!;
        var outcome = (int)parts[0] switch
        {
            0 => PoolTakeOutcome.Taken,
            1 => PoolTakeOutcome.Unavailable,
            2 => PoolTakeOutcome.Exhausted,
            _ => PoolTakeOutcome.NoPool,
        };
        return new PoolTakeResult(outcome, (int)parts[1], (uint)(long)parts[2], (int)parts[3]);
    }

    public async Task<bool> ReleaseToPoolAsync(PoolRelease release, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckRelease(release);
        RedisKey[] keys = [PoolMetaKey(release.Pool), PoolKey(release.Pool), _receiptKeyPrefix + Guid.NewGuid().ToString("N"), _indexKey];
        RedisValue[] arguments = [release.Slot, release.RecordKey ?? string.Empty, _dataKeyPrefix, _poolReceiptLifetimeMs];
        var attempts = new CommitAttempts(keys[2], []);
        var reply = await RunAsync((database, token) => EvaluatePoolScriptAsync(database, ReleaseScript, keys, arguments, attempts, token), attempts, cancellationToken);
        return (int)reply == 1;
    }

    public async Task<AddressPool?> GetPoolAsync(string pool, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckKeys([pool]);
        RedisKey[] keys = [PoolMetaKey(pool), PoolKey(pool)];
        var reply = await RunAsync(
            (database, token) => database.ScriptEvaluateAsync(GetPoolScript, keys).WaitOrAbandonAsync(token),
            commit: null,
            cancellationToken);
        var parts = (RedisResult[])reply!;
        if (parts.Length == 0)
        {
            return null;
        }

        var size = (int)parts[1];
        var bits = (byte[])parts[3]! ?? [];
        // SETBIT never shortens the string and creation writes it whole, so a shorter one means corruption.
        if (bits.Length != AddressPool.ByteLength(size))
        {
            throw new InvalidDataException($"address pool {pool} in {Description} has a {bits.Length}-byte bitmap for {size} slots");
        }

        return new AddressPool((uint)(long)parts[0], size, (long)parts[2], bits);
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

    private RedisKey PoolKey(string pool) => _poolKeyPrefix + pool;

    private RedisKey PoolMetaKey(string pool) => _poolMetaKeyPrefix + pool;

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

    private async Task<bool> CommitOnceAsync(IDatabase database, PendingCommit commit, CommitAttempts attempts, CancellationToken token)
    {
        if (attempts.OutcomeUnknown && await database.KeyExistsAsync(attempts.Receipt).WaitOrAbandonAsync(token))
        {
            return true;
        }

        var transaction = database.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(attempts.Receipt));
        foreach (var condition in commit.Conditions)
        {
            var dataKey = DataKey(condition.Key);
            transaction.AddCondition(condition.ExpectedValue is null
                ? Condition.KeyNotExists(dataKey)
                : Condition.StringEqual(dataKey, Encode(condition.ExpectedValue)));
        }

        foreach (var condition in commit.PoolConditions)
        {
            transaction.AddCondition(condition.Version == 0
                ? Condition.KeyNotExists(PoolMetaKey(condition.Pool))
                : Condition.HashEqual(PoolMetaKey(condition.Pool), "version", condition.Version));
        }

        var queued = new List<Task>(commit.Writes.Count * 2 + commit.PoolWrites.Count * 3 + 2);
        foreach (var write in commit.Writes)
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

        foreach (var write in commit.PoolWrites)
        {
            queued.Add(transaction.KeyDeleteAsync([PoolKey(write.Pool), PoolMetaKey(write.Pool)]));
            if (write.Spec is { } spec)
            {
                var pool = AddressPool.Create(spec);
                queued.Add(transaction.StringSetAsync(PoolKey(write.Pool), pool.Bits));
                queued.Add(transaction.HashSetAsync(PoolMetaKey(write.Pool), [new("first", pool.FirstAddress), new("size", pool.Size), new("version", pool.Version)]));
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

    /// <summary>Runs a pool script once, noting when its outcome became unknown (sent, no reply).</summary>
    private static async Task<RedisResult> EvaluatePoolScriptAsync(IDatabase database, string script, RedisKey[] keys, RedisValue[] arguments, CommitAttempts attempts, CancellationToken token)
    {
        try
        {
            return await database.ScriptEvaluateAsync(script, keys, arguments).WaitOrAbandonAsync(token);
        }
        catch (Exception exception)
        {
            if (!WasRejectedBeforeSending(exception))
            {
                attempts.OutcomeUnknown = true;
            }

            throw;
        }
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

    private sealed record PendingCommit(
        IReadOnlyList<KeyCondition> Conditions,
        IReadOnlyList<KeyWrite> Writes,
        IReadOnlyList<PoolCondition> PoolConditions,
        IReadOnlyList<PoolWrite> PoolWrites);

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
