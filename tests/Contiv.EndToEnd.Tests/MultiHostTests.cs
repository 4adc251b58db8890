using System.Text.Json;
using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// Multi-host VXLAN (seed chapters 2 and 3): containers on different hosts reach each other, tenants
/// with the same subnet stay isolated, remote forwarding entries follow endpoints, and a host whose
/// agent starts late converges to the same state.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class MultiHostTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    private async Task CreateNetworkAsync(string tenant, string name, string subnet, params string[] hosts)
    {
        (await lab.NetCtlAsync("net", "create", "-t", tenant, "--subnet", subnet, name)).EnsureSuccess($"netctl net create {tenant}:{name}");
        var dockerName = tenant == "default" ? name : $"{name}/{tenant}";
        foreach (var host in hosts)
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", dockerName), r => r.ExitCode == 0, Converge, $"docker network {dockerName} on {host}");
        }
    }

    private async Task RunAsync(string host, string name, string network, params string[] command)
    {
        string[] args = ["run", "-d", "--name", name, "--net", network, "contiv/busybox", .. (command.Length == 0 ? ["sleep", "600"] : command)];
        (await lab.DockerAsync(host, args)).EnsureSuccess($"docker run {name} on {host}");
    }

    private async Task<string> IpOfAsync(string host, string container, string network) =>
        (await lab.DockerInspectAsync(host, "container", container)).GetProperty("NetworkSettings").GetProperty("Networks").GetProperty(network).GetProperty("IPAddress").GetString()!;

    /// <summary>Runs a command inside a network's namespace on a host (where the bridge and vxlan live).</summary>
    private Task<CommandResult> InNetworkNamespaceAsync(string host, string bridge, string command) =>
        lab.BashAsync($"lab_exec {host} nsenter --net=\"$(lab_host_dir {host})/run/netns/{bridge}\" sh -c '{command}'");

    private async Task<int> TagOfAsync(string tenant, string network)
    {
        var inspect = JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "-t", tenant, network)).EnsureSuccess("netctl net inspect").Stdout).RootElement;
        return inspect.GetProperty("Oper").GetProperty("externalPktTag").GetInt32();
    }

    [Fact]
    public async Task Containers_on_two_hosts_ping_and_remote_entries_follow_endpoints()
    {
        lab.SkipIfUnavailable();
        await CreateNetworkAsync("default", "mh-net", "10.1.2.0/24", "h1", "h2");
        try
        {
            await RunAsync("h1", "contiv-c1", "mh-net");
            await RunAsync("h2", "contiv-c2", "mh-net");
            Assert.Equal("10.1.2.1", await IpOfAsync("h1", "contiv-c1", "mh-net"));
            Assert.Equal("10.1.2.2", await IpOfAsync("h2", "contiv-c2", "mh-net"));

            var ping = await lab.DockerAsync("h2", "exec", "contiv-c2", "ping", "-c", "3", "-W", "2", "10.1.2.1");
            Assert.True(ping.ExitCode == 0, ping.Output);
            Assert.Contains("3 packets received", ping.Stdout, StringComparison.Ordinal);

            // By name across hosts (the tutorial's `ping -c 3 contiv-c1`): netplugin's DNS responder
            // answers what Docker's embedded DNS on h2 cannot know.
            var byName = await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h2", "exec", "contiv-c2", "ping", "-c", "3", "-W", "2", "contiv-c1"),
                r => r.ExitCode == 0, Converge, "ping contiv-c1 by name from h2");
            Assert.Contains("PING contiv-c1 (10.1.2.1)", byName.Stdout, StringComparison.Ordinal);

            var inspect = JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "mh-net")).Stdout).RootElement.GetProperty("Oper");
            var homes = inspect.GetProperty("endpoints").EnumerateArray().ToDictionary(e => e.GetProperty("ipAddress")[0].GetString()!, e => e.GetProperty("homingHost").GetString());
            Assert.Equal("h1", homes["10.1.2.1"]);
            Assert.Equal("h2", homes["10.1.2.2"]);

            // h2 has a unicast FDB entry and a permanent ARP entry for c1, pointing at h1's VTEP.
            var vni = await TagOfAsync("default", "mh-net");
            var bridge = $"cvbr-x{vni}";
            var fdb = await InNetworkNamespaceAsync("h2", bridge, $"bridge fdb show dev cvx-{vni}");
            Assert.Matches(@"02:02:0a:01:02:01 dst 192\.168\.2\.50 .*self permanent", fdb.Stdout);
            var arp = await InNetworkNamespaceAsync("h2", bridge, $"ip neigh show dev cvx-{vni}");
            Assert.Contains("10.1.2.1 lladdr 02:02:0a:01:02:01 PERMANENT", arp.Stdout, StringComparison.Ordinal);

            // Removing c1 on h1 removes those entries on h2.
            (await lab.DockerAsync("h1", "rm", "-f", "contiv-c1")).EnsureSuccess("docker rm contiv-c1");
            // (Only the entries netplugin programs: "self" FDB entries and ARP entries. The bridge's own
            // learned entries age out by themselves.)
            await ContivLabFixture.EventuallyAsync(
                async () => (await InNetworkNamespaceAsync("h2", bridge, $"bridge fdb show dev cvx-{vni} | grep self; ip neigh show dev cvx-{vni}")).Stdout,
                s => !s.Contains("02:02:0a:01:02:01", StringComparison.Ordinal), Converge, "remote entries for c1 removed on h2");
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "contiv-c1");
            await lab.DockerAsync("h2", "rm", "-f", "contiv-c2");
            (await lab.NetCtlAsync("net", "rm", "mh-net")).EnsureSuccess("netctl net rm mh-net");
        }
    }

    [Fact]
    public async Task Tenants_reusing_a_subnet_are_isolated()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("tenant", "create", "blue")).EnsureSuccess("netctl tenant create blue");
        await CreateNetworkAsync("default", "iso-net", "10.1.4.0/24", "h1", "h2");
        await CreateNetworkAsync("blue", "iso-net", "10.1.4.0/24", "h1", "h2");
        try
        {
            Assert.NotEqual(await TagOfAsync("default", "iso-net"), await TagOfAsync("blue", "iso-net"));

            // The same address, 10.1.4.1, exists in both tenants on different hosts, each answering with its tenant's name.
            await RunAsync("h1", "iso-default", "iso-net", "sh", "-c", "while true; do echo default | nc -l -p 7000; done");
            await RunAsync("h2", "iso-blue", "iso-net/blue", "sh", "-c", "while true; do echo blue | nc -l -p 7000; done");
            Assert.Equal("10.1.4.1", await IpOfAsync("h1", "iso-default", "iso-net"));
            Assert.Equal("10.1.4.1", await IpOfAsync("h2", "iso-blue", "iso-net/blue"));

            // A blue client on h1 (same host as the default server) reaches only the blue server.
            await RunAsync("h1", "iso-blue-client", "iso-net/blue");
            var reply = await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h1", "exec", "iso-blue-client", "nc", "-w", "2", "10.1.4.1", "7000"),
                r => r.ExitCode == 0 && r.Stdout.Trim().Length > 0, Converge, "blue client reaches a server");
            Assert.Equal("blue", reply.Stdout.Trim());

            // And a default client on h2 (same host as the blue server) reaches only the default server.
            await RunAsync("h2", "iso-default-client", "iso-net");
            reply = await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h2", "exec", "iso-default-client", "nc", "-w", "2", "10.1.4.1", "7000"),
                r => r.ExitCode == 0 && r.Stdout.Trim().Length > 0, Converge, "default client reaches a server");
            Assert.Equal("default", reply.Stdout.Trim());

            // Names do not leak across tenants: the default client cannot resolve a blue container's name
            // (on the same host), while a blue container can.
            var blueName = await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h1", "exec", "iso-blue-client", "nslookup", "iso-blue"),
                r => r.ExitCode == 0 && r.Stdout.Contains("10.1.4.1", StringComparison.Ordinal), Converge, "blue client resolves iso-blue");
            Assert.Contains("10.1.4.1", blueName.Stdout, StringComparison.Ordinal);
            var leak = await lab.DockerAsync("h2", "exec", "iso-default-client", "nslookup", "iso-blue");
            Assert.NotEqual(0, leak.ExitCode);

            // An address that exists only in blue (10.1.4.3) is unreachable from default, which has .1 and .2.
            await RunAsync("h2", "iso-blue-extra", "iso-net/blue");
            Assert.Equal("10.1.4.3", await IpOfAsync("h2", "iso-blue-extra", "iso-net/blue"));
            var across = await lab.DockerAsync("h2", "exec", "iso-default-client", "ping", "-c", "2", "-W", "1", "10.1.4.3");
            Assert.NotEqual(0, across.ExitCode);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "iso-default", "iso-blue-client");
            await lab.DockerAsync("h2", "rm", "-f", "iso-blue", "iso-default-client", "iso-blue-extra");
            await lab.NetCtlAsync("net", "rm", "iso-net");
            await lab.NetCtlAsync("net", "rm", "-t", "blue", "iso-net");
            await lab.NetCtlAsync("tenant", "rm", "blue");
        }
    }

    [Fact]
    public async Task A_host_whose_agent_starts_late_learns_existing_endpoints()
    {
        lab.SkipIfUnavailable();
        (await lab.BashAsync("contiv_stop_netplugin h3")).EnsureSuccess("stop netplugin on h3");
        try
        {
            await CreateNetworkAsync("default", "late-net", "10.1.5.0/24", "h1", "h2");
            await RunAsync("h1", "late-c1", "late-net");
            await RunAsync("h2", "late-c2", "late-net");

            (await lab.BashAsync("contiv_start_netplugin h3")).EnsureSuccess("start netplugin on h3");
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h3", "network", "inspect", "late-net"), r => r.ExitCode == 0, Converge, "docker network late-net on h3");
            await RunAsync("h3", "late-c3", "late-net");
            foreach (var target in new[] { "10.1.5.1", "10.1.5.2" })
            {
                var ping = await lab.DockerAsync("h3", "exec", "late-c3", "ping", "-c", "2", "-W", "2", target);
                Assert.True(ping.ExitCode == 0, $"h3 -> {target}: {ping.Output}");
            }

            // The earlier hosts learned the newcomer too.
            var back = await lab.DockerAsync("h1", "exec", "late-c1", "ping", "-c", "2", "-W", "2", "10.1.5.3");
            Assert.True(back.ExitCode == 0, back.Output);
        }
        finally
        {
            await lab.BashAsync("contiv_start_netplugin h3 2>/dev/null || true");
            await lab.DockerAsync("h1", "rm", "-f", "late-c1");
            await lab.DockerAsync("h2", "rm", "-f", "late-c2");
            await lab.DockerAsync("h3", "rm", "-f", "late-c3");
            await lab.NetCtlAsync("net", "rm", "late-net");
        }
    }
}
