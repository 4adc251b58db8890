using System.Text.Json;
using Contiv.Model;
using Contiv.State;
using Xunit;

namespace Contiv.ControlPlane.Tests;

/// <summary>The IPAM on the store's address pools: leases, network delete, records from before pools.</summary>
public sealed class AddressPoolIpamTests : IAsyncDisposable
{
    private readonly InMemoryKeyValueStore _store = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    private async Task<ContivControl> NetworkAsync(string subnet = "10.1.2.0/24", string? gateway = null)
    {
        var control = new ContivControl(_store);
        await control.InitializeAsync(ct: Cancellation);
        await control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "n", Subnet = subnet, Gateway = gateway }, Cancellation);
        return control;
    }

    [Fact]
    public async Task The_lease_naming_the_holder_is_written_with_the_allocation_and_removed_by_the_release()
    {
        var control = await NetworkAsync();

        var first = await control.AllocateAddressAsync("n.default", null, "h1", Cancellation);
        var second = await control.AllocateAddressAsync("n.default", "10.1.2.9", "h2", Cancellation);
        await control.AllocateAddressAsync("n.default", null, Cancellation);

        Assert.Equal(("10.1.2.1", "10.1.2.9"), (first.Address, second.Address));
        var leases = await control.ListLeasesAsync(null, Cancellation);
        Assert.Equal([("n.default", "10.1.2.1", "h1"), ("n.default", "10.1.2.9", "h2")], leases.Select(l => (l.NetworkId, l.Address, l.Host)));
        Assert.Equal(["10.1.2.9"], (await control.ListLeasesAsync("h2", Cancellation)).Select(l => l.Address));

        Assert.True(await control.ReleaseAddressAsync("n.default", "10.1.2.1", Cancellation));
        Assert.False(await control.ReleaseAddressAsync("n.default", "10.1.2.1", Cancellation));
        Assert.Equal(["10.1.2.9"], (await control.ListLeasesAsync(null, Cancellation)).Select(l => l.Address));
        Assert.Equal("10.1.2.1", (await control.AllocateAddressAsync("n.default", null, Cancellation)).Address);
    }

    [Fact]
    public async Task The_gateway_is_never_released_and_reserve_reports_what_it_did()
    {
        var control = await NetworkAsync(gateway: "10.1.2.1");

        Assert.False(await control.ReleaseAddressAsync("n.default", "10.1.2.1", Cancellation));
        Assert.True(await control.ReserveAddressAsync("n.default", "10.1.2.2", Cancellation));
        Assert.False(await control.ReserveAddressAsync("n.default", "10.1.2.2", Cancellation));
        Assert.Equal("10.1.2.3", (await control.AllocateAddressAsync("n.default", null, Cancellation)).Address);
        var refused = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync("n.default", "10.1.2.1", Cancellation));
        Assert.Contains("is the gateway", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_a_network_clears_its_pool_record_and_leases_and_allocation_then_fails()
    {
        var control = await NetworkAsync();
        var lease = await control.AllocateAddressAsync("n.default", null, "h1", Cancellation);
        await Assert.ThrowsAsync<ContivException>(() => control.DeleteNetworkAsync("default", "n", Cancellation));

        await control.ReleaseAddressAsync("n.default", lease.Address, Cancellation);
        await control.AllocateAddressAsync("n.default", null, "h1", Cancellation);
        await control.ReleaseAddressAsync("n.default", lease.Address, Cancellation);
        await control.DeleteNetworkAsync("default", "n", Cancellation);

        Assert.Empty(_store.PoolNames);
        Assert.Empty(await _store.ListAsync("state/", Cancellation));
        var missing = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync("n.default", null, Cancellation));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        Assert.False(await control.ReleaseAddressAsync("n.default", lease.Address, Cancellation));
    }

    [Fact]
    public async Task A_network_recorded_before_pools_keeps_its_addresses_and_moves_them_into_a_pool()
    {
        var control = await NetworkAsync(gateway: "10.1.2.254");
        // Rewrite the network's state as the previous version stored it: the bitmap inside the record, no pool.
        var subnet = Ipv4Subnet.Parse("10.1.2.0/24");
        var bitmap = AddressBitmap.Create(subnet);
        foreach (var index in new[] { 1, 2, 5, 254 })
        {
            bitmap.Take(index);
        }

        var legacy = new IpamRecord { Subnet = "10.1.2.0/24", GatewayIndex = 254, Bitmap = bitmap.Serialize() };
        Assert.True(await _store.TryCommitAsync(
            [],
            [new KeyWrite(StateKeys.Ipam("n.default"), JsonSerializer.Serialize(legacy, StateJson.Default.IpamRecord))],
            [],
            [new PoolWrite(StateKeys.IpamPool("n.default"), null)],
            Cancellation));

        var inspect = await control.InspectNetworkAsync("default", "n", Cancellation);
        Assert.Equal(("10.1.2.1-10.1.2.2, 10.1.2.5, 10.1.2.254", 3), (inspect.Oper.AllocatedIpAddresses, inspect.Oper.AllocatedAddressesCount));

        Assert.Equal("10.1.2.3", (await control.AllocateAddressAsync("n.default", null, Cancellation)).Address);
        Assert.NotNull(await _store.GetPoolAsync(StateKeys.IpamPool("n.default"), Cancellation));
        var record = JsonSerializer.Deserialize((await _store.GetAsync([StateKeys.Ipam("n.default")], Cancellation))[StateKeys.Ipam("n.default")]!, StateJson.Default.IpamRecord);
        Assert.Null(record!.Bitmap);
        Assert.Equal("10.1.2.4", (await control.AllocateAddressAsync("n.default", null, Cancellation)).Address);
        Assert.Equal("10.1.2.6", (await control.AllocateAddressAsync("n.default", null, Cancellation)).Address);
    }
}
