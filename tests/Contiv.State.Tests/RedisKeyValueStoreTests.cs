using System.Diagnostics;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>Redis-specific behaviour on a shared server: namespacing, key layout, lost replies.</summary>
public sealed class RedisKeyValueStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Key_prefixes_isolate_stores_sharing_a_server()
    {
        await using var blue = KeyValueStoreFactory.Create(redis.Server.UrlWithPrefix(RedisServerFixture.UniquePrefix("blue")));
        await using var green = KeyValueStoreFactory.Create(redis.Server.UrlWithPrefix(RedisServerFixture.UniquePrefix("green")));
        var greenChanges = new ChangeRecorder();
        using var subscription = green.Subscribe(string.Empty, greenChanges.Record);

        Assert.True(await blue.TryCommitAsync([], [new KeyWrite("nets/a", "blue")], Cancellation));
        Assert.True(await green.TryCommitAsync([new KeyCondition("nets/a", null)], [new KeyWrite("nets/a", "green"), new KeyWrite("green/sentinel", "1")], Cancellation));

        Assert.Equal("blue", (await blue.GetAsync(["nets/a"], Cancellation))["nets/a"]);
        Assert.Equal("green", (await green.GetAsync(["nets/a"], Cancellation))["nets/a"]);
        Assert.Equal(["nets/a"], (await blue.ListAsync(string.Empty, Cancellation)).Select(p => p.Key));
        await greenChanges.WaitForKeyAsync("green/sentinel", TimeSpan.FromSeconds(5));
        Assert.Equal(1, greenChanges.Keys.Count(k => k == "nets/a"));
    }

    [Fact]
    public async Task Keys_live_under_the_prefix_with_an_index_and_expiring_receipts()
    {
        var prefix = RedisServerFixture.UniquePrefix("layout");
        await using var store = KeyValueStoreFactory.Create(redis.Server.UrlWithPrefix(prefix));

        Assert.True(await store.TryCommitAsync([], [new KeyWrite("a", "1"), new KeyWrite("b", "2")], Cancellation));
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("b", null)], Cancellation));

        // Stored behind the value marker (see RedisKeyValueStore.Encode).
        Assert.Equal("v1", await redis.Server.ExecuteAsync("GET", prefix + "data/a"));
        Assert.Equal(0L, await redis.Server.ExecuteAsync("EXISTS", prefix + "data/b"));
        Assert.Equal(new object?[] { "a" }, await redis.Server.ExecuteAsync("ZRANGE", prefix + "index", "0", "-1"));
        var receipts = (object?[])(await redis.Server.ExecuteAsync("KEYS", prefix + "receipts/*"))!;
        Assert.Equal(2, receipts.Length);
        var ttl = (long)(await redis.Server.ExecuteAsync("TTL", (string)receipts[0]!))!;
        Assert.InRange(ttl, 1, 120);
    }

    [Fact]
    public async Task A_commit_whose_reply_is_lost_is_applied_once_and_reported_as_committed()
    {
        var prefix = RedisServerFixture.UniquePrefix("lost-reply");
        await using var store = KeyValueStoreFactory.Create(redis.Server.UrlWithPrefix(prefix));
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("counter", "5")], Cancellation));
        var changes = new ChangeRecorder();
        using var subscription = store.Subscribe(string.Empty, changes.Record);

        // Hold every write on the server for longer than one attempt (1 s): the first EXEC times out on
        // the client, the retry finds the outcome unknown, and the held EXEC runs when the pause ends.
        Assert.Equal("OK", await redis.Server.ExecuteAsync("CLIENT", "PAUSE", "1600", "WRITE"));
        var committed = await store.TryCommitAsync([new KeyCondition("counter", "5")], [new KeyWrite("counter", "6")], Cancellation);

        // Without receipts the retry would fail its own condition and report false for an applied commit.
        Assert.True(committed);
        Assert.Equal("6", (await store.GetAsync(["counter"], Cancellation))["counter"]);
        // One receipt per applied commit (the first write and this one); the retry applied nothing.
        Assert.Equal(2, ((object?[])(await redis.Server.ExecuteAsync("KEYS", prefix + "receipts/*"))!).Length);
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("sentinel", "1")], Cancellation));
        await changes.WaitForKeyAsync("sentinel", TimeSpan.FromSeconds(5));
        Assert.Equal(1, changes.Keys.Count(k => k == "counter"));
    }

    [Fact]
    public async Task Options_parse_from_urls_and_describe_without_secrets()
    {
        var options = RedisStoreOptions.Parse("redis://127.0.0.1:6390/3?prefix=lab%2F&password=s3cret");

        Assert.Equal("redis://127.0.0.1:6390/3", options.Description);
        Assert.Equal("lab/", options.KeyPrefix);
        Assert.Equal("s3cret", options.Password);
        Assert.Equal(3, options.Database);
        await using var store = new RedisKeyValueStore(options);
        Assert.Equal("redis://127.0.0.1:6390/3", store.Description);
    }

    [Fact]
    public async Task Wrong_password_is_reported_as_unavailable_with_the_reason()
    {
        await using var secured = await RedisServer.StartOrSkipAsync(new RedisServerOptions { ExtraArguments = ["--requirepass", "right"] });
        await using var store = KeyValueStoreFactory.Create(secured.Url + "?password=wrong");

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetAsync(["a"], Cancellation));

        Assert.StartsWith($"state store {secured.Url} is unreachable: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", error.Message, StringComparison.Ordinal);

        await using var authorised = KeyValueStoreFactory.Create(secured.Url + "?password=right");
        Assert.True(await authorised.TryCommitAsync([], [new KeyWrite("a", "1")], Cancellation));
    }
}

