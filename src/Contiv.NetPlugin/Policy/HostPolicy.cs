using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.Policy;

namespace Contiv.NetPlugin;

/// <summary>
/// Makes this host enforce what the store says: for every network with a datapath here, the
/// tenant's groups, policies and endpoints compiled into that network's ruleset
/// (<see cref="PolicyCompiler"/>), and for every local endpoint of a group with a netprofile, that
/// profile on its veth. Called by the host agent on every pass (so a rule, a policy attachment or a
/// container anywhere takes effect here) and by CreateEndpoint before Docker starts the container,
/// so a new endpoint is filtered from its first packet.
/// </summary>
/// <remarks>
/// Each sync reads the state and applies it under one lock: two syncs never interleave, so an older
/// read can never be applied over a newer one. The datapath compares before it writes, so a pass
/// that changes nothing costs reads only.
/// </remarks>
public sealed class HostPolicy(ContivControl control, IPolicyDatapath datapath, DockerNetworkMap networks, PluginOptions options, ILogger<HostPolicy> logger, Cni.PodRegistry? pods = null) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// The profile last applied to each local endpoint (null: checked, none). Asking the kernel
    /// whether an endpoint without a profile has shaping to remove costs several dumps, every pass,
    /// for every endpoint; this process only asks again when the wanted profile changes. A
    /// restarted process starts empty, so it checks each endpoint once.
    /// </summary>
    private readonly Dictionary<string, NetProfile?> _appliedProfiles = new(StringComparer.Ordinal);

    public void Dispose() => _gate.Dispose();

    /// <summary>
    /// Every network with a Docker network bound on this host, or a pod here. Every local endpoint is on one of
    /// them, so the profiles remembered for endpoints this pass did not see are forgotten (their
    /// veth, and its shaping, went with them).
    /// </summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        // Networks with pods here count too: a Kubernetes node may have no Docker network of them.
        var local = (await networks.ListAsync(ct)).Values
            .Concat(pods?.List().Select(p => new DockerNetworkBinding(p.NetworkId, p.Encap, p.Tag, p.Group)) ?? [])
            .DistinctBy(b => b.NetworkId).ToList();
        await SyncAsync(local, forgetUnseen: true, ct);
    }

    /// <summary>One network (the one an endpoint is being created on).</summary>
    public Task SyncNetworkAsync(DockerNetworkBinding binding, CancellationToken ct) => SyncAsync([binding], forgetUnseen: false, ct);

    private async Task SyncAsync(List<DockerNetworkBinding> bindings, bool forgetUnseen, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var byTenant in bindings.GroupBy(b => Names.ParseNetworkId(b.NetworkId).Tenant, StringComparer.Ordinal))
            {
                var snapshot = await control.ReadTenantPolicySnapshotAsync(byTenant.Key, ct);
                var profiles = await control.ReadNetProfilesAsync(byTenant.Key, ct);
                foreach (var binding in byTenant)
                {
                    var local = snapshot.Endpoints.Where(e => e.Network == binding.NetworkId && e.HomingHost == options.HostName).ToList();
                    seen.UnionWith(local.Select(e => e.EndpointId));
                    Apply(binding, snapshot.State, profiles, local);
                }
            }

            if (forgetUnseen)
            {
                foreach (var gone in _appliedProfiles.Keys.Where(id => !seen.Contains(id)).ToList())
                {
                    _appliedProfiles.Remove(gone);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Apply(DockerNetworkBinding binding, TenantPolicyState state, IReadOnlyDictionary<string, NetProfile> profiles, IReadOnlyList<EndpointOper> localEndpoints)
    {
        var network = Names.ParseNetworkId(binding.NetworkId).Network;
        var spec = binding.Spec;
        var ruleset = PolicyCompiler.Compile(state, network);
        if (datapath.ApplyPolicy(spec, ruleset))
        {
            logger.LogInformation("policy of {NetworkId} programmed: {Chains} group chain(s)\n{Ruleset}", binding.NetworkId, ruleset.Chains.Count, ruleset.Describe());
        }

        // Profiles are per local endpoint: the shaping sits on the endpoint's veth on this host.
        var groups = state.Groups.ToDictionary(g => g.Name, StringComparer.Ordinal);
        foreach (var endpoint in localEndpoints)
        {
            var profile = endpoint.ServiceName is { Length: > 0 } g && groups.TryGetValue(g, out var group) && group.NetProfile is { } name
                ? profiles.GetValueOrDefault(name)
                : null;
            if (_appliedProfiles.TryGetValue(endpoint.EndpointId, out var applied) && applied == profile)
            {
                continue;
            }

            if (datapath.ApplyEndpointProfile(spec, endpoint.EndpointId, profile))
            {
                logger.LogInformation("endpoint {EndpointId}: bandwidth profile {Profile}", ShortId.Of(endpoint.EndpointId), profile?.Name ?? "(none)");
            }

            _appliedProfiles[endpoint.EndpointId] = profile;
        }
    }
}
