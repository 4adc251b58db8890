using Xunit;

namespace Contiv.ControlPlane.Tests;

/// <summary>
/// netmaster's create returns once every live host that creates Docker networks has bound one for
/// the new network or group (its agent created it and Docker handed it to netplugin).
/// </summary>
public sealed class DockerNetworkWaitTests
{
    private static readonly TimeSpan HostTimeout = TimeSpan.FromSeconds(60);
    private readonly ContivControl _control = new(new InMemoryKeyValueStore());

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task HostAsync(string name, bool createsDockerNetworks = true, TimeSpan? silentFor = null) =>
        _control.RegisterHostAsync(new HostRecord { Name = name, CreatesDockerNetworks = createsDockerNetworks, LastSeen = DateTimeOffset.UtcNow - (silentFor ?? TimeSpan.Zero) }, Ct);

    [Fact]
    public async Task Returns_once_every_live_host_has_bound_the_network_and_group()
    {
        await HostAsync("h1");
        await HostAsync("h2");
        await _control.DockerNetworks("h1").BindAsync("d1", new DockerNetworkBinding("net.default", "vxlan", 1, "web"), Ct);
        var h2Later = Task.Run(
            async () =>
            {
                await Task.Delay(200, Ct);
                await _control.DockerNetworks("h2").BindAsync("d2", new DockerNetworkBinding("net.default", "vxlan", 1, "web"), Ct);
            },
            Ct);

        var missing = await _control.WaitForDockerNetworksAsync("net.default", "web", TimeSpan.FromSeconds(10), HostTimeout, Ct);
        await h2Later;
        Assert.Empty(missing);
    }

    [Fact]
    public async Task A_host_that_never_binds_it_is_reported_after_the_timeout_and_the_network_itself_is_not_the_group()
    {
        await HostAsync("h1");
        await _control.DockerNetworks("h1").BindAsync("d1", new DockerNetworkBinding("net.default", "vxlan", 1), Ct);

        // The network's own Docker network does not stand for its group's.
        Assert.Equal(["h1"], await _control.WaitForDockerNetworksAsync("net.default", "web", TimeSpan.FromMilliseconds(200), HostTimeout, Ct));
        Assert.Empty(await _control.WaitForDockerNetworksAsync("net.default", null, TimeSpan.FromMilliseconds(200), HostTimeout, Ct));
    }

    [Fact]
    public async Task Silent_hosts_and_hosts_in_swarm_scope_are_not_waited_for()
    {
        await HostAsync("dead", silentFor: TimeSpan.FromMinutes(5));
        await HostAsync("swarm-node", createsDockerNetworks: false);
        Assert.Empty(await _control.WaitForDockerNetworksAsync("net.default", null, TimeSpan.FromSeconds(5), HostTimeout, Ct));
    }
}
