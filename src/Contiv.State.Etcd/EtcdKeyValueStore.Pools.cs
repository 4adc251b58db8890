using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using Contiv.State.Etcd.Api;
using Google.Protobuf;
using Grpc.Core;

namespace Contiv.State.Etcd;

/// <summary>Address pools: one record per pool, taken from and released to by compare-and-swap.</summary>
public sealed partial class EtcdKeyValueStore
{
    /// <summary>The last version of each pool this store read or wrote, with the record's mod revision.</summary>
    private readonly ConcurrentDictionary<string, CachedPool> _poolCache = new(StringComparer.Ordinal);

    /// <summary>
    /// One take or release per pool at a time in this process: callers here would otherwise race each
    /// other's compare-and-swap, and every lost race is a Txn through the quorum too. Queued behind
    /// each other they start from the version the previous one wrote, one Txn each.
    /// </summary>
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _poolGates = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes a slot by compare-and-swap of the pool record: one Txn compares the record's mod revision
    /// with the one this store last saw (and the call's receipt's absence), writes the new bitmap, the
    /// version, the record key and the receipt on success, and on failure reads back the receipt, the
    /// record and its version, so a lost race costs one more round trip and no extra read.
    /// </summary>
    /// <remarks>
    /// etcd runs no scripts, so this is the shape a single round trip can have: with the pool cached
    /// (every take after the first, while no other process takes from it) a take is one Txn; processes
    /// taking from the same pool at once serialise on its record, each lost race one more Txn, up to
    /// <see cref="EtcdStoreOptions.MaxPoolConflicts"/>. Each take writes the whole bitmap (size/8 bytes:
    /// 32 for a /24, 8 KiB for a /16) into etcd's log. Per-address keys would avoid that, but finding
    /// the lowest free address would then be a range read before every take.
    /// The receipt makes a retried call whose first reply was lost return that call's slot.
    /// </remarks>
    public async Task<PoolTakeResult> TakeFromPoolAsync(PoolTake take, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckTake(take);
        using var turn = await WaitForPoolTurnAsync(take.Pool, cancellationToken);
        var receipt = NewPoolReceiptKey();
        var attempts = new CommitAttempts();
        _poolCache.TryGetValue(take.Pool, out var cached);
        for (var conflicts = 0; ; conflicts++)
        {
            if (cached is null)
            {
                var read = await ReadPoolAsync(take.Pool, receipt, cancellationToken);
                if (read.Receipt is { } done)
                {
                    return DecodeTakeReceipt(done);
                }

                cached = read.Pool;
                if (cached is null)
                {
                    return new PoolTakeResult(PoolTakeOutcome.NoPool, -1, 0, 0);
                }
            }

            var (result, next, record) = PoolSteps.Take(cached.Pool, take);
            if (next is null)
            {
                if (cached.IsFresh)
                {
                    return result;
                }

                // Decided on a cached version: only a fresh read may say "taken" or "exhausted".
                cached = null;
                continue;
            }

            var request = new TxnRequest();
            request.Compare.Add(ModRevisionIs(PoolKey(take.Pool), cached.ModRevision));
            request.Compare.Add(VersionIs(receipt, 0));
            request.Success.Add(PutOp(PoolKey(take.Pool), EncodePool(next)));
            request.Success.Add(PutOp(PoolVersionKey(take.Pool), Bytes(FormatVersion(next.Version))));
            if (record is { } write)
            {
                request.Success.Add(PutOp(DataKey(write.Key), Bytes(write.Value!)));
            }

            var receiptValue = string.Create(CultureInfo.InvariantCulture, $"{result.Slot}:{result.FirstAddress}:{result.Size}");
            AddPoolReads(request.Failure, take.Pool, receipt);
            var response = await RunAsync(
                async (endpoint, call) =>
                {
                    var attempt = request.Clone();
                    attempt.Success.Add(PutOp(receipt, Bytes(receiptValue), await _receiptLeases.CurrentAsync(endpoint, call)));
                    return await SendCommitAsync(endpoint, attempt, call, attempts);
                },
                attempts,
                cancellationToken);
            if (response.Succeeded)
            {
                Remember(take.Pool, new CachedPool(next, response.Header.Revision, IsFresh: false));
                return result;
            }

            var fresh = ParsePoolReads(take.Pool, response.Responses);
            if (fresh.Receipt is { } applied)
            {
                return DecodeTakeReceipt(applied);
            }

            cached = fresh.Pool;
            if (cached is null)
            {
                return new PoolTakeResult(PoolTakeOutcome.NoPool, -1, 0, 0);
            }

            CheckConflicts(take.Pool, conflicts);
        }
    }

