namespace Contiv.State;

/// <summary>Tuning for <see cref="EmbeddedKeyValueStore"/>.</summary>
public sealed record EmbeddedStoreOptions
{
    /// <summary>How often subscribers check the data file for commits made by other store instances.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a commit waits for the lock before <see cref="StoreUnavailableException"/>. Commits hold
    /// it for milliseconds, so reaching this means a process is stuck (e.g. stopped) while holding it.
    /// </summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The single-host store: no server, just a directory that several processes on one host (netmaster,
/// netplugin, netctl) share.
/// </summary>
/// <remarks>
/// <para>
/// The directory holds <see cref="DataFileName"/> (every key and value, plus a generation counter) and
/// <see cref="LockFileName"/>. A commit takes an exclusive flock on the lock file, re-reads the data
/// file, checks the conditions and replaces the file crash-safely (temporary file, fsync, rename,
/// fsync of the directory). Reads take no lock: the rename makes every opened file one complete
/// version. flock locks belong to open files, so the kernel releases a crashed process's lock.
/// </para>
/// <para>
/// Notifications: subscribers of this instance hear about its commits at once; commits by other
/// instances (other processes) are found by polling the file's generation every
/// <see cref="EmbeddedStoreOptions.PollInterval"/> (a read of its first few hundred bytes) and diffing
/// against the last version seen, so what is reported is exactly the keys whose values changed.
/// </para>
/// </remarks>
public sealed class EmbeddedKeyValueStore : IKeyValueStore
{
    public const string DataFileName = "state.json";
    public const string LockFileName = "state.lock";

    private readonly EmbeddedStoreOptions _options;
    private readonly string _dataPath;
    private readonly string _lockPath;
    private readonly SemaphoreSlim _commitGate = new(1, 1);
    private readonly ChangeDispatcher _dispatcher = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _watchGate = new();
    private volatile EmbeddedSnapshot? _cache;
    private EmbeddedSnapshot? _lastNotified;
    private Task? _watcher;
    private int _disposed;

    public EmbeddedKeyValueStore(string directory, EmbeddedStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _options = options ?? new EmbeddedStoreOptions();
        Directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(Directory);
        _dataPath = Path.Combine(Directory, DataFileName);
        _lockPath = Path.Combine(Directory, LockFileName);
        // Fail now, not at the first commit, when the directory is not writable.
        NativeFile.Close(NativeFile.OpenLockFile(_lockPath));
        Description = "embedded://" + Directory;
    }

    public string Description { get; }

    /// <summary>The state directory (absolute).</summary>
    public string Directory { get; }

    public Task<IReadOnlyDictionary<string, string?>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckKeys(keys);
        var snapshot = ReadSnapshot();
        var result = new Dictionary<string, string?>(keys.Count, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            result[key] = snapshot.Entries.GetValueOrDefault(key);
        }

        return Task.FromResult<IReadOnlyDictionary<string, string?>>(result);
    }

    public Task<IReadOnlyList<KeyValuePair<string, string>>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return Task.FromResult<IReadOnlyList<KeyValuePair<string, string>>>(ReadSnapshot().List(prefix));
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
        StoreArguments.CheckCommit(conditions, writes);
        StoreArguments.CheckPools(poolConditions, poolWrites);
        if (writes.Count == 0 && poolWrites.Count == 0)
        {
            var current = ReadSnapshot();
            return current.Satisfies(conditions) && current.Satisfies(poolConditions);
        }

