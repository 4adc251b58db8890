using System.Globalization;
using System.Text;
using Contiv.State;

// Child process for Contiv.State.Tests. Modes:
//   allocate STORE-URL KEY COUNT OUTPUT-FILE
//       Warms up, prints "ready", waits for "go" on stdin (so all children start together), then allocates COUNT
//       times the lowest free slot of the bitmap in KEY ('1' = taken) through StoreTransaction, writes
//       the slots it got to OUTPUT-FILE (one per line) and prints "done".
//   churn STORE-URL
//       Commits forever: keys churn/a and churn/b always get the same large value in one commit,
//       so a torn or partially applied commit would show up as a != b. Prints "committing" after the
//       first commit. Meant to be killed with SIGKILL.
if (args.Length < 2)
{
    await Console.Error.WriteLineAsync("usage: allocate STORE-URL KEY COUNT OUTPUT-FILE | churn STORE-URL");
    return 2;
}

try
{
    await using var store = KeyValueStoreFactory.Create(args[1]);
    switch (args[0])
    {
        case "allocate" when args.Length == 5:
            await AllocateAsync(store, args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4]);
            return 0;
        case "churn":
            await ChurnAsync(store);
            return 0;
        default:
            await Console.Error.WriteLineAsync($"unknown mode or wrong arguments: {string.Join(' ', args)}");
            return 2;
    }
}
catch (Exception exception)
{
    await Console.Error.WriteLineAsync(exception.ToString());
    return 1;
}

static async Task AllocateAsync(IKeyValueStore store, string key, int count, string outputFile)
{
    // Connect and JIT the read and commit paths before reporting ready, so that after "go" every
    // child is allocating at full speed at the same time.
    _ = await store.GetAsync([key]);
    _ = await store.TryCommitAsync([], [new KeyWrite($"warm-up/{Environment.ProcessId}", "1")]);
    Console.WriteLine("ready");
    if (Console.ReadLine() != "go")
    {
        throw new InvalidOperationException("expected 'go' on stdin");
    }

    var slots = new List<int>(count);
    for (var i = 0; i < count; i++)
    {
        slots.Add(await StoreTransaction.RunAsync(store, [key], snapshot => AllocateLowestFree(snapshot[key], key)));
    }

    await File.WriteAllLinesAsync(outputFile, slots.Select(s => s.ToString(CultureInfo.InvariantCulture)));
    Console.WriteLine("done");
}

static TransactionPlan<int> AllocateLowestFree(string? bitmap, string key)
{
    bitmap ??= string.Empty;
    var slot = bitmap.IndexOf('0', StringComparison.Ordinal);
    if (slot < 0)
    {
        return new TransactionPlan<int>([new KeyWrite(key, bitmap + "1")], bitmap.Length);
    }

    var taken = new StringBuilder(bitmap) { [slot] = '1' };
    return new TransactionPlan<int>([new KeyWrite(key, taken.ToString())], slot);
}

static async Task ChurnAsync(IKeyValueStore store)
{
    var padding = new string('x', 64 * 1024);
    for (var i = 0L; ; i++)
    {
        var value = $"{Environment.ProcessId}:{i}:{padding}";
        _ = await StoreTransaction.RunAsync<bool>(
            store,
            ["churn/a", "churn/b"],
            _ => new TransactionPlan<bool>([new KeyWrite("churn/a", value), new KeyWrite("churn/b", value), new KeyWrite($"churn/n/{i % 50}", value[..40])], true));
        if (i == 0)
        {
            Console.WriteLine("committing");
        }
    }
}
