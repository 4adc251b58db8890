using System.Collections;

namespace Contiv.Datapath.Nftables;

/// <summary>The address family a table belongs to (the NFPROTO_* numbers).</summary>
public enum NftFamily : byte
{
    Inet = 1,
    Ipv4 = 2,
    Arp = 3,
    Netdev = 5,
    Bridge = 7,
    Ipv6 = 10,
}

/// <summary>The netfilter hook a base chain is attached to (NF_INET_*).</summary>
public enum NftHook : uint
{
    Prerouting = 0,
    Input = 1,
    Forward = 2,
    Output = 3,
    Postrouting = 4,
}

/// <summary>
/// One whole nf_tables table as this library programs it: its chains (in order), named sets and
/// rules (in order within each chain). It is both what <see cref="NftablesNetlink.ReplaceTable"/>
/// writes and what <see cref="NftablesNetlink.GetTable"/> reads back, and compares by value, so
/// "is the kernel's table the desired one" is <c>desired == actual</c>.
/// </summary>
public sealed record NftTable(NftFamily Family, string Name, ValueList<NftChain> Chains, ValueList<NftSet> Sets, ValueList<NftRule> Rules)
{
    public override string ToString() => $"table {Family.ToString().ToLowerInvariant()} {Name} ({Chains.Count} chains, {Sets.Count} sets, {Rules.Count} rules)";
}

/// <summary>A chain; <paramref name="Base"/> makes it a base chain attached to a hook.</summary>
public sealed record NftChain(string Name, NftBaseChain? Base = null);

/// <summary>Where a base chain hooks in, at which priority (lower runs first), and its default verdict.</summary>
public sealed record NftBaseChain(NftHook Hook, int Priority, bool PolicyAccept = true, string Type = "filter");

/// <summary>
/// A named set of fixed-size keys (no intervals, no timeouts): what rules look addresses up in.
/// <paramref name="KeyType"/> is nft's datatype number (7 = ipv4_addr), used by `nft list` to print
/// elements; the kernel only checks the key length.
/// </summary>
public sealed record NftSet(string Name, uint KeyType, uint KeyLength, ValueList<NftValue> Elements)
{
    /// <summary>nft's ipv4_addr datatype.</summary>
    public const uint Ipv4AddressType = 7;

    public static NftSet Ipv4Addresses(string name, IEnumerable<System.Net.IPAddress> addresses) =>
        new(name, Ipv4AddressType, 4, new ValueList<NftValue>(addresses.Select(NftValue.Ipv4).Distinct().OrderBy(v => v.ToString(), StringComparer.Ordinal)));
}

/// <summary>A rule: its chain, its expressions in evaluation order, and an optional comment (nft's rule userdata).</summary>
public sealed record NftRule(string Chain, ValueList<NftExpression> Expressions, string? Comment = null);

/// <summary>
/// A read-only list that compares by its elements, so records holding lists compare by value.
/// </summary>
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    public ValueList(IEnumerable<T> items) => _items = [.. items];

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) => other is not null && _items.AsSpan().SequenceEqual(other._items);

    public override bool Equals(object? obj) => Equals(obj as ValueList<T>);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => $"[{string.Join(", ", _items)}]";
}

/// <summary>Helpers to build <see cref="ValueList{T}"/> from collection expressions and LINQ.</summary>
public static class ValueList
{
    public static ValueList<T> Of<T>(params T[] items) => new(items);

    public static ValueList<T> Empty<T>() => new([]);

    public static ValueList<T> ToValueList<T>(this IEnumerable<T> items) => new(items);
}
