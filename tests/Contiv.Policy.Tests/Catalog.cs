namespace Contiv.Policy.Tests;

/// <summary>A tenant's existing names, for validation tests.</summary>
internal sealed class Catalog : ITenantCatalog
{
    public HashSet<string> Groups { get; } = ["web", "db"];

    public HashSet<string> Networks { get; } = ["contiv-net", "other-net"];

    public HashSet<string> Policies { get; } = ["db-policy"];

    public HashSet<string> Profiles { get; } = ["gold"];

    public bool HasGroup(string tenant, string group) => Groups.Contains(group);

    public bool HasNetwork(string tenant, string network) => Networks.Contains(network);

    public bool HasPolicy(string tenant, string policy) => Policies.Contains(policy);

    public bool HasNetProfile(string tenant, string profile) => Profiles.Contains(profile);
}
