namespace Contiv.NetPlugin.Tests;

/// <summary>One call the plugin made into the datapath.</summary>
public sealed record DatapathCall(string Operation, NetworkDatapathSpec? Network, string? EndpointId = null, string? MacAddress = null, int Mtu = 0);

/// <summary>
/// Records every datapath call instead of touching the kernel. CreateEndpoint returns a recognisable
/// container-side name (<c>fk</c> + the first 10 characters of the endpoint id).
/// </summary>
public sealed class FakeDatapath : IHostDatapath
{
    private readonly Lock _gate = new();
    private readonly List<DatapathCall> _calls = [];
    private readonly HashSet<NetworkDatapathSpec> _networks = [];

    public IReadOnlyList<DatapathCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>When set, the next CreateEndpoint throws it (as the kernel would refuse), after recording the call.</summary>
    public Exception? FailNextCreateEndpoint { get; set; }

    public static string ContainerSide(string endpointId) => "fk" + endpointId[..Math.Min(10, endpointId.Length)];

    public void Clear()
    {
        lock (_gate)
        {
            _calls.Clear();
        }
    }

    public void EnsureNetwork(NetworkDatapathSpec network) => Record(new DatapathCall(nameof(EnsureNetwork), network), () => _networks.Add(network));

    public void RemoveNetwork(NetworkDatapathSpec network) => Record(new DatapathCall(nameof(RemoveNetwork), network), () => _networks.Remove(network));

    public string CreateEndpoint(NetworkDatapathSpec network, string endpointId, string macAddress, int mtu)
    {
        Record(new DatapathCall(nameof(CreateEndpoint), network, endpointId, macAddress, mtu));
        if (FailNextCreateEndpoint is { } failure)
        {
            FailNextCreateEndpoint = null;
            throw failure;
        }

        return ContainerSide(endpointId);
    }

    public void DeleteEndpoint(NetworkDatapathSpec? network, string endpointId) => Record(new DatapathCall(nameof(DeleteEndpoint), network, endpointId));

    public void SyncRemoteEndpoints(NetworkDatapathSpec network, IReadOnlyCollection<RemoteEndpoint> endpoints, IReadOnlyCollection<string> vteps) =>
        Record(new DatapathCall(nameof(SyncRemoteEndpoints), network));

    /// <summary>The routed networks of the last SyncTenantRouters (not a recorded call: the agent repeats it every pass).</summary>
    public IReadOnlyCollection<RoutedNetwork> TenantRouters { get; private set; } = [];

    public void SyncTenantRouters(IReadOnlyCollection<RoutedNetwork> networks) => TenantRouters = networks;

    public IReadOnlyCollection<NetworkDatapathSpec> ListNetworks()
    {
        lock (_gate)
        {
            return [.. _networks];
        }
    }

    private void Record(DatapathCall call, Action? effect = null)
    {
        lock (_gate)
        {
            _calls.Add(call);
            effect?.Invoke();
        }
    }
}
