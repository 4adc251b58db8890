using Xunit;

namespace Contiv.State.Tests;

/// <summary>The address pool part of the store contract (same suites: Redis over TCP and Unix socket, embedded).</summary>
public abstract partial class KeyValueStoreContractTests
{
    // 10.1.2.0/29: slots 0..7, network (0) and broadcast (7) reserved, 3 the "gateway".
    private const uint PoolBase = (10u << 24) | (1u << 16) | (2u << 8);
    private static readonly AddressPoolSpec SmallPool = new(PoolBase, 8, [0, 3, 7]);

    private Task<bool> CreatePoolAsync(string name, AddressPoolSpec spec, IKeyValueStore? store = null) =>
        (store ?? Store).TryCommitAsync([], [], [], [new PoolWrite(name, spec)], Cancellation);

    private Task<PoolTakeResult> TakeAsync(string pool, int? slot = null, IKeyValueStore? store = null) =>
        (store ?? Store).TakeFromPoolAsync(new PoolTake(pool, slot), Cancellation);

    [Fact]
    public async Task A_pool_hands_out_its_lowest_free_slot_and_never_a_reserved_one()
    {
        Assert.True(await CreatePoolAsync("pools/a", SmallPool));

        var slots = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            var result = await TakeAsync("pools/a");
            Assert.Equal(PoolTakeOutcome.Taken, result.Outcome);
            Assert.Equal((PoolBase, 8), (result.FirstAddress, result.Size));
            slots.Add(result.Slot);
        }

        Assert.Equal([1, 2, 4, 5, 6], slots);
        var exhausted = await TakeAsync("pools/a");
        Assert.Equal(PoolTakeOutcome.Exhausted, exhausted.Outcome);

