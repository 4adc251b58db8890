using System.Globalization;
using System.Text.Json;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>
/// Tests that run several child processes at once. They run alone (not beside other test classes):
/// on a small CI machine, parallel tests would starve the children and stretch the runtime.
/// </summary>
[CollectionDefinition(nameof(RunsChildProcesses), DisableParallelization = true)]
public sealed class RunsChildProcesses;

[Collection(nameof(RunsChildProcesses))]
public sealed class MultiProcessAllocationTests
{
    private const string BitmapKey = "pool/bitmap";

    [Fact(Timeout = 90_000)]
    public async Task Processes_sharing_redis_never_get_the_same_slot()
    {
        await using var server = await RedisServer.StartOrSkipAsync();

        await RunAllocatorsAsync(server.UrlWithPrefix("alloc/"), processes: 3, allocationsEach: 1000);
    }

    [Fact(Timeout = 90_000)]
    public async Task Processes_sharing_etcd_never_get_the_same_slot()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync();

        await RunAllocatorsAsync(etcd.UrlWithPrefix("alloc/"), processes: 3, allocationsEach: 300);
    }

    [Fact(Timeout = 90_000)]
    public async Task Processes_sharing_an_embedded_store_never_get_the_same_slot()
    {
        using var directory = TempDirectory.Create("contiv-state-");

        await RunAllocatorsAsync("embedded://" + directory.Path, processes: 3, allocationsEach: 300);
    }

    /// <summary>
    /// Each child allocates the lowest free slot of one shared bitmap key, again and again, through
    /// StoreTransaction; all start together. Every slot must be handed out exactly once.
    /// </summary>
    private static async Task RunAllocatorsAsync(string storeUrl, int processes, int allocationsEach)
    {
        using var outputs = TempDirectory.Create("contiv-alloc-");
        await DotNetHost.RunTogetherAsync(
            DotNetHost.BesideTests("Contiv.State.StressTool.dll"),
            Enumerable.Range(0, processes).Select(i => new[] { "allocate", storeUrl, BitmapKey, allocationsEach.ToString(CultureInfo.InvariantCulture), outputs.Combine($"slots-{i}.txt") }),
            readyTimeout: TimeSpan.FromSeconds(30),
            finishTimeout: TimeSpan.FromSeconds(60));

        var perProcess = Enumerable.Range(0, processes)
            .Select(i => File.ReadAllLines(outputs.Combine($"slots-{i}.txt")).Select(line => int.Parse(line, CultureInfo.InvariantCulture)).ToList())
            .ToList();
        var all = perProcess.SelectMany(slots => slots).ToList();
        var duplicates = all.GroupBy(slot => slot).Where(g => g.Count() > 1).Select(g => g.Key).Take(10).ToList();
        Assert.True(duplicates.Count == 0, $"slots handed out more than once: {string.Join(", ", duplicates)}");
        Assert.Equal(processes * allocationsEach, all.Count);
        // Nothing is ever freed, so "lowest free" hands out exactly 0..N-1.
        Assert.Equal(Enumerable.Range(0, all.Count), all.Order());
        // The processes really competed: slot ranges interleave rather than following each other.
        var ranges = perProcess.Select(slots => (First: slots.Min(), Last: slots.Max())).ToList();
        var interleaved = ranges.SelectMany((a, i) => ranges.Skip(i + 1), (a, b) => a.First < b.Last && b.First < a.Last).Any(overlap => overlap);
        Assert.True(interleaved, $"the allocators did not run concurrently: slot ranges {string.Join(", ", ranges)}");

        await using var store = KeyValueStoreFactory.Create(storeUrl);
        var bitmap = (await store.GetAsync([BitmapKey], TestContext.Current.CancellationToken))[BitmapKey];
        Assert.Equal(new string('1', all.Count), bitmap);
    }
}

[Collection(nameof(RunsChildProcesses))]
public sealed class EmbeddedCrashTests
{
    [Fact(Timeout = 90_000)]
    public async Task Writers_killed_mid_commit_never_leave_a_torn_or_half_applied_state()
    {
        using var directory = TempDirectory.Create("contiv-state-");
        var url = "embedded://" + directory.Path;
        var tool = DotNetHost.BesideTests("Contiv.State.StressTool.dll");
        var output = TestContext.Current.TestOutputHelper;
        await using var observer = new EmbeddedKeyValueStore(directory.Path);
        var changes = new ChangeRecorder();
        using var subscription = observer.Subscribe("churn/", changes.Record);
        var killedBetweenWriteAndRename = 0;

        for (var round = 0; round < 6; round++)
        {
            // Two writers compete for the lock and write 128 KB per commit, so a kill lands mid-commit
            // (writing, syncing, renaming or waiting for the lock) most of the time.
            await using (var first = DotNetHost.StartAssembly(tool, ["churn", url]))
            await using (var second = DotNetHost.StartAssembly(tool, ["churn", url]))
            {
                await first.ExpectLineAsync("committing", TimeSpan.FromSeconds(30));
                await second.ExpectLineAsync("committing", TimeSpan.FromSeconds(30));
                await Task.Delay(Random.Shared.Next(10, 150), TestContext.Current.CancellationToken);
                await first.KillAsync();
                await second.KillAsync();
            }

            if (File.Exists(Path.Combine(directory.Path, EmbeddedKeyValueStore.DataFileName + ".tmp")))
            {
                killedBetweenWriteAndRename++;
            }

            // The data file is always complete JSON...
            using (var document = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(directory.Path, EmbeddedKeyValueStore.DataFileName), TestContext.Current.CancellationToken)))
            {
                Assert.True(document.RootElement.GetProperty("generation").GetInt64() > 0);
            }

            // ...a fresh store opens it and sees every commit whole (churn/a and churn/b are always
            // written together with one value)...
            await using var reopened = new EmbeddedKeyValueStore(directory.Path);
            var values = await reopened.GetAsync(["churn/a", "churn/b"], TestContext.Current.CancellationToken);
            Assert.NotNull(values["churn/a"]);
            Assert.Equal(values["churn/a"], values["churn/b"]);
            // ...and the killed writers' lock died with them.
            Assert.True(await reopened.TryCommitAsync([], [new KeyWrite("round", round.ToString(CultureInfo.InvariantCulture))], TestContext.Current.CancellationToken));
        }

        output?.WriteLine($"rounds where a writer was killed between writing and renaming: {killedBetweenWriteAndRename} of 6");
        // The subscriber in this process heard the other processes' commits.
        await changes.WaitForKeyAsync("churn/a", TimeSpan.FromSeconds(3));
    }
}
