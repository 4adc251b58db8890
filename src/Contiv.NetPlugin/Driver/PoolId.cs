using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>
/// The IPAM pool id handed to Docker: a Contiv network and the subnet Docker knows it by
/// (<c>net.tenant|CIDR</c>), for an endpoint group's Docker network also the group, whose ipPool
/// the addresses come from (<c>net.tenant+group|CIDR</c>; no valid name has a plus), or, for a
/// hand-made Docker network not registered yet, only its tenant (<c>tenant/NAME|CIDR</c>; no valid
/// network id has a slash).
/// </summary>
public sealed record PoolId
{
    private const string PendingPrefix = "tenant/";
    private const char GroupSeparator = '+';

    private PoolId(string? networkId, string? pendingTenant, string cidr, string? group = null)
    {
        NetworkId = networkId;
        PendingTenant = pendingTenant;
        Cidr = cidr;
        Group = group;
    }

    /// <summary>The Contiv network (<c>net.tenant</c>); null while the network is pending.</summary>
    public string? NetworkId { get; }

    /// <summary>The tenant of a hand-made Docker network that is not a Contiv network yet; null otherwise.</summary>
    public string? PendingTenant { get; }

    public string Cidr { get; }

    /// <summary>The endpoint group whose Docker network this pool serves; null for the network's own.</summary>
    public string? Group { get; }

    public bool IsPending => PendingTenant is not null;

    /// <summary>The prefix length part of <see cref="Cidr"/>, as text.</summary>
    public string PrefixLength => Cidr[(Cidr.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>The subnet's own address (Docker releases it with the pool, never as an address).</summary>
    public string NetworkAddress => Cidr[..Cidr.IndexOf('/', StringComparison.Ordinal)];

    public static PoolId ForNetwork(string networkId, string cidr, string? group = null) => new(networkId, null, cidr, string.IsNullOrEmpty(group) ? null : group);

    public static PoolId ForPendingNetwork(string tenant, string cidr) => new(null, tenant, cidr);

    public static PoolId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bar = text.IndexOf('|', StringComparison.Ordinal);
        if (bar <= 0 || !text.AsSpan(bar + 1).Contains('/'))
        {
            throw ContivException.Invalid($"unknown pool id \"{text}\": not allocated by the netplugin IPAM");
        }

        var owner = text[..bar];
        var cidr = text[(bar + 1)..];
        if (owner.StartsWith(PendingPrefix, StringComparison.Ordinal))
        {
            return ForPendingNetwork(owner[PendingPrefix.Length..], cidr);
        }

        var plus = owner.IndexOf(GroupSeparator, StringComparison.Ordinal);
        return plus < 0 ? ForNetwork(owner, cidr) : ForNetwork(owner[..plus], cidr, owner[(plus + 1)..]);
    }

    public string Format() => $"{(IsPending ? PendingPrefix + PendingTenant : NetworkId)}{(Group is null ? string.Empty : GroupSeparator + Group)}|{Cidr}";

    public override string ToString() => Format();
}
