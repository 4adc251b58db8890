using System.Text.Json;

namespace Contiv.EndToEnd.Tests;

[CollectionDefinition(nameof(SharedLab))]
public sealed class SharedLab : ICollectionFixture<ContivLabFixture>;

/// <summary>
/// The seed tutorial's chapters 2 and 3 on the real lab: netctl creates networks, Docker networks
/// appear on every host, containers get Contiv's addresses and MACs and reach each other.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class NetworkLifecycleTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    /// <summary>GET /metrics on a host's plugin socket (root only, as dockerd uses it).</summary>
    private async Task<Contiv.TestSupport.PrometheusText> ScrapePluginAsync(string host)
    {
        var scrape = (await lab.BashAsync($"curl -sf --unix-socket \"$(lab_plugins_dir {host})/netplugin.sock\" http://netplugin/metrics")).EnsureSuccess($"curl /metrics on {host}");
        return Contiv.TestSupport.PrometheusText.Parse(scrape.Stdout);
    }

    [Fact]
    public async Task Netctl_network_appears_on_every_docker_host_with_seed_options()
    {
        lab.SkipIfUnavailable();
        var create = (await lab.NetCtlAsync("net", "create", "--subnet=10.1.2.0/24", "e2e-net")).EnsureSuccess("netctl net create");
        Assert.Equal("Creating network default:e2e-net", create.Stdout.Trim());
        try
        {
            foreach (var host in new[] { "h1", "h2" })
            {
                await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "e2e-net"), r => r.ExitCode == 0, Converge, $"docker network e2e-net on {host}");
                var net = await lab.DockerInspectAsync(host, "network", "e2e-net");
                Assert.Equal("netplugin", net.GetProperty("Driver").GetString());
                Assert.Equal("netplugin", net.GetProperty("IPAM").GetProperty("Driver").GetString());
                Assert.Equal("e2e-net", net.GetProperty("IPAM").GetProperty("Options").GetProperty("network").GetString());
                Assert.Equal("default", net.GetProperty("IPAM").GetProperty("Options").GetProperty("tenant").GetString());
                Assert.Equal("10.1.2.0/24", net.GetProperty("IPAM").GetProperty("Config")[0].GetProperty("Subnet").GetString());
                var options = net.GetProperty("Options");
                Assert.Equal("vxlan", options.GetProperty("encap").GetString());
                Assert.Equal("default", options.GetProperty("tenant").GetString());
                Assert.True(int.Parse(options.GetProperty("pkt-tag").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
            }
        }
        finally
        {
            (await lab.NetCtlAsync("net", "rm", "e2e-net")).EnsureSuccess("netctl net rm");
        }

        foreach (var host in new[] { "h1", "h2" })
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "e2e-net"), r => r.ExitCode != 0, Converge, $"docker network e2e-net removed on {host}");
        }
    }

    /// <summary>
    /// README: the store is the truth and Docker networks are each host's copies, so a `docker
    /// network rm` of a Contiv network on an idle host is undone by its agent at the next periodic
    /// pass (~10 s); `netctl net rm` is how a network is deleted.
    /// </summary>
    [Fact]
    public async Task Docker_network_rm_of_a_contiv_network_is_undone_by_the_agent()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.57.0/24", "rm-net")).EnsureSuccess("netctl net create");
        try
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", "network", "inspect", "rm-net"), r => r.ExitCode == 0, Converge, "docker network rm-net on h1");
            var before = (await lab.DockerInspectAsync("h1", "network", "rm-net")).GetProperty("Id").GetString();
            (await lab.DockerAsync("h1", "network", "rm", "rm-net")).EnsureSuccess("docker network rm rm-net");

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", "network", "inspect", "rm-net"), r => r.ExitCode == 0, Converge, "rm-net back on h1");
            var after = await lab.DockerInspectAsync("h1", "network", "rm-net");
            Assert.NotEqual(before, after.GetProperty("Id").GetString());
            Assert.Equal("netplugin", after.GetProperty("Driver").GetString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"recreated after {clock.Elapsed.TotalSeconds:0.#} s; the agent's periodic pass is every 10 s");
            Assert.Contains("rm-net", (await lab.NetCtlAsync("net", "ls", "-q")).EnsureSuccess("netctl net ls").Stdout, StringComparison.Ordinal);
        }
        finally
        {
            (await lab.NetCtlAsync("net", "rm", "rm-net")).EnsureSuccess("netctl net rm");
        }

        await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", "network", "inspect", "rm-net"), r => r.ExitCode != 0, Converge, "docker network rm-net removed on h1 by netctl net rm");
    }

    [Fact]
    public async Task Plugin_socket_is_root_only()
    {
        lab.SkipIfUnavailable();
        var stat = (await lab.BashAsync("stat -c '%a %U %F' \"$(lab_plugins_dir h1)/netplugin.sock\"")).EnsureSuccess("stat plugin socket");
        Assert.Equal("600 root socket", stat.Stdout.Trim());
    }

    [Fact]
    public async Task Plugin_socket_serves_metrics_and_health_that_count_a_docker_run()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.8.0/24", "obs-net")).EnsureSuccess("netctl net create");
        try
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", "network", "inspect", "obs-net"), r => r.ExitCode == 0, Converge, "docker network on h1");
            var before = await ScrapePluginAsync("h1");
            (await lab.DockerAsync("h1", "run", "-d", "--name", "obs1", "--net", "obs-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run obs1");
            var after = await ScrapePluginAsync("h1");

            // Tests of this collection run one at a time: this docker run is the only Join meanwhile.
            const string Requests = "contiv_netplugin_requests_total";
            Assert.Equal(1, after.Value(Requests, "call=NetworkDriver.Join", "outcome=ok") - before.Value(Requests, "call=NetworkDriver.Join", "outcome=ok"));
            Assert.Equal(1, after.Value("contiv_netplugin_endpoints_joined") - before.Value("contiv_netplugin_endpoints_joined"));
            Assert.Equal(1, after.Value("contiv_netplugin_ipam_allocations_total", "network=obs-net.default"));
            Assert.Equal(1, after.Value("contiv_netplugin_request_duration_seconds_count", "call=NetworkDriver.Join", "outcome=ok")
                - before.Value("contiv_netplugin_request_duration_seconds_count", "call=NetworkDriver.Join", "outcome=ok"));

            var health = (await lab.BashAsync("curl -s -w ' %{http_code}' --unix-socket \"$(lab_plugins_dir h1)/netplugin.sock\" http://netplugin/health")).EnsureSuccess("curl /health");
            Assert.StartsWith("{\"status\":\"Healthy\"", health.Stdout, StringComparison.Ordinal);
            Assert.EndsWith(" 200", health.Stdout.TrimEnd(), StringComparison.Ordinal);

            // The Join's log line names the endpoint Docker reports.
            var endpointId = (await lab.DockerInspectAsync("h1", "container", "obs1")).GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("obs-net").GetProperty("EndpointID").GetString();
            var log = (await lab.BashAsync($"grep -F 'endpoint={endpointId}' \"$LAB_DIR/h1/netplugin.log\"")).EnsureSuccess("netplugin log lines of the endpoint");
            Assert.Matches(@"info: plugin\[1\] NetworkDriver\.Join ok in \d+\.\d ms request=\S+ network=[0-9a-f]{64} endpoint=" + endpointId, log.Stdout);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "obs1");
            (await lab.NetCtlAsync("net", "rm", "obs-net")).EnsureSuccess("netctl net rm");
        }
    }

    [Fact]
    public async Task Containers_on_one_host_get_contiv_addresses_mtu_and_ping_by_name()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.7.0/24", "single-net")).EnsureSuccess("netctl net create");
        try
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", "network", "inspect", "single-net"), r => r.ExitCode == 0, Converge, "docker network on h1");
            (await lab.DockerAsync("h1", "run", "-d", "--name", "s1", "--net", "single-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run s1");
            (await lab.DockerAsync("h1", "run", "-d", "--name", "s2", "--net", "single-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run s2");

            var s1 = await lab.DockerInspectAsync("h1", "container", "s1");
            var endpoint = s1.GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("single-net");
            Assert.Equal("10.1.7.1", endpoint.GetProperty("IPAddress").GetString());
            Assert.Equal("02:02:0a:01:07:01", endpoint.GetProperty("MacAddress").GetString());

            var eth0 = (await lab.DockerAsync("h1", "exec", "s2", "ip", "-o", "link", "show", "eth0")).EnsureSuccess("ip link in s2");
            Assert.Contains("mtu 1450", eth0.Stdout, StringComparison.Ordinal);
            Assert.Contains("02:02:0a:01:07:02", eth0.Stdout, StringComparison.Ordinal);

            var ping = await lab.DockerAsync("h1", "exec", "s2", "ping", "-c", "3", "-W", "2", "s1");
            Assert.True(ping.ExitCode == 0, ping.Output);
            Assert.Contains("PING s1 (10.1.7.1)", ping.Stdout, StringComparison.Ordinal);

            var inspect = JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "single-net")).EnsureSuccess("netctl net inspect").Stdout).RootElement;
            var oper = inspect.GetProperty("Oper");
            Assert.Equal(2, oper.GetProperty("numEndpoints").GetInt32());
            Assert.Equal("10.1.7.1-10.1.7.2", oper.GetProperty("allocatedIPAddresses").GetString());
            Assert.Equal("10.1.7.3-10.1.7.254", oper.GetProperty("availableIPAddresses").GetString());
            var names = await ContivLabFixture.EventuallyAsync(
                async () => JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "single-net")).Stdout).RootElement.GetProperty("Oper").GetProperty("endpoints")
                    .EnumerateArray().Select(e => e.TryGetProperty("containerName", out var n) ? n.GetString() : null).ToList(),
                n => n.Contains("s1") && n.Contains("s2"), Converge, "container names in netctl net inspect");
            Assert.Equal(2, names.Count);

            // Deleting a network with containers is refused and changes nothing.
            var rm = await lab.NetCtlAsync("net", "rm", "single-net");
            Assert.NotEqual(0, rm.ExitCode);
            Assert.Contains("active endpoint", rm.Output, StringComparison.Ordinal);

            // Removing a container frees its address for the next one.
            (await lab.DockerAsync("h1", "rm", "-f", "s1")).EnsureSuccess("docker rm s1");
            (await lab.DockerAsync("h1", "run", "-d", "--name", "s3", "--net", "single-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run s3");
            var s3 = await lab.DockerInspectAsync("h1", "container", "s3");
            Assert.Equal("10.1.7.1", s3.GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("single-net").GetProperty("IPAddress").GetString());
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "s1", "s2", "s3");
            (await lab.NetCtlAsync("net", "rm", "single-net")).EnsureSuccess("netctl net rm");
        }

        var leftovers = (await lab.ExecAsync("h1", "ip -o link show | grep -c ' cv[hc]' || true")).Stdout.Trim();
        Assert.Equal("0", leftovers);
    }

    [Fact]
    public async Task Docker_network_created_by_hand_is_registered_and_spans_hosts()
    {
        lab.SkipIfUnavailable();
        (await lab.DockerAsync("h1", "network", "create", "-d", "netplugin", "--ipam-driver", "netplugin", "--subnet", "10.1.9.0/24", "direct-net"))
            .EnsureSuccess("docker network create -d netplugin");
        try
        {
            var ls = await ContivLabFixture.EventuallyAsync(() => lab.NetCtlAsync("net", "ls"), r => r.Stdout.Contains("direct-net", StringComparison.Ordinal), Converge, "direct-net in netctl net ls");
            Assert.Matches(@"default\s+direct-net\s+data\s+vxlan\s+0\s+10\.1\.9\.0/24", ls.Stdout);
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h2", "network", "inspect", "direct-net"), r => r.ExitCode == 0, Converge, "direct-net on h2");

            (await lab.DockerAsync("h1", "run", "-d", "--name", "direct-c1", "--net", "direct-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run direct-c1");
            (await lab.DockerAsync("h2", "run", "-d", "--name", "direct-c2", "--net", "direct-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run direct-c2");
            var c1 = await lab.DockerInspectAsync("h1", "container", "direct-c1");
            Assert.Equal("10.1.9.1", c1.GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("direct-net").GetProperty("IPAddress").GetString());
            var ping = await lab.DockerAsync("h2", "exec", "direct-c2", "ping", "-c", "2", "-W", "2", "10.1.9.1");
            Assert.True(ping.ExitCode == 0, ping.Output);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "direct-c1");
            await lab.DockerAsync("h2", "rm", "-f", "direct-c2");
            await lab.NetCtlAsync("net", "rm", "direct-net");
        }

        foreach (var host in new[] { "h1", "h2" })
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "direct-net"), r => r.ExitCode != 0, Converge, $"direct-net removed on {host}");
        }
    }
}
