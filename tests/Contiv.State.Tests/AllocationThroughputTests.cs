using System.Diagnostics;
using System.Globalization;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>
/// A benchmark figure, not a performance assertion: address takes per second from one process on
/// Redis and on etcd (one member and three), printed to the test output. Every figure is checked
/// for correctness only (each take succeeds, no slot twice).
/// </summary>
[Collection(nameof(RunsChildProcesses))]
public sealed class AllocationThroughputTests
{
    private const uint PoolBase = 10u << 24;
    private const int Workers = 4;
    private const int TakesPerWorker = 250;

    [Fact(Timeout = 180_000)]
    public async Task Prints_address_takes_per_second_on_redis_and_etcd()
    {
        if (RedisServer.UnavailableReason is { } redisMissing)
        {
            Prerequisite.Missing(redisMissing);
        }

        await using var redis = await RedisServer.StartNewAsync();
        await using var etcd = await EtcdCluster.StartOrSkipAsync();
        await using var cluster = await EtcdCluster.StartNewAsync(members: 3);
        var output = TestContext.Current.TestOutputHelper;

        var results = new List<(string Store, double PerSecond)>();
        foreach (var (name, url) in new[] { ("redis", redis.UrlWithPrefix("bench/")), ("etcd x1", etcd.UrlWithPrefix("bench/")), ("etcd x3", cluster.UrlWithPrefix("bench/")) })
        {
            await using var store = KeyValueStoreFactory.Create(url);
            var perSecond = await MeasureAsync(store);
            results.Add((name, perSecond));
            output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-8} {perSecond,8:0} takes/s ({Workers} concurrent callers, {Workers * TakesPerWorker} takes with a lease record each)"));
        }

        output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"etcd x1 / redis = {results[1].PerSecond / results[0].PerSecond:0.00}; etcd x3 / redis = {results[2].PerSecond / results[0].PerSecond:0.00}"));
    }

    private static async Task<double> MeasureAsync(IKeyValueStore store)
    {
        var cancellation = TestContext.Current.CancellationToken;
        Assert.True(await store.TryCommitAsync([], [], [], [new PoolWrite("pools/bench", new AddressPoolSpec(PoolBase, 4096, [0, 4095]))], cancellation));
        // Warm up (connections, the pool cache) outside the measurement.
        var warmUp = await store.TakeFromPoolAsync(new PoolTake("pools/bench"), cancellation);
        Assert.Equal(PoolTakeOutcome.Taken, warmUp.Outcome);

        var timer = Stopwatch.StartNew();
        var slots = await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(
            async () =>
            {
                var taken = new List<int>(TakesPerWorker);
                for (var i = 0; i < TakesPerWorker; i++)
                {
                    var result = await store.TakeFromPoolAsync(new PoolTake("pools/bench", null, "leases/", $"worker-{worker}"), cancellation);
                    Assert.Equal(PoolTakeOutcome.Taken, result.Outcome);
                    taken.Add(result.Slot);
                }

                return taken;
            },
            cancellation)));
        var elapsed = timer.Elapsed;

        var all = slots.SelectMany(taken => taken).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        return all.Count / elapsed.TotalSeconds;
    }
}
