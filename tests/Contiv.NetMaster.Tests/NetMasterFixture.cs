using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// One netmaster shared by a test class whose tests only read or are refused: it holds the
/// tutorial's state (default:contiv-net VNI 1, blue:contiv-net VNI 2, default:contiv-vlan VLAN 112).
/// </summary>
public sealed class NetMasterFixture : IAsyncLifetime
{
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
            ["net", "create", "-p", "112", "-e", "vlan", "-s", "10.1.3.0/24", "contiv-vlan"],
            ]);
    }

    /// <summary>`net ls -a` plus `global inspect`: everything a refused request must leave unchanged.</summary>
    public async Task<string> StateAsync()
    {
        var nets = await Server.NetCtlAsync("net", "ls", "-a");
        var tenants = await Server.NetCtlAsync("tenant", "ls");
        var global = await Server.NetCtlAsync("global", "inspect");
        return nets.Stdout + tenants.Stdout + global.Stdout;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
