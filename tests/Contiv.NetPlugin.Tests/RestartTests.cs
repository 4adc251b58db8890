using Contiv.Model;
using Contiv.TestSupport;
using Xunit;
using B = Contiv.NetPlugin.Tests.DockerBodies;

namespace Contiv.NetPlugin.Tests;

/// <summary>
/// After a plugin restart dockerd does not repeat RequestPool or CreateNetwork: it calls
/// RequestAddress with the old PoolID and CreateEndpoint/Join with the old network id. Both must work
/// from what the store holds.
/// </summary>
public sealed class RestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_new_plugin_on_the_same_store_serves_the_old_pool_and_network_ids()
    {
        using var directory = TempDirectory.Create("cnp-");
        var spec = new NetworkDatapathSpec("contiv-net.default", "vxlan", 1);
        string poolId;

        await using (var first = await PluginHarness.StartAsync(directory))
        {
            await first.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
            poolId = (await first.OkAsync("/IpamDriver.RequestPool", B.RequestPool())).GetProperty("PoolID").GetString()!;
            await first.OkAsync("/IpamDriver.RequestAddress", B.RequestGateway(poolId));
            await first.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
            Assert.Equal("10.1.2.1/24", (await first.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());
            await first.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
            await first.OkAsync("/NetworkDriver.Join", B.Join());
        }

        Assert.False(File.Exists(PluginHarness.SocketPath(directory)) && await CanConnectAsync(PluginHarness.SocketPath(directory)), "the first plugin still answers");

        await using var second = await PluginHarness.StartAsync(directory);

        // IPAM: .1 is still taken, so the next container gets .2 from the old PoolID.
        Assert.Equal("10.1.2.2/24", (await second.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());

        // The Docker network id is still mapped: endpoints can be created and joined.
        var created = await second.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.2/24", endpointId: B.EndpointId2));
        Assert.Equal("02:02:0a:01:02:02", created.GetProperty("Interface").GetProperty("MacAddress").GetString());
        var join = await second.OkAsync("/NetworkDriver.Join", B.Join(endpointId: B.EndpointId2));
        Assert.Equal(FakeDatapath.ContainerSide(B.EndpointId2), join.GetProperty("InterfaceName").GetProperty("SrcName").GetString());
        Assert.Equal(
            [new DatapathCall("EnsureNetwork", spec), new DatapathCall("CreateEndpoint", spec, B.EndpointId2, "02:02:0a:01:02:02", 1450)],
            second.Datapath.Calls);

        // The container from before the restart: joins again (docker restart), then goes away cleanly.
        var rejoin = await second.OkAsync("/NetworkDriver.Join", B.Join());
        Assert.Equal(FakeDatapath.ContainerSide(B.EndpointId), rejoin.GetProperty("InterfaceName").GetProperty("SrcName").GetString());
        await second.OkAsync("/NetworkDriver.Leave", B.Endpoint());
        await second.OkAsync("/NetworkDriver.DeleteEndpoint", B.Endpoint());
        Assert.Equal(new DatapathCall("DeleteEndpoint", spec, B.EndpointId), second.Datapath.Calls[^1]);
        await second.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(poolId, "10.1.2.1"));

        var endpoint = Assert.Single(await second.Control.ListEndpointsAsync("contiv-net.default", Ct));
        Assert.Equal((B.EndpointId2, "10.1.2.2"), (endpoint.EndpointId, endpoint.IpAddress[0]));
        Assert.Equal("10.1.2.1/24", (await second.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString());

        // network rm after the restart still finds the binding and removes the datapath.
        await second.OkAsync("/NetworkDriver.DeleteNetwork", B.Network());
        Assert.Equal(new DatapathCall("RemoveNetwork", spec), second.Datapath.Calls[^1]);
    }

    private static async Task<bool> CanConnectAsync(string path)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), Ct);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
