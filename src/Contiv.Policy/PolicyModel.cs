using System.Net;

namespace Contiv.Policy;

/// <summary>Which traffic a rule filters: <see cref="In"/> to its group's endpoints, <see cref="Out"/> from them.</summary>
public enum RuleDirection
{
    In,
    Out,
}

public enum RuleAction
{
    Allow,
    Deny,
}

/// <summary>
/// Contiv's endpointGroup (key tenant:group): a named set of endpoints on one network, optionally
/// allocating from a sub-range of the network (<paramref name="IpPool"/>), with the policies whose
/// rules filter its endpoints' traffic and an optional bandwidth profile.
/// </summary>
public sealed record EndpointGroup(
    string Tenant,
    string Name,
    string Network,
    AddressRange? IpPool = null,
    IReadOnlyList<string>? Policies = null,
    string? NetProfile = null,
    string? CfgdTag = null)
{
    public IReadOnlyList<string> PolicyNames => Policies ?? [];

    public string Key => $"{Tenant}:{Name}";
}

/// <summary>Contiv's policy (key tenant:policy): a named list of rules, attached to groups.</summary>
public sealed record Policy(string Tenant, string Name)
{
    public string Key => $"{Tenant}:{Name}";
}

/// <summary>
/// A validated rule (key tenant:policy:ruleId). <see cref="Peer"/> is the other side: for an
/// <c>in</c> rule where the traffic comes from, for an <c>out</c> rule where it goes to.
/// <see cref="Protocol"/> null matches every protocol; <see cref="Port"/> null every port
/// (a port is only given with TCP or UDP).
/// </summary>
public sealed record PolicyRule(
    string Tenant,
    string Policy,
    string RuleId,
    RuleDirection Direction,
    int Priority,
    RulePeer Peer,
    byte? Protocol,
    ushort? Port,
    RuleAction Action)
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;

    public string Key => $"{Tenant}:{Policy}:{RuleId}";
}

/// <summary>The other side of a rule's traffic.</summary>
public abstract record RulePeer
{
    public static RulePeer Any { get; } = new AnyPeer();
}

/// <summary>No peer given: any address.</summary>
public sealed record AnyPeer : RulePeer
{
    public override string ToString() => "any";
}

/// <summary>The endpoints of a group (-g / -e).</summary>
public sealed record GroupPeer(string Group) : RulePeer
{
    public override string ToString() => $"group {Group}";
}

/// <summary>The subnet of a network of the same tenant (-n / -o).</summary>
public sealed record NetworkPeer(string Network) : RulePeer
{
    public override string ToString() => $"network {Network}";
}

/// <summary>An address block, possibly outside the cluster (-i / -s).</summary>
public sealed record CidrPeer(IPNetwork Block) : RulePeer
{
    public override string ToString() => Block.ToString();
}

/// <summary>An inclusive IPv4 range such as an ipPool "10.1.2.10-10.1.2.50".</summary>
public sealed record AddressRange(IPAddress First, IPAddress Last)
{
    public override string ToString() => $"{First}-{Last}";

    public bool Contains(IPAddress address) =>
        Ipv4.ToUInt32(First) <= Ipv4.ToUInt32(address) && Ipv4.ToUInt32(address) <= Ipv4.ToUInt32(Last);
}

/// <summary>Contiv's netprofile: bandwidth (bits/s), DSCP mark and burst (KB), applied to a group's endpoints.</summary>
public sealed record NetProfile(string Tenant, string Name, string Bandwidth, long BitsPerSecond, int? Dscp, int? BurstKilobytes)
{
    public string Key => $"{Tenant}:{Name}";
}

/// <summary>A container endpoint as policy sees it: its address, its network and its group (null: none).</summary>
public sealed record PolicyEndpoint(IPAddress Address, string Network, string? Group);

/// <summary>IPv4 helpers shared by validation and compilation.</summary>
internal static class Ipv4
{
    public static uint ToUInt32(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
    }

    public static bool IsIpv4(IPAddress address) => address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
}
