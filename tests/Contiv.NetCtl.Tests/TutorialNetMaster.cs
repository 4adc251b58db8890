using Contiv.Model;
using Contiv.NetMaster.Tests;
using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary>
/// One real netmaster shared by a test class that only reads: tenants default and blue,
/// default:contiv-net (VNI 1), blue:contiv-net and blue:blue-db, host node1 (heartbeat now) and
/// one endpoint of default:contiv-net on node1.
/// </summary>
public sealed class TutorialNetMaster : IAsyncLifetime
{
    public const string EndpointId = "21f97ca11caa355fd56c75869b60587f149257932095c552fc3af76b0be0d91f";

    private NetMasterServer? _server;

    public NetMasterServer Server => _server ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        _server = await NetMasterServer.StartAsync();
        await _server.SetUpAsync(
            [
            ["net", "create", "--subnet=10.1.2.0/24", "contiv-net"],
            ["tenant", "create", "blue"],
            ["net", "create", "-t", "blue", "--subnet=10.1.2.0/24", "-g", "10.1.2.1", "contiv-net"],
            ["net", "create", "-t", "blue", "--subnet=10.1.5.0/24", "blue-db"],
            ]);

        var ct = CancellationToken.None;
        await _server.Control.RegisterHostAsync(new() { Name = "node1", VtepIp = "10.0.0.11", StartedAt = DateTimeOffset.UtcNow, LastSeen = DateTimeOffset.UtcNow }, ct);
        var lease = await _server.Control.AllocateAddressAsync("contiv-net.default", null, ct);
        await _server.Control.PutEndpointAsync(new EndpointOper
        {
            ContainerName = "contiv-c1",
            EndpointId = EndpointId,
            HomingHost = "node1",
            IpAddress = [lease.Address, string.Empty],
            MacAddress = lease.MacAddress,
            Network = "contiv-net.default",
        }, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
