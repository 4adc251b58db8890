using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>Embedded-store specifics: the file format, locking with other processes, damaged files.</summary>
public sealed class EmbeddedKeyValueStoreTests : IDisposable
{
    private readonly TempDirectory _directory = TempDirectory.Create("contiv-state-");

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private string DataFile => _directory.Combine(EmbeddedKeyValueStore.DataFileName);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task The_data_file_is_json_with_a_generation_per_commit()
    {
        await using var store = new EmbeddedKeyValueStore(_directory.Path);
        Assert.False(File.Exists(DataFile));

        Assert.True(await store.TryCommitAsync([], [new KeyWrite("b", "2"), new KeyWrite("a", "1")], Cancellation));
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("b", null)], Cancellation));
        Assert.False(await store.TryCommitAsync([new KeyCondition("a", "0")], [new KeyWrite("a", "x")], Cancellation));

        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(DataFile, Cancellation));
        var root = document.RootElement;
        Assert.Equal(1, root.GetProperty("format").GetInt32());
        Assert.Equal(2, root.GetProperty("generation").GetInt64());
        Assert.Equal(32, root.GetProperty("storeId").GetString()!.Length);
        Assert.Equal("""{"a":"1"}""", JsonSerializer.Serialize(root.GetProperty("entries")));
        Assert.Equal("embedded://" + _directory.Path, store.Description);
    }

    [Fact]
    public void The_identity_is_read_from_the_start_of_the_file()
    {
        var head = Encoding.UTF8.GetBytes("""{ "format": 1, "storeId": "abc", "generation": 42, "entries": { "k": "v""");

        Assert.True(EmbeddedStateFile.TryReadIdentity(head, out var storeId, out var generation));
        Assert.Equal(("abc", 42L), (storeId, generation));
        Assert.False(EmbeddedStateFile.TryReadIdentity(Encoding.UTF8.GetBytes("""{"format":1,"stor"""), out _, out _));
        Assert.False(EmbeddedStateFile.TryReadIdentity(Encoding.UTF8.GetBytes("""{"entries":{},"storeId":"x","generation":1}"""), out _, out _));
    }

    [Fact]
    public async Task A_damaged_data_file_is_reported_not_silently_replaced()
    {
        await File.WriteAllTextAsync(DataFile, """{"format":1,"storeId":"x","generation":3,"entries":{"a":""", Cancellation);
        await using var store = new EmbeddedKeyValueStore(_directory.Path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetAsync(["a"], Cancellation));
        Assert.Contains(DataFile, error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidDataException>(() => store.TryCommitAsync([], [new KeyWrite("a", "1")], Cancellation));
        Assert.StartsWith("""{"format":1,"storeId":"x""", await File.ReadAllTextAsync(DataFile, Cancellation), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_commit_waits_for_a_lock_held_by_another_process_and_times_out_cleanly()
    {
        await using var store = new EmbeddedKeyValueStore(_directory.Path, new EmbeddedStoreOptions { LockTimeout = TimeSpan.FromMilliseconds(600) });
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("a", "1")], Cancellation));
        var lockFile = _directory.Combine(EmbeddedKeyValueStore.LockFileName);

        // flock(1) takes the same kind of lock (flock(2)) as the store: proof that the lock is shared
        // with other processes, not only within this one.
        await using (var holder = ChildProcess.Start("/usr/bin/flock", ["--no-fork", "--exclusive", lockFile, "/bin/sh", "-c", "echo locked; exec sleep 30"]))
        {
            await holder.ExpectLineAsync("locked", TimeSpan.FromSeconds(10));

            var timer = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.TryCommitAsync([], [new KeyWrite("a", "2")], Cancellation));

            Assert.InRange(timer.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
            Assert.Contains("lock", error.Message, StringComparison.Ordinal);
            Assert.False(error.CommitOutcomeUnknown);
            // Reads need no lock.
            Assert.Equal("1", (await store.GetAsync(["a"], Cancellation))["a"]);
        }

        Assert.True(await store.TryCommitAsync([new KeyCondition("a", "1")], [new KeyWrite("a", "2")], Cancellation));
    }

    [Fact]
    public async Task Subscribers_resync_when_the_state_directory_is_wiped()
    {
        await using var store = new EmbeddedKeyValueStore(_directory.Path, new EmbeddedStoreOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
        Assert.True(await store.TryCommitAsync([], [new KeyWrite("a", "1")], Cancellation));
        var changes = new ChangeRecorder();
        using var subscription = store.Subscribe(string.Empty, changes.Record);

        File.Delete(DataFile);

        await changes.WaitForResyncAsync(TimeSpan.FromSeconds(3));
        Assert.Empty(await store.ListAsync(string.Empty, Cancellation));
    }

    [Fact]
    public async Task An_unusable_state_directory_fails_when_opening()
    {
        var notADirectory = _directory.Combine("file");
        await File.WriteAllTextAsync(notADirectory, "x", Cancellation);

        Assert.ThrowsAny<IOException>(() => new EmbeddedKeyValueStore(Path.Combine(notADirectory, "state")));
    }
}
