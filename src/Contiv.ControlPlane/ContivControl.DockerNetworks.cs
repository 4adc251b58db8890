namespace Contiv.ControlPlane;

/// <summary>Waiting for the Docker side of a new network or group on every live host.</summary>
public sealed partial class ContivControl
{
    private static readonly TimeSpan DockerNetworkPollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Waits until every live host whose agent creates Docker networks has one bound for
    /// <paramref name="networkId"/> (and <paramref name="group"/>, when given), or until
    /// <paramref name="timeout"/>. Returns the hosts still without it (empty: all have it).
    /// </summary>
    /// <remarks>
    /// Each host's agent creates the Docker network on its own engine once the store tells it a
    /// network or group exists, a few hundred milliseconds later; Docker then hands it to netplugin,
    /// which records the binding (<see cref="DockerNetworkMap"/>). Without this wait, a `docker run
    /// --net=NAME` typed right after `netctl net create` or `netctl group create` on another host
    /// could find no such network. Hosts that stopped sending heartbeats for
    /// <paramref name="hostTimeout"/> are not waited for; a live host whose engine does not answer
    /// costs the timeout, never an error.
    /// </remarks>
    public async Task<IReadOnlyList<string>> WaitForDockerNetworksAsync(string networkId, string? group, TimeSpan timeout, TimeSpan hostTimeout, CancellationToken ct = default)
    {
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            var now = _time.GetUtcNow();
            var missing = new List<string>();
            foreach (var host in await ListHostsAsync(ct))
            {
                if (!host.CreatesDockerNetworks || now - host.LastSeen >= hostTimeout)
                {
                    continue;
                }

                var bindings = await DockerNetworks(host.Name).ListAsync(ct);
                if (!bindings.Values.Any(b => b.NetworkId == networkId && b.Group == group))
                {
                    missing.Add(host.Name);
                }
            }

            if (missing.Count == 0 || _time.GetUtcNow() >= deadline)
            {
                return missing;
            }

            await Task.Delay(DockerNetworkPollInterval, _time, ct);
        }
    }
}
