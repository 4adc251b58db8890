using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Contiv.Model.Tests;

/// <summary>
/// Property tests: the address bitmap and tag allocation behave like a trivially correct model (a
/// set of taken values, lowest free first) for any sequence of operations FsCheck generates.
/// </summary>
public sealed class AllocatorPropertyTests
{
    /// <summary>An operation on an address pool: allocate (true) or release the n-th taken address.</summary>
    private static readonly Gen<(bool Allocate, int Pick)[]> Operations =
        Gen.ArrayOf(Gen.Zip(Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false))), Gen.Choose(0, 1000)));

    [Fact]
    public void Address_bitmap_matches_a_set_model_and_never_hands_out_reserved_addresses()
    {
        var prefixes = Gen.Elements(24, 26, 28, 30);
        Prop.ForAll(Arb.From(prefixes), Arb.From(Operations), (prefix, ops) =>
        {
            var subnet = Ipv4Subnet.Parse($"10.9.0.0/{prefix}");
            var bitmap = AddressBitmap.Create(subnet);
            var model = new SortedSet<int>();
            foreach (var (allocate, pick) in ops)
            {
                if (allocate)
                {
                    var expected = Enumerable.Range(subnet.FirstHostIndex, subnet.LastHostIndex - subnet.FirstHostIndex + 1).Where(i => !model.Contains(i)).DefaultIfEmpty(-1).First();
                    var got = bitmap.LowestFree();
                    if (got != expected)
                    {
                        return false;
                    }

                    if (got >= 0)
                    {
                        bitmap.Take(got);
                        model.Add(got);
                    }
                }
                else if (model.Count > 0)
                {
                    var victim = model.ElementAt(pick % model.Count);
                    bitmap.Free(victim);
                    model.Remove(victim);
                }

                // Round-trips through its stored form at every step, as the store does.
                bitmap = AddressBitmap.Deserialize(bitmap.Serialize(), subnet.Size);
            }

            return !model.Contains(0) && !model.Contains(subnet.Size - 1)
                && Enumerable.Range(0, subnet.Size).All(i => bitmap.IsTaken(i) == (model.Contains(i) || i == 0 || i == subnet.Size - 1));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Tag_allocation_matches_lowest_free_in_range_model()
    {
        var inUse = Gen.ListOf(Gen.Choose(1, 40)).Select(l => l.ToHashSet());
        var requested = Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 45)));
        Prop.ForAll(Arb.From(inUse), Arb.From(requested), (used, want) =>
        {
            var global = new GlobalSettings { Vxlans = "5-30" };
            var free = Enumerable.Range(5, 26).Where(t => !used.Contains(t)).ToList();
            int? expected = want == 0
                ? (free.Count > 0 ? free[0] : null)
                : (want is >= 5 and <= 30 && !used.Contains(want) ? want : null);
            try
            {
                return NetworkRules.AllocateTag(global, "vxlan", want, used) == expected;
            }
            catch (ContivException)
            {
                return expected is null;
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Range_text_round_trips_any_number_set()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(Gen.Choose(1, 5000)).Select(l => new SortedSet<int>(l))), set =>
            RangeText.ParseNumberSet(RangeText.FormatNumbers(set)).SetEquals(set)).QuickCheckThrowOnFailure();
    }
}
