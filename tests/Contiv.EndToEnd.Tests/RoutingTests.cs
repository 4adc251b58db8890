namespace Contiv.EndToEnd.Tests;

/// <summary>
/// fwd-mode routing: networks of one tenant route to each other through the tenant's gateway on
/// each host, across hosts; never to another tenant's networks, even ones with the same subnet.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class RoutingTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    private async Task NetworkAsync(string tenant, string name, string subnet, string gateway)
    {
        (await lab.NetCtlAsync("net", "create", "-t", tenant, "-s", subnet, "-g", gateway, name)).EnsureSuccess($"net create {tenant}:{name}");
        var docker = tenant == "default" ? name : $"{name}/{tenant}";
        foreach (var host in new[] { "h1", "h2" })
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", docker), r => r.ExitCode == 0, Converge, $"{docker} on {host}");
        }
    }

    private async Task RunAsync(string host, string name, string network) =>
        (await lab.DockerAsync(host, "run", "-d", "--name", name, "--net", network, "contiv/busybox", "sleep", "600")).EnsureSuccess($"run {name}");

    [Fact]
    public async Task Routing_mode_routes_within_a_tenant_across_hosts_and_never_across_tenants()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("global", "set", "--fwd-mode", "routing")).EnsureSuccess("global set --fwd-mode routing");
        (await lab.NetCtlAsync("tenant", "create", "red")).EnsureSuccess("tenant red");
        (await lab.NetCtlAsync("tenant", "create", "green")).EnsureSuccess("tenant green");
        try
        {
            await NetworkAsync("red", "front", "10.1.20.0/24", "10.1.20.1");
            await NetworkAsync("red", "back", "10.1.21.0/24", "10.1.21.1");
            await NetworkAsync("green", "front", "10.1.20.0/24", "10.1.20.1");
            await NetworkAsync("green", "db", "10.1.22.0/24", "10.1.22.1");
            await RunAsync("h1", "red-front", "front/red");
            await RunAsync("h2", "red-back", "back/red");
            await RunAsync("h2", "green-db", "db/green");

            var route = (await lab.DockerAsync("h1", "exec", "red-front", "ip", "route")).Stdout;
            Assert.Contains("default via 10.1.20.1", route, StringComparison.Ordinal);

            // red front (h1) -> red back (h2): routed by red's gateway, across hosts.
            var routed = await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h1", "exec", "red-front", "ping", "-c", "2", "-W", "2", "10.1.21.1"),
                r => r.ExitCode == 0, Converge, "red gateway of back reachable");
            var across = await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h1", "exec", "red-front", "ping", "-c", "3", "-W", "2", "10.1.21.2"),
                r => r.ExitCode == 0, Converge, "red front pings red back across networks and hosts");
            Assert.Contains("ttl=63", across.Stdout, StringComparison.Ordinal);

            // green's db network is not reachable from red, though green reuses red's front subnet.
            var leak = await lab.DockerAsync("h1", "exec", "red-front", "ping", "-c", "2", "-W", "1", "10.1.22.2");
            Assert.NotEqual(0, leak.ExitCode);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "red-front");
            await lab.DockerAsync("h2", "rm", "-f", "red-back", "green-db");
            foreach (var (tenant, net) in new[] { ("red", "front"), ("red", "back"), ("green", "front"), ("green", "db") })
            {
                await lab.NetCtlAsync("net", "rm", "-t", tenant, net);
            }

            await lab.NetCtlAsync("tenant", "rm", "red");
            await lab.NetCtlAsync("tenant", "rm", "green");
            (await lab.NetCtlAsync("global", "set", "--fwd-mode", "bridge")).EnsureSuccess("global set --fwd-mode bridge");
        }
    }
}
