using System.Net;
using System.Text;

namespace Contiv.Policy;

/// <summary>
/// What one network's namespace must enforce, in a form no datapath owns (the nftables layer
/// encodes it as sets and chains). Semantics, for the first packet of a connection from S to D:
/// if S is a member of a chain's set with direction Out, that chain's rules are tried in order
/// with D as the peer; if D is a member of an In chain's set, that chain's rules with S as the
/// peer. In each chain the first matching rule decides (deny: the packet is dropped; allow: this
/// chain lets it pass); no match lets it pass. The packet passes when every chain it meets lets
/// it pass. Replies and later packets of a passed connection are not evaluated (connection state).
/// </summary>
public sealed record NetworkRuleset(string Tenant, string Network, IReadOnlyList<AddressSet> Sets, IReadOnlyList<GroupChain> Chains)
{
    public bool IsEmpty => Chains.Count == 0;

    /// <summary>A stable text rendering (one line per set, chain and rule), for logs and test diffs.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var set in Sets)
        {
            text.Append(CultureInfoInvariant($"set {set.Name} {{ {string.Join(", ", set.Addresses)} }}\n"));
        }

        foreach (var chain in Chains)
        {
            text.Append(CultureInfoInvariant($"chain {chain.Name} ({chain.Direction.ToString().ToLowerInvariant()} of @{chain.MemberSet})\n"));
            foreach (var rule in chain.Rules)
            {
                text.Append(CultureInfoInvariant($"  {rule}\n"));
            }
        }

        return text.ToString();
    }

    private static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);
}

/// <summary>A named set of endpoint addresses (a group's members on this network, or a peer group's endpoints).</summary>
public sealed record AddressSet(string Name, IReadOnlyList<IPAddress> Addresses);

/// <summary>The rules of one group in one direction, in decision order.</summary>
public sealed record GroupChain(string Group, RuleDirection Direction, string MemberSet, IReadOnlyList<CompiledRule> Rules)
{
    /// <summary>"in-GROUP" or "out-GROUP": unique within a network, since group names are unique within a tenant.</summary>
    public string Name => $"{(Direction == RuleDirection.In ? "in" : "out")}-{Group}";
}

/// <summary>One rule as the datapath matches it: the peer, protocol (null: any) and destination port (null: any).</summary>
public sealed record CompiledRule(string RuleKey, int Priority, RuleAction Action, CompiledPeer Peer, byte? Protocol, ushort? Port)
{
    public bool Matches(IPAddress peer, byte protocol, ushort? destinationPort) =>
        Peer.Contains(peer)
        && (Protocol is null || Protocol == protocol)
        && (Port is null || Port == destinationPort);

    public override string ToString() =>
        $"{Peer} {(Protocol is { } p ? $"proto {p}" : "any proto")}{(Port is { } port ? $" dport {port}" : "")} {(Action == RuleAction.Allow ? "allow" : "deny")} (prio {Priority}, {RuleKey})";
}

/// <summary>The peer of a compiled rule.</summary>
public abstract record CompiledPeer
{
    /// <summary>Set contents are needed to test membership outside the datapath (evaluator, tests).</summary>
    public abstract bool Contains(IPAddress address);
}

public sealed record AnyAddress : CompiledPeer
{
    public static AnyAddress Instance { get; } = new();

    public override bool Contains(IPAddress address) => true;

    public override string ToString() => "any";
}

/// <summary>A peer that is a named <see cref="AddressSet"/> of the same ruleset.</summary>
public sealed record SetPeer(AddressSet Set) : CompiledPeer
{
    public override bool Contains(IPAddress address) => Set.Addresses.Contains(address);

    public override string ToString() => $"@{Set.Name}";
}

/// <summary>A peer that is an IPv4 block (a network's subnet or a rule's CIDR).</summary>
public sealed record BlockPeer(IPNetwork Block) : CompiledPeer
{
    public override bool Contains(IPAddress address) => Block.Contains(address);

    public override string ToString() => Block.ToString();
}
