namespace Contiv.NetPlugin;

/// <summary>
/// Counts the failures of another <see cref="IHostDatapath"/> (<see cref="PluginMetrics.DatapathError"/>),
/// whoever drives it: plugin calls and the host agent's reconcile passes. Failures still propagate.
/// </summary>
public sealed class InstrumentedDatapath(IHostDatapath inner, PluginMetrics metrics) : IHostDatapath
{
    public void EnsureNetwork(NetworkDatapathSpec network) => Run(nameof(EnsureNetwork), () => inner.EnsureNetwork(network));

    public void RemoveNetwork(NetworkDatapathSpec network) => Run(nameof(RemoveNetwork), () => inner.RemoveNetwork(network));

    public string CreateEndpoint(NetworkDatapathSpec network, string endpointId, string macAddress, int mtu) =>
        metrics.Datapath(nameof(CreateEndpoint), () => inner.CreateEndpoint(network, endpointId, macAddress, mtu));

    public void DeleteEndpoint(NetworkDatapathSpec? network, string endpointId) => Run(nameof(DeleteEndpoint), () => inner.DeleteEndpoint(network, endpointId));

    public void SyncRemoteEndpoints(NetworkDatapathSpec network, IReadOnlyCollection<RemoteEndpoint> endpoints, IReadOnlyCollection<string> vteps) =>
        Run(nameof(SyncRemoteEndpoints), () => inner.SyncRemoteEndpoints(network, endpoints, vteps));

    public IReadOnlyCollection<NetworkDatapathSpec> ListNetworks() => metrics.Datapath(nameof(ListNetworks), inner.ListNetworks);

    public void SyncTenantRouters(IReadOnlyCollection<RoutedNetwork> networks) => Run(nameof(SyncTenantRouters), () => inner.SyncTenantRouters(networks));

    private void Run(string operation, Action action) => metrics.Datapath(operation, () =>
    {
        action();
        return true;
    });
}