/// <summary>Redis outages, restarts and persistence: one private server per test.</summary>
public sealed class RedisOutageTests
{
    /// <summary>The store gives up after about 4 s; allow for a slow CI machine.</summary>
    private static readonly TimeSpan FailureBound = TimeSpan.FromSeconds(6);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Operations_fail_fast_while_redis_is_down_and_the_same_store_recovers()
    {
        await using var server = await RedisServer.StartOrSkipAsync();
        await using var store = KeyValueStoreFactory.Create(server.UrlWithPrefix("outage/"));
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("before", "1")], Cancellation));

        await server.StopAsync();

        var read = await TimedFailureAsync(() => store.GetAsync(["before"], Cancellation));
        Assert.StartsWith($"state store {server.Url} is unreachable: ", read.Message, StringComparison.Ordinal);
        await TimedFailureAsync(() => store.ListAsync(string.Empty, Cancellation));
        // The client knows the connection is gone, so the commit is never sent: certainly not applied.
        var commit = await TimedFailureAsync(() => store.TryCommitAsync([], [new KeyWrite("during", "1"), new KeyWrite("before", "2")], Cancellation));
        Assert.False(commit.CommitOutcomeUnknown, commit.Message);
        await TimedFailureAsync(() => StoreTransaction.RunAsync(store, ["alloc"], Allocation.LowestFree("alloc"), Cancellation));

        await server.StartAsync();

        // Same store object: StackExchange.Redis reconnects in the background within about a second.
        var values = await EventuallyAsync(() => store.GetAsync(["before", "during"], Cancellation));
        Assert.Equal("1", values["before"]);
        Assert.Null(values["during"]);
        Assert.True(await store.TryCommitAsync([new KeyCondition("before", "1")], [new KeyWrite("after", "1")], Cancellation));
        Assert.Equal(["after", "before"], (await store.ListAsync(string.Empty, Cancellation)).Select(p => p.Key));
    }

    [Fact]
    public async Task A_store_opened_while_redis_is_down_works_once_it_is_up()
    {
        await using var server = await RedisServer.StartOrSkipAsync();
        await server.StopAsync();
        await using var store = KeyValueStoreFactory.Create(server.UrlWithPrefix("late/"));
        var changes = new ChangeRecorder();

        var subscribing = Stopwatch.StartNew();
        using var subscription = store.Subscribe(string.Empty, changes.Record);
        Assert.True(subscribing.Elapsed < FailureBound, $"Subscribe blocked for {subscribing.Elapsed}");
        await TimedFailureAsync(() => store.GetAsync(["a"], Cancellation));

        await server.StartAsync();

        // The subscription is made when Redis appears, and announced with a Resync.
        await changes.WaitForResyncAsync(TimeSpan.FromSeconds(10));
        Assert.True(await EventuallyAsync(() => store.TryCommitAsync([], [new KeyWrite("a", "1")], Cancellation)));
        await changes.WaitForKeyAsync("a", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Committed_data_survives_a_restart_from_the_append_only_file()
    {
        await using var server = await RedisServer.StartOrSkipAsync();
        await using (var store = KeyValueStoreFactory.Create(server.UrlWithPrefix("aof/")))
        {
            Assert.True(await store.TryCommitAsync([], [new KeyWrite("nets/a", "1"), new KeyWrite("nets/b", "2")], Cancellation));
            Assert.True(await store.TryCommitAsync([], [new KeyWrite("nets/b", null), new KeyWrite("nets/c", "3")], Cancellation));
        }

        await server.StopAsync();
        await server.StartAsync();

        await using var reopened = KeyValueStoreFactory.Create(server.UrlWithPrefix("aof/"));
        var listed = await EventuallyAsync(() => reopened.ListAsync("nets/", Cancellation));
        Assert.Equal(["nets/a", "nets/c"], listed.Select(p => p.Key));
        Assert.Equal(["1", "3"], listed.Select(p => p.Value));
    }

    [Fact]
    public async Task Subscribers_get_a_resync_after_a_restart_and_notifications_resume()
    {
        await using var server = await RedisServer.StartOrSkipAsync();
        await using var store = KeyValueStoreFactory.Create(server.UrlWithPrefix("resync/"));
        await using var other = KeyValueStoreFactory.Create(server.UrlWithPrefix("resync/"));
        var changes = new ChangeRecorder();
        using var subscription = store.Subscribe("nets/", changes.Record);
        Assert.True(await other.TryCommitAsync([], [new KeyWrite("nets/before", "1")], Cancellation));
        await changes.WaitForKeyAsync("nets/before", TimeSpan.FromSeconds(5));
        Assert.False(changes.SawResync);

        await server.StopAsync();
        await server.StartAsync();

        await changes.WaitForResyncAsync(TimeSpan.FromSeconds(10));
        // The Resync is only sent once the subscription is live again, so this commit must be heard.
        Assert.True(await EventuallyAsync(() => other.TryCommitAsync([], [new KeyWrite("nets/after", "1")], Cancellation)));
        await changes.WaitForKeyAsync("nets/after", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_killed_server_loses_nothing_that_was_committed_before_the_last_fsync()
    {
        await using var server = await RedisServer.StartOrSkipAsync();
        await using var store = KeyValueStoreFactory.Create(server.UrlWithPrefix("kill/"));
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("a", "1")], Cancellation));
        // appendfsync everysec: wait out one fsync period before pulling the plug.
        await Task.Delay(1500, Cancellation);

        await server.KillAsync();
        await server.StartAsync();

        Assert.Equal("1", (await EventuallyAsync(() => store.GetAsync(["a"], Cancellation)))["a"]);
    }

    private static async Task<StoreUnavailableException> TimedFailureAsync(Func<Task> operation)
    {
        var timer = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<StoreUnavailableException>(operation);
        Assert.True(timer.Elapsed < FailureBound, $"took {timer.Elapsed.TotalSeconds:0.0} s to fail: {error.Message}");
        return error;
    }

    /// <summary>Retries while the store is still reconnecting (each try itself bounded by the store).</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> operation)
    {
        var timer = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await operation();
            }
            catch (StoreUnavailableException) when (timer.Elapsed < TimeSpan.FromSeconds(15))
            {
            }
        }
    }
}