        var pools = poolWrites.Select(w => new KeyValuePair<string, AddressPool?>(w.Pool, w.Spec is null ? null : AddressPool.Create(w.Spec))).ToList();
        return await UpdateAsync(
            previous => previous.Satisfies(conditions) && previous.Satisfies(poolConditions)
                ? new Update<bool>(previous.Apply(writes, pools), true, StoreArguments.WrittenKeys(writes))
                : new Update<bool>(null, false, []),
            cancellationToken);
    }

    public Task<PoolTakeResult> TakeFromPoolAsync(PoolTake take, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckTake(take);
        return UpdateAsync(
            previous =>
            {
                var (outcome, next, record) = PoolSteps.Take(previous.Pools.GetValueOrDefault(take.Pool), take);
                if (outcome.Outcome != PoolTakeOutcome.Taken)
                {
                    return new Update<PoolTakeResult>(null, outcome, []);
                }

                return new Update<PoolTakeResult>(previous.Apply(record is { } r ? [r] : [], [new(take.Pool, next)]), outcome, []);
            },
            cancellationToken);
    }

    public Task<bool> ReleaseToPoolAsync(PoolRelease release, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckRelease(release);
        return UpdateAsync(
            previous =>
            {
                if (previous.Pools.GetValueOrDefault(release.Pool) is not { } pool || release.Slot >= pool.Size || !pool.IsTaken(release.Slot))
                {
                    return new Update<bool>(null, false, []);
                }

                KeyWrite[] records = release.RecordKey is null ? [] : [new KeyWrite(release.RecordKey, null)];
                return new Update<bool>(previous.Apply(records, [new(release.Pool, pool.With(release.Slot, taken: false))]), true, []);
            },
            cancellationToken);
    }

    public Task<AddressPool?> GetPoolAsync(string pool, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckKeys([pool]);
        return Task.FromResult(ReadSnapshot().Pools.GetValueOrDefault(pool));
    }

    public IDisposable Subscribe(string prefix, Action<StoreChange> onChange)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        lock (_watchGate)
        {
            if (_watcher is null)
            {
                // The baseline: every commit after this point differs from it and is reported.
                _lastNotified = ReadSnapshot();
                _watcher = Task.Run(WatchAsync);
            }

            return _dispatcher.Add(prefix, onChange);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync();
        if (_watcher is { } watcher)
        {
            await watcher;
        }

        await _dispatcher.DisposeAsync();
        // Let a commit that is still running finish before the gate goes away.
        await _commitGate.WaitAsync();
        _commitGate.Dispose();
        _disposing.Dispose();
    }

    public override string ToString() => Description;

    /// <summary>
    /// Runs <paramref name="decide"/> on the current version under the file lock and, when it returns a
    /// next version, makes that the data file and announces the keys it names.
    /// </summary>
    private async Task<T> UpdateAsync<T>(Func<EmbeddedSnapshot, Update<T>> decide, CancellationToken cancellationToken)
    {
        // Updates from this instance queue here, so at most one of its threads waits for the file lock.
        if (!await _commitGate.WaitAsync(_options.LockTimeout, cancellationToken))
        {
            throw LockTimeout();
        }

        try
        {
            EmbeddedSnapshot previous;
            Update<T> update;
            var lockFd = await AcquireFileLockAsync(cancellationToken);
            try
            {
                previous = ReadSnapshot();
                update = decide(previous);
                if (update.Next is null)
                {
                    return update.Result;
                }

                WriteLocked(update.Next);
            }
            finally
            {
                NativeFile.Close(lockFd);
            }

            // Still inside the gate, so this instance's notifications follow its commit order.
            NotifyOwnCommit(previous, update.Next, update.Announce);
            return update.Result;
        }
        finally
        {
            _commitGate.Release();
        }
    }

    private EmbeddedSnapshot ReadSnapshot()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            var snapshot = EmbeddedStateFile.Read(_dataPath, _cache);
            _cache = snapshot;
            return snapshot;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(exception, commitOutcomeUnknown: false);
        }
    }

    /// <summary>Replaces the data file by <paramref name="next"/>; the caller holds the file lock.</summary>
    private void WriteLocked(EmbeddedSnapshot next)
    {
        try
        {
            var temporary = EmbeddedStateFile.WriteTemporary(_dataPath, next);
            EmbeddedStateFile.Replace(temporary, _dataPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Failed before or at the rename: the data file is unchanged.
            throw Unavailable(exception, commitOutcomeUnknown: false);
        }

        _cache = next;
        try
        {
            EmbeddedStateFile.SyncDirectory(_dataPath);
        }
        catch (IOException exception)
        {
            // Renamed, so visible to every process, but possibly not durable across a power cut.
            throw Unavailable(exception, commitOutcomeUnknown: true);
        }
    }

    private StoreUnavailableException Unavailable(Exception exception, bool commitOutcomeUnknown) =>
        new($"state store {Description} is unreachable: {exception.Message}", exception) { CommitOutcomeUnknown = commitOutcomeUnknown };

    /// <summary>Opens the lock file and takes an exclusive flock on it; closing the descriptor releases it.</summary>
    /// <remarks>
    /// Waiting happens in the kernel (a blocking flock on a pool thread), which wakes waiters as soon
    /// as the lock is free; polling would let a process that commits in a loop starve the others. A
    /// blocked flock cannot be interrupted, so on timeout or cancellation the waiting thread is left to
    /// finish and its descriptor is closed then, which drops the lock it may just have been given.
    /// A fresh descriptor per commit keeps such a straggler from ever sharing a lock with a later commit.
    /// </remarks>
    private async Task<int> AcquireFileLockAsync(CancellationToken cancellationToken)
    {
        var fd = NativeFile.OpenLockFile(_lockPath);
        try
        {
            if (NativeFile.TryLockExclusive(fd, _lockPath))
            {
                return fd;
            }
        }
        catch
        {
            NativeFile.Close(fd);
            throw;
        }

        var waiting = Task.Run(() => NativeFile.LockExclusive(fd, _lockPath), CancellationToken.None);
        try
        {
            await waiting.WaitAsync(_options.LockTimeout, cancellationToken);
            return fd;
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            _ = waiting.ContinueWith(_ => NativeFile.Close(fd), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            if (exception is TimeoutException)
            {
                throw LockTimeout();
            }

            throw;
        }
        catch
        {
            NativeFile.Close(fd);
            throw;
        }
    }

    private StoreUnavailableException LockTimeout() => new(
        $"state store {Description} is unreachable: its lock {_lockPath} has been held by another process for over {_options.LockTimeout.TotalSeconds:0.#} s");

    private void NotifyOwnCommit(EmbeddedSnapshot previous, EmbeddedSnapshot next, IReadOnlyList<string> writtenKeys)
    {
        lock (_watchGate)
        {
            // When the watcher had seen exactly the version this commit replaced, it has now seen this
            // one too. Otherwise others committed in between; the watcher will report those (and, at
            // least once more, these keys).
            if (_lastNotified is { } last && last.IsSameVersion(previous))
            {
                _lastNotified = next;
            }

            _dispatcher.Publish(writtenKeys);
        }
    }

    private async Task WatchAsync()
    {
        using var timer = new PeriodicTimer(_options.PollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_disposing.Token))
            {
                EmbeddedSnapshot current;
                try
                {
                    current = ReadSnapshot();
                }
                catch (Exception exception) when (exception is StoreUnavailableException or InvalidDataException)
                {
                    // Try again next tick; diffing against the last version seen loses nothing meanwhile.
                    continue;
                }

                ReportChangesSince(current);
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (_disposing.IsCancellationRequested)
        {
        }
    }

    private void ReportChangesSince(EmbeddedSnapshot current)
    {
        lock (_watchGate)
        {
            var last = _lastNotified!;
            if (last.IsSameVersion(current))
            {
                return;
            }

            if (last.StoreId is not null && !string.Equals(last.StoreId, current.StoreId, StringComparison.Ordinal))
            {
                // The directory was wiped or replaced: generations are not comparable any more.
                _lastNotified = current;
                _dispatcher.PublishResync();
                return;
            }

            if (current.Generation < last.Generation)
            {
                // Read before a commit of ours that already advanced the baseline.
                return;
            }

            _lastNotified = current;
            _dispatcher.Publish(EmbeddedSnapshot.ChangedKeys(last, current));
        }
    }

    /// <summary>What an update decided: the next version (null: write nothing), the answer, the keys to announce.</summary>
    private readonly record struct Update<T>(EmbeddedSnapshot? Next, T Result, IReadOnlyList<string> Announce);
}
