namespace Contiv.NetPlugin;

/// <summary>
/// A request for a host agent pass, coalesced with any pending one. The plugin's calls raise it
/// (a Join reveals a container name) and the agent waits on it, so neither depends on the other.
/// </summary>
public sealed class ReconcileSignal : IDisposable
{
    private readonly SemaphoreSlim _pending = new(0, 1);

    public void Request()
    {
        try
        {
            _pending.Release();
        }
        catch (SemaphoreFullException)
        {
            // A pass is already pending; it will see this request's change too.
        }
    }

    /// <summary>True when a pass was requested within <paramref name="timeout"/>.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _pending.WaitAsync(timeout, ct);

    public void Dispose() => _pending.Dispose();
}
