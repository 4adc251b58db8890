using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Contiv.Policy;

/// <summary>
/// Validation of groups, netprofiles and deletions. Each check throws <see cref="PolicyException"/>
/// with one line (Contiv's wording where Contiv had one) and changes nothing.
/// </summary>
public static partial class ObjectValidation
{
    public const int MaxDscp = 63;

    /// <summary>
    /// A group on <paramref name="networkSubnet"/> (the subnet of its network): its name must not be a
    /// network's, its ipPool must lie inside the subnet, and its policies and netprofile must exist.
    /// </summary>
    public static EndpointGroup ValidateGroup(
        string tenant, string network, string group, IPNetwork networkSubnet, string? ipPool,
        IReadOnlyList<string> policies, string? netProfile, ITenantCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (string.IsNullOrWhiteSpace(group))
        {
            throw new PolicyException("group name is required");
        }

        if (!catalog.HasNetwork(tenant, network))
        {
            throw new PolicyException($"Network {network} not found");
        }

        if (catalog.HasNetwork(tenant, group))
        {
            throw new PolicyException($"Network {group} conflicts with the endpointGroup name");
        }

        AddressRange? pool = null;
        if (!string.IsNullOrWhiteSpace(ipPool))
        {
            pool = ParseRange(ipPool.Trim());
            if (!networkSubnet.Contains(pool.First) || !networkSubnet.Contains(pool.Last))
            {
                throw new PolicyException($"ip-pool {pool} is not inside the subnet {networkSubnet} of network {network}");
            }
        }

        foreach (var policy in policies)
        {
            if (!catalog.HasPolicy(tenant, policy))
            {
                throw new PolicyException("Policy not found");
            }
        }

        if (!string.IsNullOrWhiteSpace(netProfile) && !catalog.HasNetProfile(tenant, netProfile))
        {
            throw new PolicyException($"netprofile {netProfile} not found");
        }

        return new EndpointGroup(tenant, group, network, pool, [.. policies.Distinct(StringComparer.Ordinal)], string.IsNullOrWhiteSpace(netProfile) ? null : netProfile);
    }

    /// <summary>"a.b.c.d-a.b.c.e", first not after last.</summary>
    public static AddressRange ParseRange(string text)
    {
        var parts = text.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && IPAddress.TryParse(parts[0], out var first) && Ipv4.IsIpv4(first)
            && IPAddress.TryParse(parts[1], out var last) && Ipv4.IsIpv4(last)
            && Ipv4.ToUInt32(first) <= Ipv4.ToUInt32(last))
        {
            return new AddressRange(first, last);
        }

        throw new PolicyException($"invalid ip-pool '{text}': use a range such as 10.1.2.10-10.1.2.50");
    }

    /// <summary>
    /// A netprofile: bandwidth like Contiv's ("10 mbps", "1 gbps", "500kbps", "10M", "2 Gb": a
    /// positive number and a k/m/g unit, optional space, optional "bps" or "b"), DSCP 0..63, burst
    /// in KB (not negative). Without a bandwidth the profile only marks DSCP.
    /// </summary>
    public static NetProfile ValidateNetProfile(string tenant, string name, string? bandwidth, int? dscp, int? burstKilobytes)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new PolicyException("netprofile name is required");
        }

        long bits = 0;
        var text = bandwidth?.Trim() ?? "";
        if (text.Length > 0)
        {
            var match = BandwidthPattern().Match(text);
            if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                throw new PolicyException($"invalid bandwidth '{text}': use a number and a unit such as 10 mbps, 500 kbps or 1 gbps");
            }

            var unit = char.ToLowerInvariant(match.Groups[2].Value[0]) switch
            {
                'k' => 1_000L,
                'm' => 1_000_000L,
                _ => 1_000_000_000L,
            };
            bits = checked(number * unit);
        }

        if (dscp is < 0 or > MaxDscp)
        {
            throw new PolicyException($"DSCP {dscp} is out of range: use 0 to {MaxDscp}");
        }

        if (burstKilobytes is < 0)
        {
            throw new PolicyException($"burst {burstKilobytes} is out of range: use a size in KB, 0 or more");
        }

        return new NetProfile(tenant, name, text, bits, dscp, burstKilobytes);
    }

    /// <summary>A policy cannot be deleted while a group uses it (Contiv: "Policy is being used").</summary>
    public static void CheckPolicyDelete(string policy, IEnumerable<EndpointGroup> groups)
    {
        if (groups.Any(g => g.PolicyNames.Contains(policy, StringComparer.Ordinal)))
        {
            throw new PolicyException("Policy is being used");
        }
    }

    /// <summary>A network cannot be deleted while it has groups (Contiv: "cannot delete NET has N endpoint groups").</summary>
    public static void CheckNetworkDelete(string network, IEnumerable<EndpointGroup> groups)
    {
        var count = groups.Count(g => g.Network == network);
        if (count != 0)
        {
            throw new PolicyException($"cannot delete {network} has {count} endpoint groups");
        }
    }

    /// <summary>A group cannot be deleted while containers are attached to it.</summary>
    public static void CheckGroupDelete(string group, int liveEndpoints)
    {
        if (liveEndpoints > 0)
        {
            throw new PolicyException($"cannot delete group {group}: it has {liveEndpoints} active endpoints");
        }
    }

    /// <summary>A netprofile cannot be deleted while a group uses it.</summary>
    public static void CheckNetProfileDelete(string profile, IEnumerable<EndpointGroup> groups)
    {
        var user = groups.FirstOrDefault(g => g.NetProfile == profile);
        if (user is not null)
        {
            throw new PolicyException($"netprofile {profile} is used by group {user.Name}");
        }
    }

    [GeneratedRegex(@"^([1-9][0-9]{0,11}) ?([kKmMgG])(bps|BPS|Bps|b|B)?$")]
    private static partial Regex BandwidthPattern();
}
