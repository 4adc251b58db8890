using System.Text.RegularExpressions;

namespace Contiv.Model;

/// <summary>
/// The naming rules shared by every component: which object names are legal and how Contiv and
/// Docker spell the same network. Contiv keys a network as <c>tenant:net</c>, identifies it as
/// <c>net.tenant</c>, and Docker sees it as <c>net</c> (tenant default) or <c>net/tenant</c>.
/// </summary>
public static partial class Names
{
    public const string DefaultTenant = "default";
    public const int MaxNameLength = 64;

    // Dots are allowed in network names (Contiv allows DNS-like names); tenants may not contain
    // dots because the network id "net.tenant" is split on its last dot.
    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$")]
    private static partial Regex NetworkNamePattern();

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")]
    private static partial Regex TenantNamePattern();

    public static void ValidateTenant(string? name)
    {
        Validate(name, "tenant", TenantNamePattern(), "letters, digits, '-' and '_'");
    }

    public static void ValidateNetwork(string? name)
    {
        Validate(name, "network", NetworkNamePattern(), "letters, digits, '-', '_' and '.'");
    }

    /// <summary>
    /// Names of groups, policies, rule ids and netprofiles: the network rules, since a group also
    /// becomes a Docker network name and all of them appear in <c>tenant:name</c> keys.
    /// </summary>
    public static void ValidateObjectName(string? name, string what)
    {
        Validate(name, what, NetworkNamePattern(), "letters, digits, '-', '_' and '.'");
    }

    private static void Validate(string? name, string what, Regex pattern, string allowed)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw ContivException.Invalid($"{what} name must not be empty");
        }

        if (name.Length > MaxNameLength)
        {
            throw ContivException.Invalid($"{what} name \"{name}\" is longer than {MaxNameLength} characters");
        }

        if (!pattern.IsMatch(name))
        {
            throw ContivException.Invalid(
                $"invalid {what} name \"{name}\": use {allowed}, starting and ending with a letter or digit");
        }
    }

    /// <summary>The REST/model key: <c>default:contiv-net</c>.</summary>
    public static string NetworkKey(string tenant, string network) => $"{tenant}:{network}";

    /// <summary>Contiv's network id and default network tag: <c>contiv-net.default</c>.</summary>
    public static string NetworkId(string tenant, string network) => $"{network}.{tenant}";

    /// <summary>The Docker network name: <c>contiv-net</c> for tenant default, <c>contiv-net/blue</c> otherwise.</summary>
    public static string DockerNetworkName(string tenant, string network) =>
        tenant == DefaultTenant ? network : $"{network}/{tenant}";

    /// <summary>Splits a key <c>tenant:net</c>.</summary>
    public static (string Tenant, string Network) ParseNetworkKey(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == key.Length - 1)
        {
            throw ContivException.Invalid($"invalid network key \"{key}\": expected TENANT:NETWORK");
        }

        return (key[..colon], key[(colon + 1)..]);
    }

    /// <summary>Splits a network id <c>net.tenant</c> on its last dot.</summary>
    public static (string Tenant, string Network) ParseNetworkId(string id)
    {
        var dot = id.LastIndexOf('.');
        if (dot <= 0 || dot == id.Length - 1)
        {
            throw ContivException.Invalid($"invalid network id \"{id}\": expected NETWORK.TENANT");
        }

        return (id[(dot + 1)..], id[..dot]);
    }

    /// <summary>Splits a Docker network name <c>net</c> or <c>net/tenant</c>.</summary>
    public static (string Tenant, string Network) ParseDockerNetworkName(string name)
    {
        var slash = name.LastIndexOf('/');
        return slash < 0 ? (DefaultTenant, name) : (name[(slash + 1)..], name[..slash]);
    }
}
