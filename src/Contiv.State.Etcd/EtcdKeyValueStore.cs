using System.Text;
using Contiv.State.Etcd.Api;
using Google.Protobuf;
using Polly;

namespace Contiv.State.Etcd;

/// <summary>
/// The highly available store: an etcd v3 cluster (3 or 5 members), so the control plane survives
/// the loss of any one machine. Every call goes to one member; a member that is down, or cut off from
/// the quorum, is left for the next one.
/// </summary>
/// <remarks>
/// <para>Layout, under <see cref="EtcdStoreOptions.KeyPrefix"/> (P):</para>
/// <list type="bullet">
/// <item><c>P data/KEY</c>: the value of KEY (UTF-8). Prefix listings are one Range, notifications one
/// watch on <c>P data/</c>.</item>
/// <item><c>P receipts/ID</c>: written by commit ID in the same transaction, attached to a lease that
/// expires after a few minutes; makes a retried call whose reply was lost exactly-once.</item>
/// <item><c>P data.pool-receipts/ID</c>: the same for pool take or release ID. It sorts just before
/// <c>P data/</c>, inside the range the change watch covers, so the watch can tell a pool operation's
/// record key (not announced) from a commit's keys.</item>
/// <item><c>P pools/NAME</c>: address pool NAME, one record: first address and size (4 bytes each,
/// big-endian), then the bitmap (slot 0 is the most significant bit of the first byte).</item>
/// <item><c>P poolversions/NAME</c>: the pool's <see cref="AddressPool.Version"/> as decimal text, a key of
/// its own so a <see cref="PoolCondition"/> is a plain value compare.</item>
/// </list>
/// <para>
/// A commit is one Txn: its compares are the receipt's absence and each condition (value equal, or
/// version 0 for "absent"), its success branch the writes and the receipt, its failure branch a read
/// of the receipt, so one round trip both commits and tells a retried commit that it had already
/// applied. etcd has no server-side scripts, so a pool take is a compare-and-swap of the pool record
/// on its mod revision (see <see cref="TakeFromPoolAsync"/>).
/// </para>
/// </remarks>
public sealed partial class EtcdKeyValueStore : IKeyValueStore
{
    private readonly EtcdStoreOptions _options;
    private readonly ByteString _dataPrefix;
    private readonly string _receiptPrefix;
    private readonly ByteString _poolReceiptPrefix;
    private readonly string _poolPrefix;
    private readonly string _poolVersionPrefix;
    private readonly ResiliencePipeline _pipeline;
    private readonly EtcdEndpoints _endpoints;
    private readonly ReceiptLeases _receiptLeases;
    private readonly ChangeDispatcher _dispatcher = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly CancellationToken _disposingToken;
    private int _disposed;

    public EtcdKeyValueStore(EtcdStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _disposingToken = _disposing.Token;
        Description = options.Description;
        _dataPrefix = Bytes(options.KeyPrefix + "data/");
        _receiptPrefix = options.KeyPrefix + "receipts/";
        _poolReceiptPrefix = Bytes(options.KeyPrefix + PoolReceiptInfix);
        _poolPrefix = options.KeyPrefix + "pools/";
        _poolVersionPrefix = options.KeyPrefix + "poolversions/";
        _pipeline = BuildPipeline(options);
        _endpoints = new EtcdEndpoints(options);
        _receiptLeases = new ReceiptLeases();
    }

    public string Description { get; }

    public EtcdStoreOptions Options => _options;

    public async Task<IReadOnlyDictionary<string, string?>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckKeys(keys);
        var names = keys.Distinct(StringComparer.Ordinal).ToArray();
        var result = new Dictionary<string, string?>(names.Length, StringComparer.Ordinal);
        if (names.Length == 0)
        {
            return result;
        }

