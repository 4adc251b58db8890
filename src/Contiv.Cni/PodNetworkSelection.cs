namespace Contiv.Cni;

/// <summary>Which Contiv tenant, network and (optionally) endpoint group a pod joins.</summary>
public sealed record PodNetwork(string Tenant, string Network, string? Group);

/// <summary>
/// Contiv's pod labels decide a pod's network: <c>io.contiv.tenant</c>, <c>io.contiv.network</c>,
/// <c>io.contiv.net-group</c>; a pod with none of them goes to tenant <c>default</c>, network
/// <c>default-net</c>, as in Contiv. Labels (from the API server or the pod sandbox over CRI) win
/// over annotations of the same name (from the CNI runtime config), which stand in where labels
/// cannot be read.
/// </summary>
public static class PodNetworkSelection
{
    public const string TenantLabel = "io.contiv.tenant";
    public const string NetworkLabel = "io.contiv.network";
    public const string GroupLabel = "io.contiv.net-group";
    public const string DefaultTenant = "default";
    public const string DefaultNetwork = "default-net";

    public static PodNetwork Select(IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? annotations)
    {
        string? Pick(string key) =>
            labels is not null && labels.TryGetValue(key, out var l) && l.Length > 0 ? l
            : annotations is not null && annotations.TryGetValue(key, out var a) && a.Length > 0 ? a
            : null;

        return new PodNetwork(Pick(TenantLabel) ?? DefaultTenant, Pick(NetworkLabel) ?? DefaultNetwork, Pick(GroupLabel));
    }
}
