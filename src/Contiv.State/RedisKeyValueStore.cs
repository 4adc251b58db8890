using Polly;
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
public sealed partial class RedisKeyValueStore : IKeyValueStore
{
    /// <summary>Longer than any retry window (a few seconds), short enough not to pile up.</summary>
    private static readonly TimeSpan ReceiptLifetime = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan ProbeRetryDelay = TimeSpan.FromMilliseconds(250);

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
}
