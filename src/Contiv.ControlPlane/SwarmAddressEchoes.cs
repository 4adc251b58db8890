using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>
/// Swarm mode (<c>--scope global</c>) only. The swarm manager's IPAM (netplugin on a manager)
/// allocates every task and attachment address; each node's engine then asks its own netplugin for
/// that same address again when it instantiates the endpoint, and releases it again when the
/// endpoint goes. Such a repeated request is an "echo": it takes no second address, and its release
/// frees nothing (only the manager's release does). One echo per host and address is recorded in
/// the store, so a restarted plugin still tells the two releases apart.
/// </summary>
public sealed class SwarmAddressEchoes(IKeyValueStore store, string hostName)
{
    private string Key(string networkId, string address) => StateKeys.SwarmEcho(networkId, address, hostName);

    public async Task AddAsync(string networkId, string address, CancellationToken ct) =>
        await store.TryCommitAsync([], [new KeyWrite(Key(networkId, address), "1")], ct);

    /// <summary>Removes this host's echo of the address; false when there was none (a real release).</summary>
    public async Task<bool> TryRemoveAsync(string networkId, string address, CancellationToken ct)
    {
        var key = Key(networkId, address);
        return (await store.GetAsync([key], ct))[key] is not null
            && await store.TryCommitAsync([new KeyCondition(key, "1")], [new KeyWrite(key, null)], ct);
    }
}
