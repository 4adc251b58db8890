namespace Contiv.NetPlugin.Tests;

/// <summary>One call the plugin made into the datapath.</summary>
public sealed record DatapathCall(string Operation, NetworkDatapathSpec? Network, string? EndpointId = null, string? MacAddress = null, int Mtu = 0);

/// <summary>One IPolicyDatapath call and whether it changed anything.</summary>
public sealed record PolicyCall(string Operation, NetworkDatapathSpec Network, string? EndpointId, Contiv.Policy.NetworkRuleset? Ruleset, Contiv.Policy.NetProfile? Profile, bool Changed);

/// <summary>
/// Records every datapath call instead of touching the kernel. CreateEndpoint returns a recognisable
/// container-side name (<c>fk</c> + the first 10 characters of the endpoint id).
/// </summary>
public sealed class FakeDatapath : IHostDatapath, IPolicyDatapath
{
    private readonly Dictionary<NetworkDatapathSpec, Contiv.Policy.NetworkRuleset> _policies = [];
    private readonly Dictionary<(NetworkDatapathSpec Network, string EndpointId), Contiv.Policy.NetProfile> _profiles = [];
    private readonly List<PolicyCall> _policyCalls = [];
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

    /// <summary>
    /// Every ApplyPolicy/ApplyEndpointProfile call, with whether it changed the fake kernel. Kept apart
    /// from <see cref="Calls"/> because the agent repeats them on every reconcile pass.
    /// </summary>
    public IReadOnlyList<PolicyCall> PolicyCalls
    {
        get
        {
            lock (_gate)
            {
                return [.. _policyCalls];
            }
        }
    }

    /// <summary>The ruleset each network enforces now (networks with an empty ruleset are absent, as the table would be).</summary>
    public IReadOnlyDictionary<NetworkDatapathSpec, Contiv.Policy.NetworkRuleset> Policies
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<NetworkDatapathSpec, Contiv.Policy.NetworkRuleset>(_policies);
            }
        }
    }

    /// <summary>The profile each endpoint has now, by (network, endpoint id).</summary>
    public IReadOnlyDictionary<(NetworkDatapathSpec Network, string EndpointId), Contiv.Policy.NetProfile> Profiles
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<(NetworkDatapathSpec Network, string EndpointId), Contiv.Policy.NetProfile>(_profiles);
            }
        }
    }

    /// <summary>Like the kernel: true only when the enforced ruleset changes (compared by its text rendering).</summary>
    public bool ApplyPolicy(NetworkDatapathSpec network, Contiv.Policy.NetworkRuleset ruleset)
    {
        lock (_gate)
        {
            var before = _policies.TryGetValue(network, out var old) ? old.Describe() : "";
            if (ruleset.IsEmpty)
            {
                _policies.Remove(network);
            }
            else
            {
                _policies[network] = ruleset;
            }

            var changed = before != (ruleset.IsEmpty ? "" : ruleset.Describe());
            _policyCalls.Add(new PolicyCall(nameof(ApplyPolicy), network, null, ruleset, null, changed));
            return changed;
        }
    }

    /// <summary>Like the kernel: true only when the endpoint's profile changes (the record compares by value).</summary>
    public bool ApplyEndpointProfile(NetworkDatapathSpec network, string endpointId, Contiv.Policy.NetProfile? profile)
    {
        lock (_gate)
        {
            var key = (network, endpointId);
            var before = _profiles.GetValueOrDefault(key);
            if (profile is null)
            {
                _profiles.Remove(key);
            }
            else
            {
                _profiles[key] = profile;
            }

            var changed = !Equals(before, profile);
            _policyCalls.Add(new PolicyCall(nameof(ApplyEndpointProfile), network, endpointId, null, profile, changed));
            return changed;
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
