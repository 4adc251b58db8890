using System.Globalization;
using System.Net;

namespace Contiv.Policy;

/// <summary>
/// A rule as the REST API and netctl give it (Contiv's JSON field names; empty or null means not
/// given, port 0 means any). <see cref="Validate"/> turns it into a <see cref="PolicyRule"/>.
/// </summary>
public sealed record RuleConfig(
    string TenantName,
    string PolicyName,
    string RuleId,
    string? Direction = "in",
    int Priority = 1,
    string? FromEndpointGroup = null,
    string? ToEndpointGroup = null,
    string? FromNetwork = null,
    string? ToNetwork = null,
    string? FromIpAddress = null,
    string? ToIpAddress = null,
    string? Protocol = null,
    int Port = 0,
    string? Action = "allow")
{
    public const int MinPriority = 1;
    public const int MaxPriority = 100;

    /// <summary>
    /// Checks the rule on its own and against <paramref name="catalog"/> (the groups, networks and
    /// policy it names must exist); throws <see cref="PolicyException"/> with the first problem.
    /// </summary>
    public PolicyRule Validate(ITenantCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var direction = ParseDirection(Direction);
        var fromGroup = Given(FromEndpointGroup);
        var toGroup = Given(ToEndpointGroup);
        var fromNetwork = Given(FromNetwork);
        var toNetwork = Given(ToNetwork);
        var fromIp = Given(FromIpAddress);
        var toIp = Given(ToIpAddress);

        if (Given(RuleId) is null)
        {
            throw new PolicyException("rule id is required");
        }

        if (direction == RuleDirection.In)
        {
            if (toGroup is not null || toNetwork is not null || toIp is not null)
            {
                throw new PolicyException("Can not specify 'to' parameters in incoming rule");
            }

            CheckExclusive(fromNetwork, fromIp, "Can not specify both from network and from ip address");
            CheckExclusive(fromNetwork, fromGroup, "Can not specify both from network and from EndpointGroup");
            CheckExclusive(fromGroup, fromIp, "Can not specify both from EndpointGroup and from ip address");
        }
        else
        {
            if (fromGroup is not null || fromNetwork is not null || fromIp is not null)
            {
                throw new PolicyException("Can not specify 'from' parameters in outgoing rule");
            }

            CheckExclusive(toNetwork, toIp, "Can not specify both to-network and to-ip address");
            CheckExclusive(toNetwork, toGroup, "Can not specify both to-network and to-EndpointGroup");
            CheckExclusive(toGroup, toIp, "Can not specify both to-EndpointGroup and to-ip address");
        }

        if (Priority is < MinPriority or > MaxPriority)
        {
            throw new PolicyException($"priority {Priority} is out of range: use {MinPriority} to {MaxPriority}");
        }

        if (Port is < 0 or > ushort.MaxValue)
        {
            throw new PolicyException($"port {Port} is out of range: use 0 (any) to 65535");
        }

        var protocol = ParseProtocol(Protocol);
        if (Port != 0 && protocol is not (PolicyRule.Tcp or PolicyRule.Udp))
        {
            throw new PolicyException($"port {Port} needs protocol tcp or udp");
        }

        var action = ParseAction(Action);
        var group = fromGroup ?? toGroup;
        var network = fromNetwork ?? toNetwork;
        var cidr = fromIp ?? toIp;
        if (group is not null && !catalog.HasGroup(TenantName, group))
        {
            throw new PolicyException("endpoint group not found");
        }

        if (network is not null && !catalog.HasNetwork(TenantName, network))
        {
            throw new PolicyException(direction == RuleDirection.In ? "From Network not found" : "To Network not found");
        }

        if (!catalog.HasPolicy(TenantName, PolicyName))
        {
            throw new PolicyException("Policy not found");
        }

        RulePeer peer = group is not null ? new GroupPeer(group)
            : network is not null ? new NetworkPeer(network)
            : cidr is not null ? new CidrPeer(ParseCidr(cidr, direction))
            : RulePeer.Any;
        return new PolicyRule(TenantName, PolicyName, RuleId, direction, Priority, peer, protocol, Port == 0 ? null : (ushort)Port, action);
    }

    /// <summary>tcp, udp, icmp (any case) or a protocol number 0..255; empty means any protocol.</summary>
    public static byte? ParseProtocol(string? protocol)
    {
        var text = Given(protocol);
        if (text is null)
        {
            return null;
        }

        switch (text.ToLowerInvariant())
        {
            case "tcp":
                return PolicyRule.Tcp;
            case "udp":
                return PolicyRule.Udp;
            case "icmp":
                return PolicyRule.Icmp;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 0 and <= 255)
        {
            return (byte)number;
        }

        throw new PolicyException($"invalid protocol '{text}': use tcp, udp, icmp or a protocol number 0-255");
    }

    private static RuleDirection ParseDirection(string? direction) => Given(direction) switch
    {
        null or "in" => RuleDirection.In,
        "out" => RuleDirection.Out,
        _ => throw new PolicyException("Invalid direction for the rule"),
    };

    private static RuleAction ParseAction(string? action) => Given(action) switch
    {
        null or "allow" => RuleAction.Allow,
        "deny" => RuleAction.Deny,
        var other => throw new PolicyException($"invalid action '{other}': use allow or deny"),
    };

    /// <summary>An IPv4 address or CIDR block (a bare address is a /32); the block is normalised to its base address.</summary>
    private static IPNetwork ParseCidr(string text, RuleDirection direction)
    {
        var flag = direction == RuleDirection.In ? "from" : "to";
        if (!text.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(text, out var single) && Ipv4.IsIpv4(single))
        {
            return new IPNetwork(single, 32);
        }

        if (IPNetwork.TryParse(text, out var block) && Ipv4.IsIpv4(block.BaseAddress))
        {
            return block;
        }

        // IPNetwork.TryParse refuses host bits (10.1.2.3/24); accept them like Contiv did and keep the block.
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0
            && IPAddress.TryParse(text[..slash], out var address) && Ipv4.IsIpv4(address)
            && int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length is >= 0 and <= 32)
        {
            var mask = length == 0 ? 0u : uint.MaxValue << (32 - length);
            var network = Ipv4.ToUInt32(address) & mask;
            return new IPNetwork(new IPAddress([(byte)(network >> 24), (byte)(network >> 16), (byte)(network >> 8), (byte)network]), length);
        }

        throw new PolicyException($"invalid {flag}-ip-address '{text}': use an IPv4 address or CIDR such as 10.1.2.0/24");
    }

    private static void CheckExclusive(string? first, string? second, string message)
    {
        if (first is not null && second is not null)
        {
            throw new PolicyException(message);
        }
    }

    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
