namespace Contiv.Datapath.Nftables;

/// <summary>Elements to add to and remove from one named set of a table.</summary>
public sealed record NftSetChange(string Set, IReadOnlyList<NftValue> Added, IReadOnlyList<NftValue> Removed);

/// <summary>Pure: whether going from one table to another only changes set elements, and which.</summary>
public static class NftSetChanges
{
    /// <summary>
    /// The element changes that turn <paramref name="current"/> into <paramref name="desired"/>, or
    /// null when anything else differs (family, name, chains, rules, or the sets themselves), which
    /// takes a whole-table replace. A container joining or leaving a group changes only its sets,
    /// and writing those elements is far less than re-creating a table of 100 rules.
    /// </summary>
    public static IReadOnlyList<NftSetChange>? Between(NftTable current, NftTable desired)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(desired);
        if (current.Family != desired.Family || current.Name != desired.Name || !current.Chains.Equals(desired.Chains)
            || !current.Rules.Equals(desired.Rules) || current.Sets.Count != desired.Sets.Count)
        {
            return null;
        }

        var changes = new List<NftSetChange>();
        for (var i = 0; i < current.Sets.Count; i++)
        {
            var (before, after) = (current.Sets[i], desired.Sets[i]);
            if (before.Name != after.Name || before.KeyType != after.KeyType || before.KeyLength != after.KeyLength)
            {
                return null;
            }

            var added = after.Elements.Except(before.Elements).ToList();
            var removed = before.Elements.Except(after.Elements).ToList();
            if (added.Count > 0 || removed.Count > 0)
            {
                changes.Add(new NftSetChange(after.Name, added, removed));
            }
        }

        return changes;
    }
}
