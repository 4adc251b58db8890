using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>
/// The behaviour every <see cref="IKeyValueStore"/> must have, run against each implementation by a
/// derived class. Each test gets fresh, empty backing storage; <see cref="OpenStoreAsync"/> opens one
/// more instance on that same storage (as another process would).
/// </summary>
public abstract partial class KeyValueStoreContractTests : IAsyncLifetime
{
    private readonly List<IKeyValueStore> _opened = [];

    protected IKeyValueStore Store { get; private set; } = null!;

    /// <summary>How long a notification may take to reach another instance.</summary>
    protected virtual TimeSpan CrossInstanceDelivery => TimeSpan.FromSeconds(5);

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>A new store instance on this test's storage.</summary>
    protected abstract Task<IKeyValueStore> CreateInstanceAsync();

    public async ValueTask InitializeAsync() => Store = await OpenStoreAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        await CleanUpAsync();
        GC.SuppressFinalize(this);
    }

    protected virtual ValueTask CleanUpAsync() => ValueTask.CompletedTask;

    protected async Task<IKeyValueStore> OpenStoreAsync()
    {
        var store = await CreateInstanceAsync();
        _opened.Add(store);
        return store;
    }

    protected Task<bool> CommitAsync(params KeyWrite[] writes) => Store.TryCommitAsync([], writes, Cancellation);

    [Fact]
    public async Task Get_returns_null_for_absent_keys()
    {
        var values = await Store.GetAsync(["missing/a", "missing/b"], Cancellation);

        Assert.Equal(2, values.Count);
        Assert.Null(values["missing/a"]);
        Assert.Null(values["missing/b"]);
    }

    [Fact]
    public async Task Get_of_no_keys_is_empty()
    {
        Assert.Empty(await Store.GetAsync([], Cancellation));
    }

    [Fact]
    public async Task Unconditional_commit_writes_every_key()
    {
        Assert.True(await CommitAsync(new KeyWrite("nets/a", "1"), new KeyWrite("nets/b", "2")));

        var values = await Store.GetAsync(["nets/a", "nets/b", "nets/c"], Cancellation);
        Assert.Equal("1", values["nets/a"]);
        Assert.Equal("2", values["nets/b"]);
        Assert.Null(values["nets/c"]);
    }

    [Fact]
    public async Task Values_and_keys_round_trip_exactly()
    {
        string[] awkward = ["with space", "quote\"and\\backslash", "new\nline", "unicode é ü 中文", "emoji 🚀", "json {\"a\":[1]}", "<html>&amp;", "   "];
        var writes = awkward.Select((text, i) => new KeyWrite($"odd/{text}", text + i.ToString(CultureInfo.InvariantCulture))).ToArray();
        Assert.True(await CommitAsync(writes));

        var values = await Store.GetAsync([.. writes.Select(w => w.Key)], Cancellation);
        foreach (var write in writes)
        {
            Assert.Equal(write.Value, values[write.Key]);
        }

        var listed = await Store.ListAsync("odd/", Cancellation);
        Assert.Equal(writes.Length, listed.Count);
        Assert.All(writes, w => Assert.Contains(new KeyValuePair<string, string>(w.Key, w.Value!), listed));
    }

    [Theory]
    [InlineData("1,6")]
    [InlineData("1-3,112")]
    [InlineData("1.50")]
    [InlineData("007")]
    [InlineData("1e3")]
    [InlineData("-0")]
    public async Task A_condition_holds_on_values_that_look_like_numbers(string value)
    {
        // Regression: the Redis client compared "1,6" (a tag set) numerically with itself and the
        // condition never held, so every later transaction on that key conflicted.
        Assert.True(await CommitAsync(new KeyWrite("n/v", value)));
        Assert.True(await Store.TryCommitAsync([new KeyCondition("n/v", value)], [new KeyWrite("n/w", "x")], Cancellation));
        Assert.False(await Store.TryCommitAsync([new KeyCondition("n/v", value + "0")], [new KeyWrite("n/w", "y")], Cancellation));
    }

    [Fact]
    public async Task A_condition_on_an_empty_value_holds_while_the_value_is_empty()
    {
        // Regression: control-plane tag sets become "" when their last network goes; a condition
        // expecting "" must hold, or every later transaction on that key conflicts forever.
        Assert.True(await CommitAsync(new KeyWrite("e/cond", string.Empty)));
        Assert.True(await Store.TryCommitAsync([new KeyCondition("e/cond", string.Empty)], [new KeyWrite("e/cond", "1")], Cancellation));
        Assert.Equal("1", (await Store.GetAsync(["e/cond"], Cancellation))["e/cond"]);
        Assert.False(await Store.TryCommitAsync([new KeyCondition("e/cond", string.Empty)], [new KeyWrite("e/cond", "2")], Cancellation));
    }

    [Fact]
    public async Task Empty_value_is_a_value_not_a_delete()
    {
        Assert.True(await CommitAsync(new KeyWrite("e/empty", string.Empty)));

        Assert.Equal(string.Empty, (await Store.GetAsync(["e/empty"], Cancellation))["e/empty"]);
        Assert.True(await Store.TryCommitAsync([new KeyCondition("e/empty", string.Empty)], [new KeyWrite("e/other", "x")], Cancellation));
        Assert.False(await Store.TryCommitAsync([new KeyCondition("e/empty", null)], [new KeyWrite("e/other", "y")], Cancellation));
    }

    [Fact]
    public async Task List_returns_only_keys_under_the_prefix_in_ordinal_order()
    {
        string[] keys = ["net/b", "net/a", "net/a/x", "network/a", "net", "ne", "net/B", "net/é", "net/~", "net/0"];
        Assert.True(await CommitAsync([.. keys.Select(k => new KeyWrite(k, "v:" + k))]));

        var listed = await Store.ListAsync("net/", Cancellation);

        string[] expected = ["net/0", "net/B", "net/a", "net/a/x", "net/b", "net/~", "net/é"];
        Assert.Equal(expected, listed.Select(p => p.Key));
        Assert.All(listed, p => Assert.Equal("v:" + p.Key, p.Value));
    }

    [Fact]
    public async Task List_with_empty_prefix_returns_everything()
    {
        Assert.True(await CommitAsync(new KeyWrite("b", "2"), new KeyWrite("a", "1"), new KeyWrite("c/d", "3")));

        var listed = await Store.ListAsync(string.Empty, Cancellation);

        Assert.Equal(["a", "b", "c/d"], listed.Select(p => p.Key));
    }

    [Fact]
    public async Task List_of_unknown_prefix_is_empty()
    {
        Assert.True(await CommitAsync(new KeyWrite("a/1", "1")));

        Assert.Empty(await Store.ListAsync("zzz/", Cancellation));
    }

    [Fact]
    public async Task Absent_condition_fails_when_the_key_exists_and_nothing_is_written()
    {
        Assert.True(await CommitAsync(new KeyWrite("t/owner", "first")));

        var committed = await Store.TryCommitAsync(
            [new KeyCondition("t/owner", null)],
            [new KeyWrite("t/owner", "second"), new KeyWrite("t/other", "x")],
            Cancellation);

        Assert.False(committed);
        var values = await Store.GetAsync(["t/owner", "t/other"], Cancellation);
        Assert.Equal("first", values["t/owner"]);
        Assert.Null(values["t/other"]);
    }

    [Fact]
    public async Task Absent_condition_holds_for_a_missing_key()
    {
        Assert.True(await Store.TryCommitAsync([new KeyCondition("t/new", null)], [new KeyWrite("t/new", "1")], Cancellation));
        Assert.Equal("1", (await Store.GetAsync(["t/new"], Cancellation))["t/new"]);
    }

    [Fact]
    public async Task Value_condition_fails_when_the_value_changed_and_nothing_is_written()
    {
        Assert.True(await CommitAsync(new KeyWrite("c/counter", "5"), new KeyWrite("c/log", "five")));

        var committed = await Store.TryCommitAsync(
            [new KeyCondition("c/counter", "4")],
            [new KeyWrite("c/counter", "5b"), new KeyWrite("c/log", null), new KeyWrite("c/new", "n")],
            Cancellation);

        Assert.False(committed);
        var values = await Store.GetAsync(["c/counter", "c/log", "c/new"], Cancellation);
        Assert.Equal("5", values["c/counter"]);
        Assert.Equal("five", values["c/log"]);
        Assert.Null(values["c/new"]);
        Assert.Equal(["c/counter", "c/log"], (await Store.ListAsync("c/", Cancellation)).Select(p => p.Key));
    }

    [Fact]
    public async Task Value_condition_fails_for_a_missing_key()
    {
        Assert.False(await Store.TryCommitAsync([new KeyCondition("c/missing", "1")], [new KeyWrite("c/x", "1")], Cancellation));
        Assert.Null((await Store.GetAsync(["c/x"], Cancellation))["c/x"]);
    }

    [Fact]
    public async Task Commit_applies_when_every_condition_holds()
    {
        Assert.True(await CommitAsync(new KeyWrite("h/a", "1"), new KeyWrite("h/b", "2")));

        var committed = await Store.TryCommitAsync(
            [new KeyCondition("h/a", "1"), new KeyCondition("h/b", "2"), new KeyCondition("h/c", null)],
            [new KeyWrite("h/a", "10"), new KeyWrite("h/c", "30")],
            Cancellation);

        Assert.True(committed);
        var values = await Store.GetAsync(["h/a", "h/b", "h/c"], Cancellation);
        Assert.Equal(("10", "2", "30"), (values["h/a"], values["h/b"], values["h/c"]));
    }

    [Fact]
    public async Task One_failed_condition_among_several_blocks_the_commit()
    {
        Assert.True(await CommitAsync(new KeyWrite("m/a", "1"), new KeyWrite("m/b", "2")));

        Assert.False(await Store.TryCommitAsync(
            [new KeyCondition("m/a", "1"), new KeyCondition("m/b", "wrong")],
            [new KeyWrite("m/a", "changed")],
            Cancellation));
        Assert.Equal("1", (await Store.GetAsync(["m/a"], Cancellation))["m/a"]);
    }

    [Fact]
    public async Task Null_write_deletes_the_key()
    {
        Assert.True(await CommitAsync(new KeyWrite("d/a", "1"), new KeyWrite("d/b", "2")));

        Assert.True(await Store.TryCommitAsync([new KeyCondition("d/a", "1")], [new KeyWrite("d/a", null)], Cancellation));

        Assert.Null((await Store.GetAsync(["d/a"], Cancellation))["d/a"]);
        Assert.Equal(["d/b"], (await Store.ListAsync("d/", Cancellation)).Select(p => p.Key));
        // Deleting what is not there is allowed, and the key can be created again.
        Assert.True(await CommitAsync(new KeyWrite("d/a", null)));
        Assert.True(await Store.TryCommitAsync([new KeyCondition("d/a", null)], [new KeyWrite("d/a", "again")], Cancellation));
        Assert.Equal("again", (await Store.GetAsync(["d/a"], Cancellation))["d/a"]);
    }

    [Fact]
    public async Task Later_write_to_the_same_key_in_one_commit_wins()
    {
        Assert.True(await CommitAsync(new KeyWrite("w/k", "first"), new KeyWrite("w/k", "second")));
        Assert.Equal("second", (await Store.GetAsync(["w/k"], Cancellation))["w/k"]);

        Assert.True(await CommitAsync(new KeyWrite("w/k", "third"), new KeyWrite("w/k", null)));
        Assert.Null((await Store.GetAsync(["w/k"], Cancellation))["w/k"]);
        Assert.Empty(await Store.ListAsync("w/", Cancellation));
    }

    [Fact]
    public async Task Commit_without_writes_reports_whether_the_conditions_hold()
    {
        Assert.True(await CommitAsync(new KeyWrite("n/a", "1")));

        Assert.True(await Store.TryCommitAsync([new KeyCondition("n/a", "1"), new KeyCondition("n/b", null)], [], Cancellation));
        Assert.False(await Store.TryCommitAsync([new KeyCondition("n/a", "2")], [], Cancellation));
        Assert.True(await Store.TryCommitAsync([], [], Cancellation));
    }

    [Fact]
    public async Task Empty_keys_are_rejected()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => CommitAsync(new KeyWrite(string.Empty, "x")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.TryCommitAsync([new KeyCondition(string.Empty, null)], [new KeyWrite("k", "x")], Cancellation));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync([string.Empty], Cancellation));
        Assert.Empty(await Store.ListAsync(string.Empty, Cancellation));
    }

    [Fact]
    public async Task Readers_never_see_half_of_a_multi_key_commit()
    {
        Assert.True(await CommitAsync(new KeyWrite("pair/a", "0"), new KeyWrite("pair/b", "0")));
        var reader = await OpenStoreAsync();
        using var stop = new CancellationTokenSource();

        var writer = Task.Run(
            async () =>
            {
                for (var i = 1; i <= 150; i++)
                {
                    var text = i.ToString(CultureInfo.InvariantCulture);
                    Assert.True(await CommitAsync(new KeyWrite("pair/a", text), new KeyWrite("pair/b", text)));
                }

                await stop.CancelAsync();
            },
            Cancellation);

        var reads = 0;
        while (!stop.IsCancellationRequested)
        {
            var values = await reader.GetAsync(["pair/a", "pair/b"], Cancellation);
            Assert.Equal(values["pair/a"], values["pair/b"]);
            var listed = await reader.ListAsync("pair/", Cancellation);
            Assert.Equal(listed[0].Value, listed[1].Value);
            reads++;
        }

        await writer;
        Assert.True(reads > 0);
    }

    [Fact]
    public async Task Concurrent_transactions_from_two_instances_allocate_each_slot_once()
    {
        var other = await OpenStoreAsync();
        const int PerWorker = 25;
        var workers = new[] { Store, Store, other, other }.Select(store => Task.Run(
            async () =>
            {
                var slots = new List<int>();
                for (var i = 0; i < PerWorker; i++)
                {
                    slots.Add(await StoreTransaction.RunAsync(store, ["alloc/bitmap"], Allocation.LowestFree("alloc/bitmap"), Cancellation));
                }

                return slots;
            },
            Cancellation)).ToList();

        var allocated = (await Task.WhenAll(workers)).SelectMany(s => s).ToList();

        Assert.Equal(Enumerable.Range(0, 4 * PerWorker), allocated.Order());
        Assert.Equal(new string('1', 4 * PerWorker), (await Store.GetAsync(["alloc/bitmap"], Cancellation))["alloc/bitmap"]);
    }

    [Fact]
    public async Task Lists_ten_thousand_keys_quickly()
    {
        const int Count = 10_000;
        for (var batch = 0; batch < Count / 500; batch++)
        {
            var writes = Enumerable.Range(batch * 500, 500)
                .Select(i => new KeyWrite($"big/{i:D5}", $"{{\"id\":{i},\"name\":\"endpoint-{i}\"}}"))
                .ToArray();
            Assert.True(await CommitAsync(writes));
        }

        Assert.True(await CommitAsync(new KeyWrite("bigger/x", "outside")));
        var other = await OpenStoreAsync();

        var timer = Stopwatch.StartNew();
        var listed = await other.ListAsync("big/", Cancellation);
        var elapsed = timer.Elapsed;

        Assert.Equal(Count, listed.Count);
        Assert.Equal("big/00000", listed[0].Key);
        Assert.Equal("big/09999", listed[^1].Key);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"listing {Count} keys took {elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Subscribers_are_notified_of_written_keys_under_their_prefix()
    {
        var nets = new ChangeRecorder();
        var everything = new ChangeRecorder();
        using var netSubscription = Store.Subscribe("nets/", nets.Record);
        using var allSubscription = Store.Subscribe(string.Empty, everything.Record);

        Assert.True(await CommitAsync(new KeyWrite("nets/a", "1"), new KeyWrite("eps/x", "2")));
        Assert.True(await CommitAsync(new KeyWrite("nets/b", "3")));

        await nets.WaitForKeyAsync("nets/b", CrossInstanceDelivery);
        await everything.WaitForKeyAsync("nets/b", CrossInstanceDelivery);
        Assert.Equal(["nets/a", "nets/b"], nets.Keys.Distinct());
        Assert.Equal(["eps/x", "nets/a", "nets/b"], everything.Keys.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Deletes_are_notified()
    {
        Assert.True(await CommitAsync(new KeyWrite("del/a", "1")));
        var changes = new ChangeRecorder();
        using var subscription = Store.Subscribe("del/", changes.Record);

        Assert.True(await CommitAsync(new KeyWrite("del/a", null)));

        await changes.WaitForKeyAsync("del/a", CrossInstanceDelivery);
    }

    [Fact]
    public async Task Failed_commits_notify_nothing()
    {
        Assert.True(await CommitAsync(new KeyWrite("f/a", "1")));
        var changes = new ChangeRecorder();
        using var subscription = Store.Subscribe("f/", changes.Record);

        Assert.False(await Store.TryCommitAsync([new KeyCondition("f/a", "0")], [new KeyWrite("f/a", "2"), new KeyWrite("f/b", "2")], Cancellation));
        Assert.True(await CommitAsync(new KeyWrite("f/sentinel", "1")));

        // Notifications arrive in commit order: once the sentinel is in, nothing else is coming.
        await changes.WaitForKeyAsync("f/sentinel", CrossInstanceDelivery);
        Assert.Equal(["f/sentinel"], changes.Keys.Distinct());
    }

    [Fact]
    public async Task Another_instance_sees_commits_and_is_notified()
    {
        var other = await OpenStoreAsync();
        var changes = new ChangeRecorder();
        using var subscription = other.Subscribe("x/", changes.Record);

        Assert.True(await CommitAsync(new KeyWrite("x/a", "1"), new KeyWrite("y/a", "1")));

        await changes.WaitForKeyAsync("x/a", CrossInstanceDelivery);
        Assert.Equal("1", (await other.GetAsync(["x/a"], Cancellation))["x/a"]);
        Assert.DoesNotContain("y/a", changes.Keys);

        // And the other way round.
        var mine = new ChangeRecorder();
        using var mySubscription = Store.Subscribe("x/", mine.Record);
        Assert.True(await other.TryCommitAsync([new KeyCondition("x/a", "1")], [new KeyWrite("x/a", "2")], Cancellation));
        await mine.WaitForKeyAsync("x/a", CrossInstanceDelivery);
        Assert.Equal("2", (await Store.GetAsync(["x/a"], Cancellation))["x/a"]);
    }

    [Fact]
    public async Task Disposed_subscriptions_hear_nothing_more()
    {
        var kept = new ChangeRecorder();
        var dropped = new ChangeRecorder();
        using var keptSubscription = Store.Subscribe("s/", kept.Record);
        var droppedSubscription = Store.Subscribe("s/", dropped.Record);
        Assert.True(await CommitAsync(new KeyWrite("s/1", "1")));
        await dropped.WaitForKeyAsync("s/1", CrossInstanceDelivery);

        droppedSubscription.Dispose();
        Assert.True(await CommitAsync(new KeyWrite("s/2", "2")));

        await kept.WaitForKeyAsync("s/2", CrossInstanceDelivery);
        Assert.DoesNotContain("s/2", dropped.Keys);
    }

    [Fact]
    public async Task A_throwing_subscriber_does_not_silence_the_others()
    {
        var changes = new ChangeRecorder();
        using var faulty = Store.Subscribe("t/", _ => throw new InvalidOperationException("subscriber bug"));
        using var healthy = Store.Subscribe("t/", changes.Record);

        Assert.True(await CommitAsync(new KeyWrite("t/1", "1")));
        Assert.True(await CommitAsync(new KeyWrite("t/2", "2")));

        await changes.WaitForKeyAsync("t/2", CrossInstanceDelivery);
        Assert.Contains("t/1", changes.Keys);
    }
}

/// <summary>The allocation the concurrency tests run: take the lowest free slot of a '0'/'1' bitmap.</summary>
internal static class Allocation
{
    public static Func<IReadOnlyDictionary<string, string?>, TransactionPlan<int>> LowestFree(string key) => snapshot =>
    {
        var bitmap = snapshot[key] ?? string.Empty;
        var slot = bitmap.IndexOf('0', StringComparison.Ordinal);
        var next = slot < 0 ? bitmap + "1" : string.Concat(bitmap.AsSpan(0, slot), "1", bitmap.AsSpan(slot + 1));
        return new TransactionPlan<int>([new KeyWrite(key, next)], slot < 0 ? bitmap.Length : slot);
    };
}