        // A freed slot is the next one handed out, even below later ones.
        Assert.True(await Store.ReleaseToPoolAsync(new PoolRelease("pools/a", 4), Cancellation));
        Assert.Equal(4, (await TakeAsync("pools/a")).Slot);
    }

    [Fact]
    public async Task A_requested_slot_is_taken_once_and_refused_when_taken_reserved_or_outside()
    {
        await CreatePoolAsync("pools/r", SmallPool);

        Assert.Equal(PoolTakeOutcome.Taken, (await TakeAsync("pools/r", 5)).Outcome);
        Assert.Equal(PoolTakeOutcome.Unavailable, (await TakeAsync("pools/r", 5)).Outcome);
        Assert.Equal(PoolTakeOutcome.Unavailable, (await TakeAsync("pools/r", 3)).Outcome);
        Assert.Equal(PoolTakeOutcome.Unavailable, (await TakeAsync("pools/r", 8)).Outcome);
        Assert.Equal(PoolTakeOutcome.Unavailable, (await TakeAsync("pools/r", 1000)).Outcome);
        Assert.Equal([0, 3, 5, 7], (await Store.GetPoolAsync("pools/r", Cancellation))!.TakenSlots());
    }

    [Fact]
    public async Task A_missing_pool_is_reported_and_nothing_is_written()
    {
        var result = await Store.TakeFromPoolAsync(new PoolTake("pools/none", null, "leases/", "x"), Cancellation);

        Assert.Equal(PoolTakeOutcome.NoPool, result.Outcome);
        Assert.Null(await Store.GetPoolAsync("pools/none", Cancellation));
        Assert.Empty(await Store.ListAsync("leases/", Cancellation));
        Assert.False(await Store.ReleaseToPoolAsync(new PoolRelease("pools/none", 1, "leases/x"), Cancellation));
    }

    [Fact]
    public async Task A_take_writes_its_record_under_the_address_and_a_release_deletes_it()
    {
        await CreatePoolAsync("pools/l", SmallPool);

        var taken = await Store.TakeFromPoolAsync(new PoolTake("pools/l", null, "leases/net/", "{\"Host\":\"h1\"}"), Cancellation);
        var requested = await Store.TakeFromPoolAsync(new PoolTake("pools/l", 6, "leases/net/", "12"), Cancellation);

        Assert.Equal((1, 6), (taken.Slot, requested.Slot));
        Assert.Equal(
            [new("leases/net/10.1.2.1", "{\"Host\":\"h1\"}"), new("leases/net/10.1.2.6", "12")],
            await Store.ListAsync("leases/", Cancellation));

        Assert.True(await Store.ReleaseToPoolAsync(new PoolRelease("pools/l", 1, "leases/net/10.1.2.1"), Cancellation));
        Assert.Equal(["leases/net/10.1.2.6"], (await Store.ListAsync("leases/", Cancellation)).Select(kv => kv.Key));

        // Releasing again is a no-op and leaves another record alone.
        await CommitAsync(new KeyWrite("leases/net/10.1.2.1", "someone else's"));
        Assert.False(await Store.ReleaseToPoolAsync(new PoolRelease("pools/l", 1, "leases/net/10.1.2.1"), Cancellation));
        Assert.Equal("someone else's", (await Store.GetAsync(["leases/net/10.1.2.1"], Cancellation))["leases/net/10.1.2.1"]);
    }

    [Fact]
    public async Task Pool_versions_condition_commits_and_pools_are_created_and_deleted_with_keys()
    {
        Assert.True(await Store.TryCommitAsync([new("net", null)], [new("net", "n1")], [new PoolCondition("pools/v", 0)], [new PoolWrite("pools/v", SmallPool)], Cancellation));
        var created = await Store.GetPoolAsync("pools/v", Cancellation);
        Assert.Equal(1, created!.Version);

        await TakeAsync("pools/v");
        var afterTake = await Store.GetPoolAsync("pools/v", Cancellation);
        Assert.Equal(2, afterTake!.Version);

        // A commit conditioned on the version read before the take fails and writes nothing.
        Assert.False(await Store.TryCommitAsync([], [new("net", null)], [new PoolCondition("pools/v", created.Version)], [new PoolWrite("pools/v", null)], Cancellation));
        Assert.Equal("n1", (await Store.GetAsync(["net"], Cancellation))["net"]);
        Assert.NotNull(await Store.GetPoolAsync("pools/v", Cancellation));

        Assert.True(await Store.TryCommitAsync([], [new("net", null)], [new PoolCondition("pools/v", afterTake.Version)], [new PoolWrite("pools/v", null)], Cancellation));
        Assert.Null((await Store.GetAsync(["net"], Cancellation))["net"]);
        Assert.Null(await Store.GetPoolAsync("pools/v", Cancellation));
        Assert.Equal(PoolTakeOutcome.NoPool, (await TakeAsync("pools/v")).Outcome);
    }

    [Fact]
    public async Task A_large_pool_round_trips_and_survives_reopening()
    {
        // A /14, the largest subnet the model accepts.
        var spec = new AddressPoolSpec(PoolBase & 0xFFFC0000, 1 << 18, [0, (1 << 18) - 1]);
        await CreatePoolAsync("pools/big", spec);
        for (var i = 0; i < 20; i++)
        {
            await TakeAsync("pools/big");
        }

        await TakeAsync("pools/big", 200_000);
        var reopened = await OpenStoreAsync();
        var pool = await reopened.GetPoolAsync("pools/big", Cancellation);

        Assert.Equal((spec.FirstAddress, spec.Size, 22L), (pool!.FirstAddress, pool.Size, pool.Version));
        Assert.Equal([.. Enumerable.Range(0, 21), 200_000, (1 << 18) - 1], pool.TakenSlots());
        Assert.Equal(21, (await TakeAsync("pools/big", store: reopened)).Slot);
    }

    [Fact]
    public async Task Pool_operations_are_not_announced_but_commits_still_are()
    {
        var changes = new ChangeRecorder();
        using var subscription = Store.Subscribe(string.Empty, changes.Record);
        await CreatePoolAsync("pools/n", SmallPool);
        await Store.TakeFromPoolAsync(new PoolTake("pools/n", null, "leases/n/", "h"), Cancellation);
        await Store.ReleaseToPoolAsync(new PoolRelease("pools/n", 1, "leases/n/10.1.2.1"), Cancellation);
        await CommitAsync(new KeyWrite("marker", "1"));

        await changes.WaitForKeyAsync("marker", CrossInstanceDelivery);
        Assert.Equal(["marker"], changes.Keys);
    }

    [Fact]
    public async Task Concurrent_takes_from_several_instances_hand_out_each_slot_once_lowest_first()
    {
        var others = new[] { await OpenStoreAsync(), await OpenStoreAsync() };
        await CreatePoolAsync("pools/c", new AddressPoolSpec(PoolBase, 256, [0, 255]));
        const int PerWorker = 40;
        var workers = new[] { Store, Store, others[0], others[0], others[1], others[1] }.Select(store => Task.Run(
            async () =>
            {
                var slots = new List<int>();
                for (var i = 0; i < PerWorker; i++)
                {
                    slots.Add((await store.TakeFromPoolAsync(new PoolTake("pools/c", null, "leases/c/", "x"), Cancellation)).Slot);
                }

                return slots;
            },
            Cancellation)).ToList();

        var taken = (await Task.WhenAll(workers)).SelectMany(s => s).ToList();

        Assert.Equal(Enumerable.Range(1, 6 * PerWorker), taken.Order());
        Assert.Equal(6 * PerWorker, (await Store.ListAsync("leases/c/", Cancellation)).Count);
    }

    [Fact]
    public async Task Bad_pool_arguments_are_rejected_before_anything_is_written()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CreatePoolAsync("pools/bad", new AddressPoolSpec(PoolBase, 8, [8])));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CreatePoolAsync("pools/bad", new AddressPoolSpec(PoolBase, 0, [])));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.TakeFromPoolAsync(new PoolTake(string.Empty), Cancellation));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.TakeFromPoolAsync(new PoolTake("pools/bad", null, "leases/", null), Cancellation));
        Assert.Null(await Store.GetPoolAsync("pools/bad", Cancellation));
    }
}
