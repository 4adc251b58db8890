using System.Diagnostics;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>Collects the notifications of one subscription and waits for expected ones.</summary>
internal sealed class ChangeRecorder
{
    private readonly List<StoreChange> _changes = [];

    public void Record(StoreChange change)
    {
        lock (_changes)
        {
            _changes.Add(change);
        }
    }

    public IReadOnlyList<StoreChange> Changes
    {
        get
        {
            lock (_changes)
            {
                return [.. _changes];
            }
        }
    }

    public IReadOnlyList<string> Keys => [.. Changes.Where(c => !c.IsResync).Select(c => c.Key)];

    public bool SawResync => Changes.Any(c => c.IsResync);

    public Task WaitForKeyAsync(string key, TimeSpan timeout) =>
        WaitForAsync(changes => changes.Any(c => c.Key == key), timeout, $"a notification for '{key}'");

    public Task WaitForResyncAsync(TimeSpan timeout) =>
        WaitForAsync(changes => changes.Any(c => c.IsResync), timeout, "a Resync notification");

    public async Task WaitForAsync(Func<IReadOnlyList<StoreChange>, bool> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition(Changes))
        {
            if (waited.Elapsed > timeout)
            {
                Assert.Fail($"no {what} within {timeout.TotalSeconds:0.#} s; got [{string.Join(", ", Changes.Select(c => c.IsResync ? "<resync>" : c.Key))}]");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}
