using Contiv.Model;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Contiv.ControlPlane.Tests;

/// <summary>
/// Property: with a group owning part of a network's subnet, any sequence of network allocations,
/// group allocations and releases behaves like a trivially correct model (lowest free first, the
/// network never inside the range, the group never outside it, nothing handed out twice), and
/// deleting the group at the end gives the whole range back to the network.
/// </summary>
public sealed class GroupPoolPropertyTests
{
    private enum Op
    {
        AllocateInNetwork,
        AllocateInGroup,
        Release,
    }

    private static readonly Gen<(Op Op, int Pick)[]> Operations =
        Gen.ArrayOf(Gen.Zip(Gen.Elements(Op.AllocateInNetwork, Op.AllocateInGroup, Op.Release), Gen.Choose(0, 1000)));

    [Fact]
    public void Group_and_network_allocations_match_a_set_model()
    {
        var ranges = Gen.Zip(Gen.Choose(2, 30), Gen.Choose(0, 8)).Select(p => (First: p.Item1, Last: Math.Min(30, p.Item1 + p.Item2)));
        Prop.ForAll(Arb.From(ranges), Arb.From(Operations), (range, ops) => RunAsync(range.First, range.Last, ops).GetAwaiter().GetResult())
            .QuickCheckThrowOnFailure();
    }

    private static async Task<bool> RunAsync(int first, int last, (Op Op, int Pick)[] ops)
    {
        var ct = TestContext.Current.CancellationToken;
        var control = new ContivControl(new InMemoryKeyValueStore());
        await control.InitializeAsync(ct: ct);
        await control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "n", Subnet = "10.1.2.0/27", Gateway = "10.1.2.1", Encap = "vxlan" }, ct);
        await control.CreateGroupAsync(new EndpointGroupConfig { TenantName = "default", GroupName = "g", NetworkName = "n", IpPool = $"10.1.2.{first}-10.1.2.{last}" }, ct);

        var handedOut = new SortedSet<int>();
        bool InRange(int i) => i >= first && i <= last;
        foreach (var (op, pick) in ops)
        {
            if (op == Op.Release)
            {
                if (handedOut.Count > 0)
                {
                    var victim = handedOut.ElementAt(pick % handedOut.Count);
                    if (!await control.ReleaseAddressAsync("n.default", $"10.1.2.{victim}", ct))
                    {
                        return false;
                    }

                    handedOut.Remove(victim);
                }

                continue;
            }

            var inGroup = op == Op.AllocateInGroup;
            var expected = Enumerable.Range(2, 29).Where(i => InRange(i) == inGroup && !handedOut.Contains(i)).DefaultIfEmpty(-1).First();
            int got;
            try
            {
                var lease = await control.AllocateAddressAsync("n.default", null, null, inGroup ? "g" : null, ct);
                got = int.Parse(lease.Address.Split('.')[3], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (ContivException e) when (e.Message.StartsWith("auto allocation failed", StringComparison.Ordinal))
            {
                got = -1;
            }

            if (got != expected)
            {
                return false;
            }

            if (got >= 0)
            {
                handedOut.Add(got);
            }
        }

        // Release the group's addresses, delete it: the network can then allocate the whole range.
        foreach (var address in handedOut.Where(InRange).ToList())
        {
            await control.ReleaseAddressAsync("n.default", $"10.1.2.{address}", ct);
            handedOut.Remove(address);
        }

        await control.DeleteGroupAsync("default", "g", ct);
        var rest = new List<int>();
        for (var i = 0; i < 29 - handedOut.Count; i++)
        {
            rest.Add(int.Parse((await control.AllocateAddressAsync("n.default", null, ct)).Address.Split('.')[3], System.Globalization.CultureInfo.InvariantCulture));
        }

        return rest.Order().SequenceEqual(Enumerable.Range(2, 29).Where(i => !handedOut.Contains(i)));
    }
}
