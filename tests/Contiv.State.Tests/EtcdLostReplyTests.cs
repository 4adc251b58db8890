using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>
/// Calls whose reply is lost after the request reached etcd (a proxy resets the connection instead of
/// passing the reply on) are retried, and apply exactly once: the retry finds the first attempt's receipt.
/// </summary>
public sealed class EtcdLostReplyTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task A_conditional_commit_whose_reply_was_lost_reports_success_once()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync();
        await using var proxy = new ReplyDroppingProxy(etcd.ClientPort(0));
        await using var store = KeyValueStoreFactory.Create($"etcd://127.0.0.1:{proxy.Port}?prefix=lost%2F");
        // Warm up: the connection and the receipts' lease exist before the reply that gets lost.
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("warm", "1")], Cancellation));

        proxy.DropNextReply();
        // Conditioned on absence: a retry that re-applied would find the key and report false.
        var committed = await store.TryCommitAsync([new KeyCondition("k", null)], [new KeyWrite("k", "v"), new KeyWrite("k2", "v")], Cancellation);

        Assert.True(proxy.Dropped.Task.IsCompleted);
        Assert.True(committed);
        Assert.Equal(["k", "k2", "warm"], (await store.ListAsync(string.Empty, Cancellation)).Select(pair => pair.Key));
        Assert.False(await store.TryCommitAsync([new KeyCondition("k", null)], [new KeyWrite("k", "again")], Cancellation));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_pool_take_whose_reply_was_lost_returns_the_slot_it_took_and_takes_no_other()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync();
        await using var proxy = new ReplyDroppingProxy(etcd.ClientPort(0));
        await using var store = KeyValueStoreFactory.Create($"etcd://127.0.0.1:{proxy.Port}?prefix=lost%2F");
        var spec = new AddressPoolSpec(10u << 24, 16, [0, 15]);
        Assert.True(await store.TryCommitAsync([], [], [], [new PoolWrite("pools/l", spec)], Cancellation));
        Assert.Equal(1, (await store.TakeFromPoolAsync(new PoolTake("pools/l", null, "leases/", "h"), Cancellation)).Slot);

        proxy.DropNextReply();
        var taken = await store.TakeFromPoolAsync(new PoolTake("pools/l", null, "leases/", "h"), Cancellation);

        Assert.True(proxy.Dropped.Task.IsCompleted);
        Assert.Equal((PoolTakeOutcome.Taken, 2), (taken.Outcome, taken.Slot));
        Assert.Equal([0, 1, 2, 15], (await store.GetPoolAsync("pools/l", Cancellation))!.TakenSlots());
        Assert.Equal(["leases/10.0.0.1", "leases/10.0.0.2"], (await store.ListAsync("leases/", Cancellation)).Select(pair => pair.Key));

        proxy.DropNextReply();
        Assert.True(await store.ReleaseToPoolAsync(new PoolRelease("pools/l", 2, "leases/10.0.0.2"), Cancellation));
        Assert.Equal([0, 1, 15], (await store.GetPoolAsync("pools/l", Cancellation))!.TakenSlots());
    }
}
