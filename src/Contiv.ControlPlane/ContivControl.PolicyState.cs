using System.Globalization;
using Contiv.Model;
using Contiv.Policy;
using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>
/// How the policy objects' transactions see a tenant: its groups, policies, rules, netprofiles and
/// networks as one view, consistent with the tenant's policy revision (<see cref="StateKeys.PolicyRevision"/>).
/// </summary>
public sealed partial class ContivControl
{
    /// <summary>A tenant's policy objects as read at one policy revision.</summary>
    private sealed record TenantView(
        string Tenant,
        IReadOnlyDictionary<string, EndpointGroupConfig> Groups,
        IReadOnlyDictionary<string, PolicyConfig> Policies,
        IReadOnlyList<RuleObject> Rules,
        IReadOnlyDictionary<string, NetProfileConfig> NetProfiles,
        IReadOnlyList<NetworkRecord> Networks)
    {
        public IEnumerable<EndpointGroup> PolicyGroups => Groups.Values.Select(ToPolicyGroup);

        public static EndpointGroup ToPolicyGroup(EndpointGroupConfig g) =>
            new(g.TenantName, g.GroupName, g.NetworkName, null, g.Policies ?? [], g.NetProfile, g.CfgdTag);
    }

    /// <summary>Raised inside a decision when the tenant changed since its view was read: read it again.</summary>
    private sealed class StaleViewException : Exception;

    /// <summary>Names that exist, for <see cref="RuleConfig.Validate"/> and <see cref="ObjectValidation"/>: the view, and for networks the snapshot.</summary>
    private sealed class ViewCatalog(TenantView view, IReadOnlyDictionary<string, string?> snapshot) : ITenantCatalog
    {
        public bool HasGroup(string tenant, string group) => tenant == view.Tenant && view.Groups.ContainsKey(group);

        public bool HasNetwork(string tenant, string network) =>
            snapshot.TryGetValue(StateKeys.Network(tenant, network), out var value)
                ? value is not null
                : tenant == view.Tenant && view.Networks.Any(n => n.Config.NetworkName == network);

        public bool HasPolicy(string tenant, string policy) => tenant == view.Tenant && view.Policies.ContainsKey(policy);

        public bool HasNetProfile(string tenant, string profile) => tenant == view.Tenant && view.NetProfiles.ContainsKey(profile);
    }

    /// <summary>Says yes to every name: for reading rules that were checked when they were added (their peers may be gone since).</summary>
    private sealed class AnyNameCatalog : ITenantCatalog
    {
        public static AnyNameCatalog Instance { get; } = new();

        public bool HasGroup(string tenant, string group) => true;

        public bool HasNetwork(string tenant, string network) => true;

        public bool HasPolicy(string tenant, string policy) => true;

        public bool HasNetProfile(string tenant, string profile) => true;
    }

    private async Task<TenantView> ReadViewAsync(string tenant, CancellationToken ct)
    {
        var groups = (await store.ListAsync(StateKeys.GroupsOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.EndpointGroupConfig));
        var policies = (await store.ListAsync(StateKeys.PoliciesOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.PolicyConfig));
        var rules = (await store.ListAsync(StateKeys.RulesOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.RuleObject));
        var profiles = (await store.ListAsync(StateKeys.NetProfilesOfTenant(tenant), ct)).Select(kv => Read(kv.Value, StateJson.Default.NetProfileConfig));
        var networks = await ListNetworksAsync(tenant, ct);
        return new TenantView(
            tenant,
            groups.ToDictionary(g => g.GroupName, StringComparer.Ordinal),
            policies.ToDictionary(p => p.PolicyName, StringComparer.Ordinal),
            [.. rules],
            profiles.ToDictionary(p => p.ProfileName, StringComparer.Ordinal),
            networks);
    }

    /// <summary>
    /// One optimistic transaction over <paramref name="keys"/> and <paramref name="pools"/> that also
    /// decides from the tenant's view: commits only if the tenant's policy revision is still the one
    /// the view was read at, and increments it when it writes anything (unless <paramref name="bumpRevision"/>
    /// is false: a change the others see through keys they read anyway, such as a network's record).
    /// </summary>
    private async Task<T> RunTenantAsync<T>(
        string tenant,
        IReadOnlyCollection<string> keys,
        IReadOnlyCollection<string> pools,
        Func<TenantView, IReadOnlyDictionary<string, string?>, IReadOnlyDictionary<string, AddressPool?>, TransactionPlan<T>> decide,
        CancellationToken ct,
        bool bumpRevision = true)
    {
        var revisionKey = StateKeys.PolicyRevision(tenant);
        for (var attempt = 1; ; attempt++)
        {
            // The revision first: a change committed after this read is caught by the commit's condition on it.
            var revision = await GetOneAsync(revisionKey, ct);
            var view = await ReadViewAsync(tenant, ct);
            try
            {
                return await StoreTransaction.RunAsync(store, [revisionKey, .. keys.Distinct(StringComparer.Ordinal)], pools, (snapshot, poolSnapshot) =>
                {
                    if (snapshot[revisionKey] != revision)
                    {
                        throw new StaleViewException();
                    }

                    var plan = decide(view, snapshot, poolSnapshot);
                    if (!bumpRevision || (plan.Writes.Count == 0 && plan.PoolWrites.Count == 0))
                    {
                        return plan;
                    }

                    var next = (revision is null ? 0 : long.Parse(revision, CultureInfo.InvariantCulture)) + 1;
                    return plan with { Writes = [.. plan.Writes, new KeyWrite(revisionKey, next.ToString(CultureInfo.InvariantCulture))] };
                }, ct);
            }
            catch (StaleViewException) when (attempt < StoreTransaction.DefaultMaxAttempts)
            {
            }
        }
    }

    /// <summary>Runs a check of Contiv.Policy and turns its refusal into the control plane's error (not-found wording gives NotFound).</summary>
    private static T Checked<T>(Func<T> check)
    {
        try
        {
            return check();
        }
        catch (PolicyException e)
        {
            throw e.Message.Contains("not found", StringComparison.OrdinalIgnoreCase) ? ContivException.NotFound(e.Message) : ContivException.Invalid(e.Message);
        }
    }

    private static void Checked(Action check) => Checked(() =>
    {
        check();
        return true;
    });

    /// <summary>Runs one of Contiv.Policy's "still in use" checks; its refusal is a conflict with existing state.</summary>
    private static void InUse(Action check)
    {
        try
        {
            check();
        }
        catch (PolicyException e)
        {
            throw ContivException.Conflict(e.Message);
        }
    }

    /// <summary>Contiv's key of a group as endpoints carry it: <c>GROUP:TENANT</c>.</summary>
    public static string EndpointGroupKey(string tenant, string group) => $"{group}:{tenant}";

    private static string ObjectKey(string tenant, string name) => $"{tenant}:{name}";

    private static List<string>? NullIfEmpty(IEnumerable<string>? values)
    {
        var list = values?.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v.Trim()).Distinct(StringComparer.Ordinal).ToList();
        return list is { Count: > 0 } ? list : null;
    }
}