    public async Task<bool> ReleaseToPoolAsync(PoolRelease release, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckRelease(release);
        using var turn = await WaitForPoolTurnAsync(release.Pool, cancellationToken);
        var receipt = NewPoolReceiptKey();
        var attempts = new CommitAttempts();
        _poolCache.TryGetValue(release.Pool, out var cached);
        for (var conflicts = 0; ; conflicts++)
        {
            if (cached is null)
            {
                var read = await ReadPoolAsync(release.Pool, receipt, cancellationToken);
                if (read.Receipt is not null)
                {
                    return true;
                }

                cached = read.Pool;
                if (cached is null)
                {
                    return false;
                }
            }

            if (release.Slot >= cached.Pool.Size || !cached.Pool.IsTaken(release.Slot))
            {
                if (cached.IsFresh)
                {
                    return false;
                }

                cached = null;
                continue;
            }

            var next = cached.Pool.With(release.Slot, taken: false);
            var request = new TxnRequest();
            request.Compare.Add(ModRevisionIs(PoolKey(release.Pool), cached.ModRevision));
            request.Compare.Add(VersionIs(receipt, 0));
            request.Success.Add(PutOp(PoolKey(release.Pool), EncodePool(next)));
            request.Success.Add(PutOp(PoolVersionKey(release.Pool), Bytes(FormatVersion(next.Version))));
            if (release.RecordKey is { } recordKey)
            {
                request.Success.Add(DeleteOp(DataKey(recordKey)));
            }

            AddPoolReads(request.Failure, release.Pool, receipt);
            var response = await RunAsync(
                async (endpoint, call) =>
                {
                    var attempt = request.Clone();
                    attempt.Success.Add(PutOp(receipt, Bytes("1"), await _receiptLeases.CurrentAsync(endpoint, call)));
                    return await SendCommitAsync(endpoint, attempt, call, attempts);
                },
                attempts,
                cancellationToken);
            if (response.Succeeded)
            {
                Remember(release.Pool, new CachedPool(next, response.Header.Revision, IsFresh: false));
                return true;
            }

            var fresh = ParsePoolReads(release.Pool, response.Responses);
            if (fresh.Receipt is not null)
            {
                return true;
            }

            cached = fresh.Pool;
            if (cached is null)
            {
                return false;
            }

            CheckConflicts(release.Pool, conflicts);
        }
    }

    public async Task<AddressPool?> GetPoolAsync(string pool, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckKeys([pool]);
        var read = await ReadPoolAsync(pool, receipt: null, cancellationToken);
        return read.Pool?.Pool;
    }

