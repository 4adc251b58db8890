using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Contiv.Model;

/// <summary>
/// Validation and tag allocation for networks: pure functions of the request, the global settings
/// and the tags already in use, so they are decided identically in every process.
/// </summary>
public static class NetworkRules
{
    public const int MaxVlan = 4094;
    public const int MaxVxlan = 16_777_215;

    public static readonly string[] Encaps = ["vxlan", "vlan"];
    public static readonly string[] NwTypes = ["data", "infra"];
    public static readonly string[] FwdModes = ["bridge", "routing"];
    public static readonly string[] ArpModes = ["proxy", "flood"];

    /// <summary>Checks and normalises a network as submitted (defaults filled in). Returns the parsed subnet.</summary>
    public static Ipv4Subnet Normalize(Network network)
    {
        Names.ValidateTenant(network.TenantName);
        Names.ValidateNetwork(network.NetworkName);
        network.Key = Names.NetworkKey(network.TenantName, network.NetworkName);
        network.Encap = OneOf(string.IsNullOrEmpty(network.Encap) ? "vxlan" : network.Encap.ToLowerInvariant(), Encaps, "encap");
        network.NwType = OneOf(string.IsNullOrEmpty(network.NwType) ? "data" : network.NwType.ToLowerInvariant(), NwTypes, "nw-type");

        var subnet = Ipv4Subnet.Parse(network.Subnet);
        network.Subnet = subnet.Text;
        network.Gateway = EmptyToNull(network.Gateway);
        if (network.Gateway is not null)
        {
            subnet.ParseHostIndex(network.Gateway, "gateway");
        }

        network.Ipv6Subnet = EmptyToNull(network.Ipv6Subnet);
        network.Ipv6Gateway = EmptyToNull(network.Ipv6Gateway);
        if (network.Ipv6Subnet is not null)
        {
            if (!IPNetwork.TryParse(network.Ipv6Subnet, out var v6) || v6.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6
                || !IPAddress.TryParse(network.Ipv6Subnet.Split('/')[0], out var written) || !written.Equals(v6.BaseAddress))
            {
                throw ContivException.Invalid($"invalid IPv6 subnet \"{network.Ipv6Subnet}\": expected CIDR notation such as 2001:db8::/64 with no host bits set");
            }

            if (v6.PrefixLength is < 64 or > 126)
            {
                throw ContivException.Invalid($"invalid IPv6 subnet \"{network.Ipv6Subnet}\": prefix length must be between /64 and /126");
            }

            if (network.Ipv6Gateway is not null)
            {
                if (!IPAddress.TryParse(network.Ipv6Gateway, out var gw6) || gw6.AddressFamily != AddressFamily.InterNetworkV6)
                {
                    throw ContivException.Invalid($"invalid IPv6 gateway \"{network.Ipv6Gateway}\": not an IPv6 address");
                }

                if (!v6.Contains(gw6))
                {
                    throw ContivException.Invalid($"IPv6 gateway {network.Ipv6Gateway} is not inside subnet {network.Ipv6Subnet}");
                }
            }
        }
        else if (network.Ipv6Gateway is not null)
        {
            throw ContivException.Invalid("an IPv6 gateway needs an IPv6 subnet (--subnetv6)");
        }

        if (network.PktTag < 0)
        {
            throw ContivException.Invalid($"invalid pkt-tag {network.PktTag}: must be positive (0 allocates one)");
        }

        network.CfgdTag = EmptyToNull(network.CfgdTag);
        if (network.CfgdTag is not null)
        {
            Names.ValidateNetwork(network.CfgdTag);
        }

        network.LinkSets ??= [];
        network.Links = new NetworkLinks { Tenant = new ObjectLink("tenant", network.TenantName) };
        return subnet;
    }

    /// <summary>The configured range of tags for an encapsulation.</summary>
    public static IReadOnlyList<(int From, int To)> TagRanges(GlobalSettings global, string encap) =>
        encap == "vlan"
            ? RangeText.ParseNumberRanges(global.Vlans, 1, MaxVlan, "vlan-range")
            : RangeText.ParseNumberRanges(global.Vxlans, 1, MaxVxlan, "vxlan-range");

    /// <summary>
    /// Picks the tag for a new network: the requested one when it is in range and free, otherwise the
    /// lowest free tag in range.
    /// </summary>
    public static int AllocateTag(GlobalSettings global, string encap, int requested, ISet<int> inUse)
    {
        var ranges = TagRanges(global, encap);
        var what = encap == "vlan" ? "vlan" : "vxlan VNI";
        var rangeText = encap == "vlan" ? global.Vlans : global.Vxlans;
        if (requested > 0)
        {
            if (!ranges.Any(r => requested >= r.From && requested <= r.To))
            {
                throw ContivException.Invalid($"pkt-tag {requested} is outside the configured {what} range {rangeText}");
            }

            if (inUse.Contains(requested))
            {
                throw ContivException.Conflict($"pkt-tag {requested} is already used by another {encap} network");
            }

            return requested;
        }

        foreach (var (from, to) in ranges)
        {
            for (var tag = from; tag <= to; tag++)
            {
                if (!inUse.Contains(tag))
                {
                    return tag;
                }
            }
        }

        throw ContivException.Conflict($"no free {what} left in range {rangeText}");
    }

    /// <summary>Validates a global settings update against the tags networks already use.</summary>
    public static void ValidateGlobal(GlobalSettings global, ISet<int> vlansInUse, ISet<int> vxlansInUse)
    {
        global.FwdMode = OneOf(global.FwdMode.ToLowerInvariant(), FwdModes, "fwd-mode");
        global.ArpMode = OneOf(global.ArpMode.ToLowerInvariant(), ArpModes, "arp-mode");
        global.NetworkInfraType = OneOf(global.NetworkInfraType.ToLowerInvariant(), ["default", "aci", "aci-opflex"], "fabric-mode");
        var vlans = TagRanges(global, "vlan");
        var vxlans = TagRanges(global, "vxlan");
        var strandedVlan = vlansInUse.FirstOrDefault(t => !vlans.Any(r => t >= r.From && t <= r.To));
        if (strandedVlan != 0)
        {
            throw ContivException.Conflict($"vlan-range {global.Vlans} excludes vlan {strandedVlan}, which a network uses");
        }

        var strandedVxlan = vxlansInUse.FirstOrDefault(t => !vxlans.Any(r => t >= r.From && t <= r.To));
        if (strandedVxlan != 0)
        {
            throw ContivException.Conflict($"vxlan-range {global.Vxlans} excludes VNI {strandedVxlan}, which a network uses");
        }

        if (!IPNetwork.TryParse(global.PvtSubnet, out _))
        {
            throw ContivException.Invalid($"invalid private subnet \"{global.PvtSubnet}\": expected CIDR notation");
        }
    }

    /// <summary>The MTU containers get: VXLAN costs 50 bytes of the underlay's 1500.</summary>
    public static int EndpointMtu(string encap, int underlayMtu = 1500) => encap == "vlan" ? underlayMtu : underlayMtu - 50;

    private static string OneOf(string value, string[] allowed, string what)
    {
        if (!allowed.Contains(value))
        {
            throw ContivException.Invalid($"invalid {what} \"{value}\": must be one of {string.Join(", ", allowed)}");
        }

        return value;
    }

    private static string? EmptyToNull(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    public static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);
}