        // One read-only Txn of several Ranges is one linearizable snapshot (a revision).
        var request = new TxnRequest();
        request.Success.AddRange(names.Select(name => ReadOp(DataKey(name))));
        var response = await RunAsync((endpoint, call) => endpoint.Kv.TxnAsync(request, call).ResponseAsync, attempts: null, cancellationToken);
        for (var i = 0; i < names.Length; i++)
        {
            var kvs = response.Responses[i].ResponseRange.Kvs;
            result[names[i]] = kvs.Count == 0 ? null : kvs[0].Value.ToStringUtf8();
        }

        return result;
    }

    public async Task<IReadOnlyList<KeyValuePair<string, string>>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var from = _dataPrefix.Concat(Bytes(prefix));
        var request = new RangeRequest { Key = from, RangeEnd = PrefixEnd(from) };
        var response = await RunAsync((endpoint, call) => endpoint.Kv.RangeAsync(request, call).ResponseAsync, attempts: null, cancellationToken);
        var result = new List<KeyValuePair<string, string>>(response.Kvs.Count);
        foreach (var kv in response.Kvs)
        {
            result.Add(new KeyValuePair<string, string>(StripDataPrefix(kv.Key), kv.Value.ToStringUtf8()));
        }

        // etcd orders by UTF-8 bytes; the contract is .NET ordinal (UTF-16) order. They differ only
        // for characters beyond U+FFFF.
        result.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return result;
    }

    /// <summary>Applies the writes in one Txn conditioned on <paramref name="conditions"/>.</summary>
    /// <remarks>
    /// A commit whose reply was lost (member killed, connection dropped, attempt timed out after the
    /// request was sent) is retried with the same receipt. The Txn is also conditioned on that receipt
    /// being absent and reads it in its failure branch: if an earlier attempt applied, the retry fails
    /// its compare, sees the receipt and reports true; a still-pending earlier attempt can never apply
    /// after a retry did, as it would fail the same compare. When every attempt fails after one may
    /// have reached the cluster, <see cref="StoreUnavailableException.CommitOutcomeUnknown"/> is set.
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
        var request = new TxnRequest();
        foreach (var condition in conditions)
        {
            request.Compare.Add(condition.ExpectedValue is null
                ? VersionIs(DataKey(condition.Key), 0)
                : ValueIs(DataKey(condition.Key), condition.ExpectedValue));
        }

        foreach (var condition in poolConditions)
        {
            request.Compare.Add(condition.Version == 0
                ? VersionIs(PoolVersionKey(condition.Pool), 0)
                : ValueIs(PoolVersionKey(condition.Pool), FormatVersion(condition.Version)));
        }

        if (writes.Count == 0 && poolWrites.Count == 0)
        {
            // Nothing to apply: the answer is whether the conditions hold, which an empty Txn tells.
            var check = await RunAsync((endpoint, call) => endpoint.Kv.TxnAsync(request, call).ResponseAsync, attempts: null, cancellationToken);
            return check.Succeeded;
        }

        // etcd refuses a Txn that writes one key twice; as in the other stores the last write wins.
        var lastWrites = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var write in writes)
        {
            lastWrites[write.Key] = write.Value;
        }

        foreach (var (key, value) in lastWrites)
        {
            request.Success.Add(value is null ? DeleteOp(DataKey(key)) : PutOp(DataKey(key), Bytes(value)));
        }

        foreach (var write in poolWrites.GroupBy(w => w.Pool, StringComparer.Ordinal).Select(g => g.Last()))
        {
            if (write.Spec is { } spec)
            {
                var pool = AddressPool.Create(spec);
                request.Success.Add(PutOp(PoolKey(write.Pool), EncodePool(pool)));
                request.Success.Add(PutOp(PoolVersionKey(write.Pool), Bytes(FormatVersion(pool.Version))));
            }
            else
            {
                request.Success.Add(DeleteOp(PoolKey(write.Pool)));
                request.Success.Add(DeleteOp(PoolVersionKey(write.Pool)));
            }

            _poolCache.TryRemove(write.Pool, out _);
        }

        var receipt = NewReceiptKey();
        request.Compare.Add(VersionIs(receipt, 0));
        request.Failure.Add(ReadOp(receipt));
        var attempts = new CommitAttempts();
        var response = await RunAsync(
            async (endpoint, call) =>
            {
                var attempt = request.Clone();
                attempt.Success.Add(PutOp(receipt, Bytes("1"), await _receiptLeases.CurrentAsync(endpoint, call)));
                return await SendCommitAsync(endpoint, attempt, call, attempts);
            },
            attempts,
            cancellationToken);
        // Failed, but the receipt is there: an earlier attempt of this very commit applied.
        return response.Succeeded || response.Responses[0].ResponseRange.Kvs.Count > 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync();
        await _dispatcher.DisposeAsync();
        if (_watchLoop is { } watchLoop)
        {
            await watchLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _endpoints.Dispose();
        _receiptLeases.Dispose();
        _disposing.Dispose();
    }

    public override string ToString() => Description;

    internal static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    /// <summary>The first key after every key starting with <paramref name="prefix"/> (etcd's range_end for a prefix).</summary>
    internal static ByteString PrefixEnd(ByteString prefix)
    {
        var end = prefix.ToByteArray();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xFF)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }

        // All 0xFF (or empty): everything from the prefix on.
        return ByteString.CopyFrom(0);
    }

    private static string FormatVersion(long version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static Compare VersionIs(ByteString key, long version) =>
        new() { Key = key, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = version };

    private static Compare ValueIs(ByteString key, string value) =>
        new() { Key = key, Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Bytes(value) };

    private static Compare ModRevisionIs(ByteString key, long revision) =>
        new() { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = revision };

    private static RequestOp ReadOp(ByteString key) => new() { RequestRange = new RangeRequest { Key = key } };

    private static RequestOp PutOp(ByteString key, ByteString value, long lease = 0) =>
        new() { RequestPut = new PutRequest { Key = key, Value = value, Lease = lease } };

    private static RequestOp DeleteOp(ByteString key) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = key } };

    private ByteString DataKey(string key) => _dataPrefix.Concat(Bytes(key));

    private ByteString PoolKey(string pool) => Bytes(_poolPrefix + pool);

    private ByteString PoolVersionKey(string pool) => Bytes(_poolVersionPrefix + pool);

    private ByteString NewReceiptKey() => Bytes(_receiptPrefix + Guid.NewGuid().ToString("N"));

    private ByteString NewPoolReceiptKey() => _poolReceiptPrefix.Concat(Bytes(Guid.NewGuid().ToString("N")));

    private string StripDataPrefix(ByteString key) => Encoding.UTF8.GetString(key.Span[_dataPrefix.Length..]);

    /// <summary>Sends a Txn that writes, noting when its outcome became unknown (sent, no reply).</summary>
    private static async Task<TxnResponse> SendCommitAsync(EtcdEndpoint endpoint, TxnRequest request, Grpc.Core.CallOptions call, CommitAttempts attempts)
    {
        try
        {
            return await endpoint.Kv.TxnAsync(request, call).ResponseAsync;
        }
        catch (Grpc.Core.RpcException exception) when (exception.StatusCode == Grpc.Core.StatusCode.InvalidArgument && exception.Status.Detail.Contains("too many operations", StringComparison.Ordinal))
        {
            // Refused before anything applied: the members' --max-txn-ops (default 128) is below this commit's size.
            throw new InvalidOperationException(
                $"a commit of {request.Success.Count} operations is larger than the etcd cluster allows: run its members with --max-txn-ops {Math.Max(1024, request.Success.Count)} or more",
                exception);
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

    private sealed class CommitAttempts
    {
        /// <summary>Set once an attempt may have reached the cluster without us learning its outcome.</summary>
        public bool OutcomeUnknown { get; set; }
    }
}

internal static class ByteStringExtensions
{
    public static ByteString Concat(this ByteString first, ByteString second)
    {
        var bytes = new byte[first.Length + second.Length];
        first.Span.CopyTo(bytes);
        second.Span.CopyTo(bytes.AsSpan(first.Length));
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }
}