    private static ByteString EncodePool(AddressPool pool)
    {
        var bits = pool.Bits;
        var bytes = new byte[8 + bits.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, pool.FirstAddress);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), pool.Size);
        bits.CopyTo(bytes, 8);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static PoolTakeResult DecodeTakeReceipt(string receipt)
    {
        var parts = receipt.Split(':');
        return new PoolTakeResult(
            PoolTakeOutcome.Taken,
            int.Parse(parts[0], CultureInfo.InvariantCulture),
            uint.Parse(parts[1], CultureInfo.InvariantCulture),
            int.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Gives up after too many lost races. There is no pause between attempts: the failed Txn brought
    /// the newest version back, and waiting would only let it go stale (a caller that paused kept
    /// losing to callers that did not).
    /// </summary>
    private void CheckConflicts(string pool, int conflicts)
    {
        if (conflicts + 1 >= _options.MaxPoolConflicts)
        {
            throw new StoreConflictException($"address pool {pool} in {Description}: lost {conflicts + 1} compare-and-swap races in a row");
        }
    }

    /// <summary>Reads (as one Txn) the receipt, when given, the pool record and its version.</summary>
    private async Task<PoolRead> ReadPoolAsync(string pool, ByteString? receipt, CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        AddPoolReads(request.Success, pool, receipt);
        var response = await RunAsync((endpoint, call) => endpoint.Kv.TxnAsync(request, call).ResponseAsync, attempts: null, cancellationToken);
        return ParsePoolReads(pool, response.Responses, hasReceipt: receipt is not null);
    }

    private void AddPoolReads(Google.Protobuf.Collections.RepeatedField<RequestOp> operations, string pool, ByteString? receipt)
    {
        // Receipt first (when there is one), then the record, then its version.
        operations.Add(ReadOp(receipt ?? PoolVersionKey(pool)));
        operations.Add(ReadOp(PoolKey(pool)));
        operations.Add(ReadOp(PoolVersionKey(pool)));
    }

    private PoolRead ParsePoolReads(string pool, Google.Protobuf.Collections.RepeatedField<ResponseOp> responses, bool hasReceipt = true)
    {
        var receiptKvs = responses[0].ResponseRange.Kvs;
        var receipt = hasReceipt && receiptKvs.Count > 0 ? receiptKvs[0].Value.ToStringUtf8() : null;
        var recordKvs = responses[1].ResponseRange.Kvs;
        var versionKvs = responses[2].ResponseRange.Kvs;
        if (recordKvs.Count == 0 || versionKvs.Count == 0)
        {
            _poolCache.TryRemove(pool, out _);
            return new PoolRead(receipt, null);
        }

        var record = recordKvs[0];
        var bytes = record.Value.Span;
        var version = long.Parse(versionKvs[0].Value.ToStringUtf8(), CultureInfo.InvariantCulture);
        var size = bytes.Length >= 8 ? BinaryPrimitives.ReadInt32BigEndian(bytes[4..]) : -1;
        if (size is < 1 or > AddressPoolSpec.MaxSize || bytes.Length - 8 != AddressPool.ByteLength(size))
        {
            throw new InvalidDataException($"address pool {pool} in {Description} has a {bytes.Length}-byte record");
        }

        var addressPool = new AddressPool(BinaryPrimitives.ReadUInt32BigEndian(bytes), size, version, bytes[8..].ToArray());
        var cached = new CachedPool(addressPool, record.ModRevision, IsFresh: true);
        Remember(pool, cached with { IsFresh = false });
        return new PoolRead(receipt, cached);
    }

    /// <summary>Waits (bounded: never longer than a few operations) until no other call of this process works on the pool.</summary>
    private async Task<PoolTurn> WaitForPoolTurnAsync(string pool, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var gate = _poolGates.GetOrAdd(pool, static _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(3 * (_options.OperationTimeout + _options.AttemptTimeout), cancellationToken))
        {
            throw new StoreUnavailableException($"state store {Description} is unreachable: earlier calls on address pool {pool} did not finish in time");
        }

        return new PoolTurn(gate);
    }

    /// <summary>Caches a pool version unless a newer one (written or read by a concurrent call) is there.</summary>
    private void Remember(string pool, CachedPool version) =>
        _poolCache.AddOrUpdate(pool, version, (_, current) => current.ModRevision > version.ModRevision ? current : version);

    /// <summary>A pool version and its record's mod revision; fresh when just read from the cluster (not from cache).</summary>
    private sealed record CachedPool(AddressPool Pool, long ModRevision, bool IsFresh);

    private readonly record struct PoolRead(string? Receipt, CachedPool? Pool);

    private readonly struct PoolTurn(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}

/// <summary>
/// The lease receipts are attached to, so they disappear by themselves a few minutes after their call.
/// One lease serves every receipt of a minute (a grant is a round trip through the quorum).
/// </summary>
internal sealed class ReceiptLeases : IDisposable
{
    /// <summary>Far longer than any call's retries (seconds); receipts live between this and this plus <see cref="Renewal"/>.</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(3);

    private static readonly TimeSpan Renewal = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _granting = new(1, 1);
    private volatile LeaseGrant? _current;

    public async Task<long> CurrentAsync(EtcdEndpoint endpoint, CallOptions call)
    {
        if (_current is { } lease && lease.Age.Elapsed < Renewal)
        {
            return lease.Id;
        }

        await _granting.WaitAsync(call.CancellationToken);
        try
        {
            if (_current is { } granted && granted.Age.Elapsed < Renewal)
            {
                return granted.Id;
            }

            var response = await endpoint.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Lifetime.TotalSeconds }, call);
            _current = new LeaseGrant(response.ID, System.Diagnostics.Stopwatch.StartNew());
            return response.ID;
        }
        finally
        {
            _granting.Release();
        }
    }

    /// <summary>The cluster no longer knows the lease: grant a new one on the next call.</summary>
    public void Drop() => _current = null;

    public void Dispose() => _granting.Dispose();

    private sealed record LeaseGrant(long Id, System.Diagnostics.Stopwatch Age);
}
