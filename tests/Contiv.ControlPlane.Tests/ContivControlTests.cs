using Contiv.Model;
using Xunit;

namespace Contiv.ControlPlane.Tests;

public sealed class ContivControlTests
{
    private readonly ContivControl _control = new(new InMemoryKeyValueStore());

    private async Task<ContivControl> InitializedAsync()
    {
        await _control.InitializeAsync();
        return _control;
    }

    private static Network Net(string name, string subnet, string tenant = "default", string? gateway = null, string encap = "vxlan", int tag = 0) =>
        new() { TenantName = tenant, NetworkName = name, Subnet = subnet, Gateway = gateway, Encap = encap, PktTag = tag };

    [Fact]
    public async Task Initialize_creates_default_tenant_and_global_defaults()
    {
        var control = await InitializedAsync();
        var tenants = await control.ListTenantsAsync();
        Assert.Equal(["default"], tenants.Select(t => t.TenantName));
        var global = await control.GetGlobalAsync();
        Assert.Equal(("bridge", "1-4094", "1-10000"), (global.FwdMode, global.Vlans, global.Vxlans));
    }

    [Fact]
    public async Task First_vxlan_networks_get_the_lowest_free_VNIs_and_vlan_honours_the_requested_tag()
    {
        var control = await InitializedAsync();
        var a = await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24"));
        var v = await control.CreateNetworkAsync(Net("contiv-vlan", "10.1.3.0/24", encap: "vlan", tag: 112));
        await control.CreateTenantAsync(new Tenant { TenantName = "blue" });
        var b = await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24", tenant: "blue"));
        Assert.Equal((1, 112, 2), (a.Tag, v.Tag, b.Tag));
        Assert.Equal("contiv-net.blue", b.NetworkId);
    }

    [Fact]
    public async Task Requested_tags_are_checked_against_range_and_uniqueness()
    {
        var control = await InitializedAsync();
        await control.CreateNetworkAsync(Net("a", "10.1.2.0/24", encap: "vlan", tag: 112));
        var taken = await Assert.ThrowsAsync<ContivException>(() => control.CreateNetworkAsync(Net("b", "10.1.3.0/24", encap: "vlan", tag: 112)));
        Assert.Contains("already used", taken.Message, StringComparison.Ordinal);
        var outOfRange = await Assert.ThrowsAsync<ContivException>(() => control.CreateNetworkAsync(Net("c", "10.1.4.0/24", encap: "vlan", tag: 4095)));
        Assert.Contains("outside the configured vlan range 1-4094", outOfRange.Message, StringComparison.Ordinal);

        // The same number is free in the other encapsulation.
        var vx = await control.CreateNetworkAsync(Net("d", "10.1.5.0/24", tag: 112));
        Assert.Equal(112, vx.Tag);
    }

    [Fact]
    public async Task Duplicate_network_and_unknown_tenant_are_refused_without_side_effects()
    {
        var control = await InitializedAsync();
        await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24"));
        var dup = await Assert.ThrowsAsync<ContivException>(() => control.CreateNetworkAsync(Net("contiv-net", "10.9.0.0/24")));
        Assert.Equal((ErrorKind.Conflict, "network default:contiv-net already exists"), (dup.Kind, dup.Message));
        var noTenant = await Assert.ThrowsAsync<ContivException>(() => control.CreateNetworkAsync(Net("x", "10.1.2.0/24", tenant: "red")));
        Assert.Equal((ErrorKind.NotFound, "tenant red does not exist"), (noTenant.Kind, noTenant.Message));

        // The failed attempts did not consume tags.
        var next = await control.CreateNetworkAsync(Net("y", "10.1.9.0/24"));
        Assert.Equal(2, next.Tag);
    }

