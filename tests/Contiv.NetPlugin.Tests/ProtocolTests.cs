using System.Net;
using System.Text.Json;
using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.TestSupport;
using Xunit;
using B = Contiv.NetPlugin.Tests.DockerBodies;

namespace Contiv.NetPlugin.Tests;

/// <summary>The libnetwork driver and IPAM calls in the order dockerd makes them, with dockerd's bodies.</summary>
public sealed class ProtocolTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = TempDirectory.Create("cnp-");
    private PluginHarness? _plugin;

    private PluginHarness Plugin => _plugin!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _plugin = await PluginHarness.StartAsync(_directory);

        // What netmaster did before: `netctl net create --subnet=10.1.2.0/24 contiv-net` (VNI 1),
        // and tenant blue's contiv-net with a gateway (VNI 2).
        await Plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
        await Plugin.Control.CreateTenantAsync(new Tenant { TenantName = "blue" }, Ct);
        await Plugin.Control.CreateNetworkAsync(new Network { TenantName = "blue", NetworkName = "contiv-net", Subnet = B.Pool, Gateway = "10.1.2.1" }, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_plugin is not null)
        {
            await _plugin.DisposeAsync();
        }

        _directory.Dispose();
    }

    private static string Text(JsonElement e) => JsonSerializer.Serialize(e);

    [Fact]
    public async Task Docker_call_order_from_network_create_to_network_rm()
    {
        var spec = new NetworkDatapathSpec("contiv-net.default", "vxlan", 1);

        // docker network create (done by the agent): handshake, pool, gateway, network.
        Assert.Equal("""{"Implements":["NetworkDriver","IpamDriver"]}""", Text(await Plugin.OkAsync("/Plugin.Activate", null)));
        var caps = await Plugin.OkAsync("/NetworkDriver.GetCapabilities", null);
        Assert.Equal("local", caps.GetProperty("Scope").GetString());
        Assert.Equal("""{"RequiresMACAddress":false}""", Text(await Plugin.OkAsync("/IpamDriver.GetCapabilities", null)));
        var spaces = await Plugin.OkAsync("/IpamDriver.GetDefaultAddressSpaces", null);
        Assert.Equal("contiv-local", spaces.GetProperty("LocalDefaultAddressSpace").GetString());

        var pool = await Plugin.OkAsync("/IpamDriver.RequestPool", B.RequestPool());
        Assert.Equal("contiv-net.default|10.1.2.0/24", pool.GetProperty("PoolID").GetString());
        Assert.Equal("10.1.2.0/24", pool.GetProperty("Pool").GetString());
        var poolId = B.PoolId();

        // No gateway configured: Docker gets the pool itself, nothing is allocated.
        Assert.Equal("10.1.2.0/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestGateway(poolId))).GetProperty("Address").GetString());
        Assert.Equal("{}", Text(await Plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork())));
        Assert.Equal([new DatapathCall("EnsureNetwork", spec)], Plugin.Datapath.Calls);
        Assert.Equal(new DockerNetworkBinding("contiv-net.default", "vxlan", 1), await Plugin.Map.FindAsync(B.DockerNetworkId, Ct));

        // docker run: address, endpoint, join. Containers start at .1 without a gateway (as in the tutorial).
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());
        var created = await Plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
        Assert.Equal("""{"Interface":{"MacAddress":"02:02:0a:01:02:01"}}""", Text(created));
        Assert.Equal(new DatapathCall("CreateEndpoint", spec, B.EndpointId, "02:02:0a:01:02:01", 1450), Plugin.Datapath.Calls[^1]);

        var record = Assert.Single(await Plugin.Control.ListEndpointsAsync("contiv-net.default", Ct));
        Assert.Equal(
            (B.EndpointId, "h1", "02:02:0a:01:02:01", "10.1.2.1", string.Empty, "contiv-net.default", "192.168.2.50", FakeDatapath.ContainerSide(B.EndpointId)),
            (record.EndpointId, record.HomingHost, record.MacAddress, record.IpAddress[0], record.IpAddress[1], record.Network, record.VtepIp, record.InterfaceName));

        var join = await Plugin.OkAsync("/NetworkDriver.Join", B.Join());
        Assert.Equal(FakeDatapath.ContainerSide(B.EndpointId), join.GetProperty("InterfaceName").GetProperty("SrcName").GetString());
        Assert.Equal("eth", join.GetProperty("InterfaceName").GetProperty("DstPrefix").GetString());
        Assert.False(join.TryGetProperty("Gateway", out _), "no gateway configured, so none in Join: " + Text(join));
        Assert.False(join.TryGetProperty("StaticRoutes", out _));

        var info = await Plugin.OkAsync("/NetworkDriver.EndpointOperInfo", B.Endpoint());
        Assert.Equal("10.1.2.1", info.GetProperty("Value").GetProperty("ipAddress").GetString());

        // A second container gets the next address.
        Assert.Equal("10.1.2.2/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());

        // docker stop/rm: leave, endpoint, address.
        Assert.Equal("{}", Text(await Plugin.OkAsync("/NetworkDriver.Leave", B.Endpoint())));
        Assert.Equal("{}", Text(await Plugin.OkAsync("/NetworkDriver.DeleteEndpoint", B.Endpoint())));
        Assert.Equal(new DatapathCall("DeleteEndpoint", spec, B.EndpointId), Plugin.Datapath.Calls[^1]);
        Assert.Empty(await Plugin.Control.ListEndpointsAsync("contiv-net.default", Ct));
        Assert.Equal("{}", Text(await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(poolId, "10.1.2.1"))));

        // The released address is handed out again (lowest free first).
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(poolId, "10.1.2.1"));
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(poolId, "10.1.2.2"));
        var inspect = await Plugin.Control.InspectNetworkAsync("default", "contiv-net", Ct);
        Assert.Equal((0, null, "10.1.2.1-10.1.2.254"), (inspect.Oper.AllocatedAddressesCount, inspect.Oper.AllocatedIpAddresses, inspect.Oper.AvailableIpAddresses));

        // docker network rm: gateway (the pool address), pool, network.
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(poolId, "10.1.2.0"));
        Assert.Equal("{}", Text(await Plugin.OkAsync("/IpamDriver.ReleasePool", B.ReleasePool(poolId))));
        Assert.Equal("{}", Text(await Plugin.OkAsync("/NetworkDriver.DeleteNetwork", B.Network())));
        Assert.Equal(new DatapathCall("RemoveNetwork", spec), Plugin.Datapath.Calls[^1]);
        Assert.Null(await Plugin.Map.FindAsync(B.DockerNetworkId, Ct));

        Assert.Equal(
            ["EnsureNetwork", "EnsureNetwork", "CreateEndpoint", "DeleteEndpoint", "RemoveNetwork"],
            Plugin.Datapath.Calls.Select(c => c.Operation));

        // The Contiv network itself is netmaster's: it is still there.
        Assert.NotNull(await Plugin.Control.FindNetworkAsync("default", "contiv-net", Ct));
    }

    [Fact]
    public async Task With_a_configured_gateway_docker_gets_it_and_containers_start_after_it()
    {
        var poolId = (await Plugin.OkAsync("/IpamDriver.RequestPool", B.RequestPool(tenant: "blue"))).GetProperty("PoolID").GetString()!;
        Assert.Equal("contiv-net.blue|10.1.2.0/24", poolId);
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestGateway(poolId))).GetProperty("Address").GetString());

        // docker network create --gateway 10.1.2.1 asks for it explicitly; another gateway is refused.
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestGateway(poolId, "10.1.2.1"))).GetProperty("Address").GetString());
        await Plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestGateway(poolId, "10.1.2.254"), "gateway 10.1.2.254 does not match network blue:contiv-net, whose gateway is 10.1.2.1");

        await Plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork(tenant: "blue", tag: 2, gateway: "10.1.2.1/24"));
        Assert.Equal("10.1.2.2/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());
        var created = await Plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.2/24"));
        Assert.Equal("02:02:0a:01:02:02", created.GetProperty("Interface").GetProperty("MacAddress").GetString());
        var join = await Plugin.OkAsync("/NetworkDriver.Join", B.Join());
        Assert.Equal("10.1.2.1", join.GetProperty("Gateway").GetString());
        Assert.Equal(new DatapathCall("CreateEndpoint", new NetworkDatapathSpec("contiv-net.blue", "vxlan", 2), B.EndpointId, "02:02:0a:01:02:02", 1450), Plugin.Datapath.Calls[^1]);

        // The gateway stays reserved: releasing it (docker network rm does) frees nothing.
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(poolId, "10.1.2.1"));
        var inspect = await Plugin.Control.InspectNetworkAsync("blue", "contiv-net", Ct);
        Assert.Equal("10.1.2.1-10.1.2.2", inspect.Oper.AllocatedIpAddresses);

        // The same subnet in tenant default is a separate address space.
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()))).GetProperty("Address").GetString());
    }

    [Fact]
    public async Task A_static_ip_is_reserved_and_a_taken_one_refused()
    {
        var poolId = B.PoolId();
        Assert.Equal("10.1.2.200/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId, "10.1.2.200"))).GetProperty("Address").GetString());
        await Plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId, "10.1.2.200"), "address 10.1.2.200 is already in use");
        await Plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId, "10.1.3.7"), "is not inside subnet 10.1.2.0/24");
        await Plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId, "10.1.2.255"), "broadcast");
        await Plugin.ErrAsync("/IpamDriver.RequestAddress", B.RequestAddress("contiv-net.blue|10.1.2.0/24", "10.1.2.1"), "is the gateway");
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());
    }

    [Fact]
    public async Task Every_reply_has_the_plugin_content_type()
    {
        foreach (var path in Plugin.MappedPaths())
        {
            var reply = await Plugin.PostAsync(path, "{}");
            Assert.Equal(PluginServer.ContentType, reply.ContentType);
        }

        var unknown = await Plugin.PostAsync("/Bogus", "{}");
        Assert.Equal((HttpStatusCode.NotFound, PluginServer.ContentType), (unknown.Status, unknown.ContentType));
        Assert.Equal("unknown plugin call /Bogus", unknown.Err);
    }

    [Theory]
    [InlineData("/NetworkDriver.Bogus")]
    [InlineData("/IpamDriver.RequestPools")]
    [InlineData("/VolumeDriver.Create")]
    public async Task Unknown_plugin_calls_get_a_json_err(string path)
    {
        var unknown = await Plugin.PostAsync(path, "{}");
        Assert.Equal((HttpStatusCode.NotFound, PluginServer.ContentType), (unknown.Status, unknown.ContentType));
        Assert.Equal("unknown plugin call " + path, unknown.Err);
    }
}
