using System.Text.Json;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>netmaster keeps nothing that matters in memory: a new one on the same state directory carries on.</summary>
public sealed class RestartTests
{
    private static async Task<string> OkAsync(NetMasterServer server, params string[] args)
    {
        var run = await server.NetCtlAsync(args);
        Assert.True(run.ExitCode == 0, $"netctl {string.Join(' ', args)}: {run.Stderr}");
        return run.Stdout;
    }

    private static async Task<int> VniAsync(NetMasterServer server, string tenant, string network)
    {
        using var doc = JsonDocument.Parse(await OkAsync(server, "net", "inspect", "-t", tenant, network));
        return doc.RootElement.GetProperty("Oper").GetProperty("externalPktTag").GetInt32();
    }

    [Fact]
    public async Task Networks_tenants_tags_addresses_and_settings_survive_a_restart()
    {
        using var directory = TempDirectory.Create("contiv-nm-");
        await using var server = await NetMasterServer.StartAsync(directory);
        await OkAsync(server, "global", "set", "--fwd-mode", "routing");
        await OkAsync(server, "net", "create", "-s", "10.1.2.0/24", "-g", "10.1.2.1", "contiv-net");
        await OkAsync(server, "tenant", "create", "blue");
        await OkAsync(server, "net", "create", "-t", "blue", "-s", "10.1.2.0/24", "contiv-net");
        await OkAsync(server, "net", "create", "-e", "vlan", "-p", "112", "-s", "10.1.3.0/24", "contiv-vlan");
        var lease = await server.Control.AllocateAddressAsync("contiv-net.default", null, TestContext.Current.CancellationToken);
        Assert.Equal("10.1.2.2", lease.Address);

        var before = (
            await OkAsync(server, "net", "ls", "-a"),
            await OkAsync(server, "tenant", "ls"),
            await OkAsync(server, "global", "inspect"),
            await OkAsync(server, "net", "inspect", "contiv-net"));
        var oldUrl = server.Url;

        await server.RestartAsync();

        Assert.Equal(directory.Path, server.StateDirectory);
        var after = (
            await OkAsync(server, "net", "ls", "-a"),
            await OkAsync(server, "tenant", "ls"),
            await OkAsync(server, "global", "inspect"),
            await OkAsync(server, "net", "inspect", "contiv-net"));
        Assert.Equal(before, after);
        Assert.Contains("\"fwdMode\": \"routing\"", after.Item3, StringComparison.Ordinal);
        Assert.Contains("\"allocatedIPAddresses\": \"10.1.2.1-10.1.2.2\"", after.Item4, StringComparison.Ordinal);

        // The old server is really gone.
        Assert.Equal(1, (await NetMasterServer.RunNetCtlAsync(oldUrl, "tenant", "ls")).ExitCode);

        // New allocations continue from the stored state: the next VNI, the next address.
        Assert.Equal((1, 2), (await VniAsync(server, "default", "contiv-net"), await VniAsync(server, "blue", "contiv-net")));
        await OkAsync(server, "net", "create", "-s", "10.1.4.0/24", "after-restart");
        Assert.Equal(3, await VniAsync(server, "default", "after-restart"));
        Assert.Equal("10.1.2.3", (await server.Control.AllocateAddressAsync("contiv-net.default", null, TestContext.Current.CancellationToken)).Address);

        // The tag taken before the restart is still taken; the duplicate is still refused.
        Assert.Contains("pkt-tag 112 is already used", (await server.NetCtlAsync("net", "create", "-e", "vlan", "-p", "112", "-s", "10.1.5.0/24", "v2")).Stderr, StringComparison.Ordinal);
        Assert.Contains("already exists", (await server.NetCtlAsync("net", "create", "-s", "10.1.2.0/24", "contiv-net")).Stderr, StringComparison.Ordinal);

        // Initialisation on restart does not reset the settings a user changed.
        Assert.Contains("Forward mode: routing", await OkAsync(server, "global", "info"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deletes_before_a_restart_stay_deleted_and_free_their_tags()
    {
        using var directory = TempDirectory.Create("contiv-nm-");
        await using var server = await NetMasterServer.StartAsync(directory);
        await OkAsync(server, "net", "create", "-s", "10.1.2.0/24", "a");
        await OkAsync(server, "net", "create", "-s", "10.1.3.0/24", "b");
        await OkAsync(server, "tenant", "create", "blue");
        await OkAsync(server, "net", "rm", "a");
        await OkAsync(server, "tenant", "rm", "blue");

        await server.RestartAsync();

        Assert.Equal("b\n", await OkAsync(server, "net", "ls", "-q"));
        Assert.Equal("default\n", await OkAsync(server, "tenant", "ls", "-q"));
        await OkAsync(server, "net", "create", "-s", "10.1.2.0/24", "c");
        Assert.Equal(1, await VniAsync(server, "default", "c"));
    }
}