    [Fact]
    public async Task Without_gateway_the_first_container_gets_dot_one_and_the_seed_ranges_render()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24"));
        var first = await control.AllocateAddressAsync(net.NetworkId, null);
        Assert.Equal(("10.1.2.1", 24, "02:02:0a:01:02:01"), (first.Address, first.PrefixLength, first.MacAddress));
    }

    [Fact]
    public async Task With_gateway_the_gateway_is_reserved_and_inspect_matches_the_seed()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24", gateway: "10.1.2.1"));

        var empty = await control.InspectNetworkAsync("default", "contiv-net");
        Assert.Equal(("10.1.2.1", "10.1.2.2-10.1.2.254", 0), (empty.Oper.AllocatedIpAddresses, empty.Oper.AvailableIpAddresses, empty.Oper.AllocatedAddressesCount));

        var c1 = await control.AllocateAddressAsync(net.NetworkId, null);
        var c2 = await control.AllocateAddressAsync(net.NetworkId, null);
        Assert.Equal(("10.1.2.2", "10.1.2.3"), (c1.Address, c2.Address));
        Assert.Equal("02:02:0a:01:02:02", c1.MacAddress);

        var inspect = await control.InspectNetworkAsync("default", "contiv-net");
        Assert.Equal("10.1.2.1-10.1.2.3", inspect.Oper.AllocatedIpAddresses);
        Assert.Equal("10.1.2.4-10.1.2.254", inspect.Oper.AvailableIpAddresses);
        Assert.Equal(2, inspect.Oper.AllocatedAddressesCount);
        Assert.Equal(("contiv-net.default", 1, 1), (inspect.Oper.NetworkTag, inspect.Oper.ExternalPktTag, inspect.Oper.PktTag));
    }

    [Fact]
    public async Task Requested_address_is_honoured_or_refused_and_release_is_idempotent()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("n", "10.1.2.0/24", gateway: "10.1.2.254"));
        Assert.Equal("10.1.2.200", (await control.AllocateAddressAsync(net.NetworkId, "10.1.2.200")).Address);
        var again = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync(net.NetworkId, "10.1.2.200"));
        Assert.Contains("already in use", again.Message, StringComparison.Ordinal);
        var gw = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync(net.NetworkId, "10.1.2.254"));
        Assert.Contains("gateway", gw.Message, StringComparison.Ordinal);
        var outside = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync(net.NetworkId, "10.1.3.5"));
        Assert.Contains("not inside subnet 10.1.2.0/24", outside.Message, StringComparison.Ordinal);

        Assert.True(await control.ReleaseAddressAsync(net.NetworkId, "10.1.2.200"));
        Assert.False(await control.ReleaseAddressAsync(net.NetworkId, "10.1.2.200"));
        Assert.False(await control.ReleaseAddressAsync(net.NetworkId, "10.1.2.254"));
        Assert.False(await control.ReleaseAddressAsync("gone.default", "10.1.2.3"));
    }

    [Fact]
    public async Task Exhaustion_gives_contivs_error()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("tiny", "10.1.2.0/30"));
        await control.AllocateAddressAsync(net.NetworkId, null);
        await control.AllocateAddressAsync(net.NetworkId, null);
        var e = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync(net.NetworkId, null));
        Assert.StartsWith("auto allocation failed - address exhaustion in subnet 10.1.2.0/30", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Range_subnets_only_hand_out_addresses_in_range()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("r", "10.1.1.10-12/24"));
        var got = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            got.Add((await control.AllocateAddressAsync(net.NetworkId, null)).Address);
        }

        Assert.Equal(["10.1.1.10", "10.1.1.11", "10.1.1.12"], got);
        await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync(net.NetworkId, null));
    }

    [Fact]
    public async Task Deleting_a_network_in_use_is_refused_and_state_is_kept()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24"));
        var lease = await control.AllocateAddressAsync(net.NetworkId, null);
        var e = await Assert.ThrowsAsync<ContivException>(() => control.DeleteNetworkAsync("default", "contiv-net"));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.Contains("10.1.2.1", e.Message, StringComparison.Ordinal);
        Assert.NotNull(await control.FindNetworkAsync("default", "contiv-net"));

        await control.ReleaseAddressAsync(net.NetworkId, lease.Address);
        await control.DeleteNetworkAsync("default", "contiv-net");
        Assert.Null(await control.FindNetworkAsync("default", "contiv-net"));

        // The VNI is free again.
        Assert.Equal(1, (await control.CreateNetworkAsync(Net("again", "10.1.2.0/24"))).Tag);
    }

    [Fact]
    public async Task Endpoint_records_block_network_delete_and_show_in_inspect()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24"));
        await control.PutEndpointAsync(new EndpointOper
        {
            EndpointId = "abc123",
            ContainerName = "contiv-c1",
            HomingHost = "h1",
            Network = net.NetworkId,
            IpAddress = ["10.1.2.1", string.Empty],
            MacAddress = "02:02:0a:01:02:01",
        });
        var e = await Assert.ThrowsAsync<ContivException>(() => control.DeleteNetworkAsync("default", "contiv-net"));
        Assert.Contains("contiv-c1", e.Message, StringComparison.Ordinal);
        var inspect = await control.InspectNetworkAsync("default", "contiv-net");
        Assert.Equal(1, inspect.Oper.NumEndpoints);
        Assert.Equal("h1", Assert.Single(inspect.Oper.Endpoints!).HomingHost);
        Assert.Equal("contiv-c1", (await control.FindEndpointAsync("abc")).ContainerName);
    }

    [Fact]
    public async Task Tenants_with_networks_cannot_be_deleted_and_default_never()
    {
        var control = await InitializedAsync();
        await control.CreateTenantAsync(new Tenant { TenantName = "blue" });
        await Assert.ThrowsAsync<ContivException>(() => control.CreateTenantAsync(new Tenant { TenantName = "blue" }));
        await control.CreateNetworkAsync(Net("contiv-net", "10.1.2.0/24", tenant: "blue"));
        var e = await Assert.ThrowsAsync<ContivException>(() => control.DeleteTenantAsync("blue"));
        Assert.Contains("contiv-net", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ContivException>(() => control.DeleteTenantAsync("default"));
        await control.DeleteNetworkAsync("blue", "contiv-net");
        await control.DeleteTenantAsync("blue");
        Assert.Equal(["default"], (await control.ListTenantsAsync()).Select(t => t.TenantName));
    }

    [Fact]
    public async Task Global_range_cannot_strand_tags_in_use()
    {
        var control = await InitializedAsync();
        await control.CreateNetworkAsync(Net("v", "10.1.3.0/24", encap: "vlan", tag: 112));
        var global = await control.GetGlobalAsync();
        global.Vlans = "200-300";
        var e = await Assert.ThrowsAsync<ContivException>(() => control.SetGlobalAsync(global));
        Assert.Contains("vlan 112", e.Message, StringComparison.Ordinal);
        global.Vlans = "100-300";
        global.FwdMode = "routing";
        await control.SetGlobalAsync(global);
        Assert.Equal(("100-300", "routing"), ((await control.GetGlobalAsync()).Vlans, (await control.GetGlobalAsync()).FwdMode));
    }

    [Fact]
    public async Task Global_settings_always_carry_key_global_as_contiv_does()
    {
        var control = await InitializedAsync();
        Assert.Equal("global", (await control.GetGlobalAsync()).Key);
        var global = await control.GetGlobalAsync();
        global.Key = null;
        global.FwdMode = "routing";
        await control.SetGlobalAsync(global);
        Assert.Equal(("global", "routing"), ((await control.GetGlobalAsync()).Key, (await control.GetGlobalAsync()).FwdMode));
    }

    [Fact]
    public async Task Concurrent_allocations_never_hand_out_an_address_twice()
    {
        var control = await InitializedAsync();
        var net = await control.CreateNetworkAsync(Net("big", "10.2.0.0/22"));
        var leases = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => Task.Run(() => control.AllocateAddressAsync(net.NetworkId, null))));
        Assert.Equal(400, leases.Select(l => l.Address).Distinct().Count());

        // Lowest-free: exactly the first 400 host addresses are taken.
        var inspect = await control.InspectNetworkAsync("default", "big");
        Assert.Equal("10.2.0.1-10.2.1.144", inspect.Oper.AllocatedIpAddresses);
    }
}
