using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>
/// The etcd store on a three-member cluster (three etcd processes on 127.0.0.1) losing members: the
/// leader killed under load, the quorum lost and regained, the watched member killed.
/// </summary>
[Collection(nameof(RunsChildProcesses))]
public sealed class EtcdClusterFailureTests
{
    // 10.2.0.0/22: 1024 slots, network and broadcast reserved.
    private const uint PoolBase = (10u << 24) | (2u << 16);
    private static readonly AddressPoolSpec Pool = new(PoolBase, 1024, [0, 1023]);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Killing_the_leader_while_clients_allocate_hands_out_no_address_twice()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);
        var url = etcd.UrlWithPrefix(RedisServerFixture.UniquePrefix("leader"));
        var stores = new List<IKeyValueStore>();
        for (var i = 0; i < 4; i++)
        {
            stores.Add(KeyValueStoreFactory.Create(url));
        }

        try
        {
            Assert.True(await stores[0].TryCommitAsync([], [], [], [new PoolWrite("pools/p", Pool)], Cancellation));
            const int TakesPerWorker = 60;
            var taken = new ConcurrentBag<int>();
            var unavailable = new ConcurrentBag<StoreUnavailableException>();
            var workers = stores.SelectMany(store => Enumerable.Range(0, 2).Select(worker => Task.Run(
                async () =>
                {
                    for (var i = 0; i < TakesPerWorker; i++)
                    {
                        try
                        {
                            var result = await store.TakeFromPoolAsync(new PoolTake("pools/p", null, "leases/", $"worker-{worker}"), Cancellation);
                            Assert.Equal(PoolTakeOutcome.Taken, result.Outcome);
                            taken.Add(result.Slot);
                        }
                        catch (StoreUnavailableException exception)
                        {
                            unavailable.Add(exception);
                        }
                    }
                },
                Cancellation))).ToList();

            // Kill the leader once the allocation is well under way.
            var waited = Stopwatch.StartNew();
            while (taken.Count < 60 && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(5, Cancellation);
            }

            var leader = await etcd.LeaderIndexAsync();
            var takenBeforeKill = taken.Count;
            await etcd.KillAsync(leader);
            await Task.WhenAll(workers);

            var output = TestContext.Current.TestOutputHelper;
            output?.WriteLine($"killed leader m{leader} after {takenBeforeKill} takes; {taken.Count} takes succeeded, {unavailable.Count} failed as unavailable");
            foreach (var failure in unavailable.Take(3))
            {
                output?.WriteLine($"  {failure.Message} (outcome unknown: {failure.CommitOutcomeUnknown})");
            }

            var slots = taken.ToList();
            Assert.Equal(slots.Count, slots.Distinct().Count());
            Assert.Equal(8 * TakesPerWorker, slots.Count + unavailable.Count);
            Assert.All(unavailable, failure => Assert.Contains(etcd.Description, failure.Message, StringComparison.Ordinal));

            // The pool and the lease records agree with what the callers were told: every success is
            // taken and has its record; only a failure whose outcome is unknown may have taken one more.
            var pool = await stores[1].GetPoolAsync("pools/p", Cancellation);
            var inPool = pool!.TakenSlots().Where(slot => slot is not (0 or 1023)).ToHashSet();
            Assert.Superset(inPool, slots.ToHashSet());
            Assert.True(inPool.Count - slots.Count <= unavailable.Count(f => f.CommitOutcomeUnknown), $"{inPool.Count} slots taken in the pool, {slots.Count} takes succeeded");
            var leases = await stores[2].ListAsync("leases/", Cancellation);
            Assert.Equal(
                inPool.Select(slot => "leases/" + AddressPool.FormatAddress(PoolBase, slot)).Order(StringComparer.Ordinal),
                leases.Select(lease => lease.Key));
            Assert.Equal(inPool.Count, (int)(pool.Version - 1));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Losing_two_of_three_members_fails_writes_fast_and_the_cluster_recovers_without_repair()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);
        await using var store = KeyValueStoreFactory.Create(etcd.UrlWithPrefix(RedisServerFixture.UniquePrefix("quorum")));
        var changes = new ChangeRecorder();
        using var subscription = store.Subscribe("after/", changes.Record);
        Assert.True(await store.TryCommitAsync([], [], [], [new PoolWrite("pools/q", Pool)], Cancellation));
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("before", "1")], Cancellation));

        var survivor = await etcd.LeaderIndexAsync();
        var lost = Enumerable.Range(0, 3).Where(member => member != survivor).ToList();
        foreach (var member in lost)
        {
            await etcd.KillAsync(member);
        }

        var failures = new List<StoreUnavailableException>();
        for (var i = 0; i < 3; i++)
        {
            var index = i.ToString(CultureInfo.InvariantCulture);
            failures.Add(await FailsFastAsync(() => store.TryCommitAsync([], [new KeyWrite($"lost/{index}/a", "1"), new KeyWrite($"lost/{index}/b", "1")], Cancellation)));
            failures.Add(await FailsFastAsync(() => store.TakeFromPoolAsync(new PoolTake("pools/q", null, "leases/", "lost"), Cancellation)));
            failures.Add(await FailsFastAsync(() => store.GetAsync(["before"], Cancellation)));
        }

        Assert.All(failures, failure => Assert.Contains(etcd.Description, failure.Message, StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine(failures[0].Message);

        foreach (var member in lost)
        {
            etcd.StartInBackground(member);
        }

        // The same store object works again once a quorum is back: no restart, no repair.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Assert.True(await store.TryCommitAsync([], [new KeyWrite("after/x", "1")], Cancellation));
                break;
            }
            catch (StoreUnavailableException) when (waited.Elapsed < TimeSpan.FromSeconds(40))
            {
            }
        }

        // Nothing half-written: each failed commit is absent, or (outcome unknown) applied whole.
        var values = await store.GetAsync([.. Enumerable.Range(0, 3).SelectMany(i => new[] { $"lost/{i}/a", $"lost/{i}/b" })], Cancellation);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(values[$"lost/{i}/a"], values[$"lost/{i}/b"]);
            if (!failures[i * 3].CommitOutcomeUnknown)
            {
                Assert.Null(values[$"lost/{i}/a"]);
            }
        }

        var pool = await store.GetPoolAsync("pools/q", Cancellation);
        var leases = await store.ListAsync("leases/", Cancellation);
        Assert.Equal(pool!.TakenSlots().Count() - 2, leases.Count);
        Assert.Equal(PoolTakeOutcome.Taken, (await store.TakeFromPoolAsync(new PoolTake("pools/q"), Cancellation)).Outcome);
        // The subscription made before the outage hears commits made after it.
        await changes.WaitForKeyAsync("after/x", TimeSpan.FromSeconds(15));
    }

    [Fact(Timeout = 120_000)]
    public async Task Notifications_survive_the_loss_of_each_member_in_turn()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);
        var url = etcd.UrlWithPrefix(RedisServerFixture.UniquePrefix("watch"));
        await using var subscriber = KeyValueStoreFactory.Create(url);
        await using var writer = KeyValueStoreFactory.Create(url);
        var changes = new ChangeRecorder();
        using var subscription = subscriber.Subscribe("k/", changes.Record);
        // Once the watch is known live, any Resync would mean it had to give up on resuming.
        Assert.True(await writer.TryCommitAsync([], [new KeyWrite("k/live", "v")], Cancellation));
        await changes.WaitForKeyAsync("k/live", TimeSpan.FromSeconds(20));
        var baseline = changes.Changes.Count;

        var committed = new List<string>();
        for (var member = 0; member < 3; member++)
        {
            await etcd.KillAsync(member);
            for (var i = 0; i < 10; i++)
            {
                var key = $"k/{member}-{i}";
                Assert.True(await CommitRetryingAsync(writer, key));
                committed.Add(key);
            }

            await etcd.StartAsync(member);
        }

        // Whichever member the watch was on, it resumed from its last revision elsewhere: every
        // commit is notified, and no Resync was needed.
        await changes.WaitForAsync(seen => committed.All(key => seen.Any(change => change.Key == key)), TimeSpan.FromSeconds(20), "every committed key");
        Assert.DoesNotContain(changes.Changes.Skip(baseline), change => change.IsResync);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_watch_that_cannot_resume_because_history_was_compacted_asks_for_a_resync()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);
        var prefix = RedisServerFixture.UniquePrefix("compact");
        // The subscriber knows only m0, so its watch is down while m0 is; the writer uses the others.
        var onlyFirst = $"etcd://{EtcdCluster.Host}:{etcd.ClientPort(0)}?prefix={Uri.EscapeDataString(prefix)}";
        var others = $"etcd://{EtcdCluster.Host}:{etcd.ClientPort(1)},{EtcdCluster.Host}:{etcd.ClientPort(2)}?prefix={Uri.EscapeDataString(prefix)}";
        await using var subscriber = KeyValueStoreFactory.Create(onlyFirst);
        await using var writer = KeyValueStoreFactory.Create(others);
        var changes = new ChangeRecorder();
        using var subscription = subscriber.Subscribe("k/", changes.Record);
        Assert.True(await writer.TryCommitAsync([], [new KeyWrite("k/before", "v")], Cancellation));
        await changes.WaitForKeyAsync("k/before", TimeSpan.FromSeconds(10));

        await etcd.KillAsync(0);
        Assert.True(await writer.TryCommitAsync([], [new KeyWrite("k/missed", "v")], Cancellation));
        // Compacting at revision R keeps R itself: a second change puts the first one's revision out of reach.
        Assert.True(await writer.TryCommitAsync([], [new KeyWrite("other/missed", "v")], Cancellation));
        await etcd.CompactAsync(member: 1);
        await etcd.StartAsync(0);

        // The change made while the watch was down is gone from etcd's history: the subscriber is told
        // to re-read, and hears later changes again.
        await changes.WaitForResyncAsync(TimeSpan.FromSeconds(20));
        Assert.True(await writer.TryCommitAsync([], [new KeyWrite("k/after", "v")], Cancellation));
        await changes.WaitForKeyAsync("k/after", TimeSpan.FromSeconds(10));
        Assert.Equal("v", (await subscriber.GetAsync(["k/missed"], Cancellation))["k/missed"]);
    }

    /// <summary>
    /// The writer is not what the watch test is about: on a loaded machine an election after a kill
    /// can outlast one operation's 4 s, so it tries again (an unconditional write is safe to repeat).
    /// </summary>
    private static async Task<bool> CommitRetryingAsync(IKeyValueStore writer, string key)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await writer.TryCommitAsync([], [new KeyWrite(key, "v")], Cancellation);
            }
            catch (StoreUnavailableException exception) when (attempt < 3)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"writer, attempt {attempt}: {exception.Message}");
            }
        }
    }

    private static async Task<StoreUnavailableException> FailsFastAsync<T>(Func<Task<T>> operation)
    {
        var timer = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<StoreUnavailableException>(operation);
        // Bounded by the store's operation timeout (4 s) plus scheduling slack, never a hang.
        Assert.True(timer.Elapsed < TimeSpan.FromSeconds(10), $"failing took {timer.Elapsed.TotalSeconds:0.0} s: {failure.Message}");
        return failure;
    }
}
