using Contiv.Model;
using Contiv.TestSupport;
using Xunit;
using B = Contiv.NetPlugin.Tests.DockerBodies;

namespace Contiv.NetPlugin.Tests;

/// <summary>Address allocation across plugins, failures in the datapath, and pool id checks.</summary>
public sealed class IpamTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_plugins_on_one_store_never_hand_out_the_same_address()
    {
        using var directory = TempDirectory.Create("cnp-");
        using var other = TempDirectory.Create("cnp-");
        await using var h1 = await PluginHarness.StartAsync(directory);
        await h1.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);

        // A second plugin process: its own store instance on the same state directory, its own socket.
        await using var h2 = await PluginHarness.StartAsync(other, storeDirectory: directory);

        var requests = Enumerable.Range(0, 60).Select(i => (i % 2 == 0 ? h1 : h2).OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId())));
        var addresses = (await Task.WhenAll(requests)).Select(r => r.GetProperty("Address").GetString()!).ToList();

        Assert.Equal(60, addresses.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 60).Select(i => $"10.1.2.{i}/24").Order(StringComparer.Ordinal), addresses.Order(StringComparer.Ordinal));
        var inspect = await h2.Control.InspectNetworkAsync("default", "contiv-net", Ct);
        Assert.Equal(("10.1.2.1-10.1.2.60", 60), (inspect.Oper.AllocatedIpAddresses, inspect.Oper.AllocatedAddressesCount));
    }

    [Fact]
    public async Task A_datapath_failure_in_create_endpoint_is_a_json_error_and_leaves_no_record()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await PluginHarness.StartAsync(directory);
        await plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
        await plugin.OkAsync("/IpamDriver.RequestPool", B.RequestPool());
        await plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
        await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()));

        plugin.Datapath.FailNextCreateEndpoint = new IOException("netlink: File exists");
        var reply = await plugin.PostAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
        Assert.Equal(PluginServer.ContentType, reply.ContentType);
        Assert.Contains("File exists", reply.Err, StringComparison.Ordinal);
        Assert.Empty(await plugin.Control.ListEndpointsAsync("contiv-net.default", Ct));

        // Docker then releases the address; a retry works.
        await plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(B.PoolId(), "10.1.2.1"));
        Assert.Equal("10.1.2.1/24", (await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()))).GetProperty("Address").GetString());
        await plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
        Assert.Single(await plugin.Control.ListEndpointsAsync("contiv-net.default", Ct));
    }

    [Fact]
    public async Task A_pool_id_whose_subnet_no_longer_matches_the_network_is_refused()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await PluginHarness.StartAsync(directory);
        await plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
        var poolId = (await plugin.OkAsync("/IpamDriver.RequestPool", B.RequestPool())).GetProperty("PoolID").GetString()!;

        await plugin.Control.DeleteNetworkAsync("default", "contiv-net", Ct);
        await plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = "10.1.5.0/24" }, Ct);

        await plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId), "10.1.2.0/24");
        await plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestAddress("contiv-net.default|10.9.0.0/16"), "10.9.0.0/16");
        var inspect = await plugin.Control.InspectNetworkAsync("default", "contiv-net", Ct);
        Assert.Null(inspect.Oper.AllocatedIpAddresses);
    }

    [Fact]
    public async Task An_endpoint_address_not_handed_out_by_the_ipam_is_reserved_or_refused()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await PluginHarness.StartAsync(directory);
        await plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
        await plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
        Assert.Equal("10.1.2.1/24", (await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()))).GetProperty("Address").GetString());
        await plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));

        // An address Docker obtained elsewhere.
        var reply = await plugin.PostAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.2/24", endpointId: B.EndpointId2));
        if (reply.Err is null)
        {
            var next = (await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()))).GetProperty("Address").GetString();
            Assert.NotEqual("10.1.2.2/24", next);
        }
    }
}
