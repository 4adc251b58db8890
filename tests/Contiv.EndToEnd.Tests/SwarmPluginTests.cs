using System.Text.Json;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// A two-host lab in swarm mode with ContivDocker as a managed (v2) plugin: Redis and netmaster on
/// h1, no legacy netplugin, h1 the swarm manager and h2 a worker, and <c>contiv/netplugin:latest</c>
/// built locally by scripts/plugin-build.sh (cached between runs) and enabled on both engines with
/// scope "global". Contiv's VXLAN uses port 8472 so Docker's own overlay (ingress) keeps 4789.
/// </summary>
public sealed class SwarmPluginLabFixture() : ScriptedLabFixture("/tmp/contiv-e2e-swarmplugin", "cv", new Dictionary<string, string> { ["CONTIV_VXLAN_PORT"] = "8472" })
{
    public const string Plugin = "contiv/netplugin:latest";

    private readonly List<string> _pluginIds = [];

    protected override async Task StartAsync()
    {
        // Built once per source state: a cached build returns at once.
        var build = await BashAsync($"'{Repo.Root}/scripts/plugin-build.sh' build", TimeSpan.FromMinutes(10));
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException("scripts/plugin-build.sh build failed:\n" + build.Output);
        }

        await BashAsync("contiv_down >/dev/null 2>&1 || true");
        var up = await BashAsync(
            """
            lab_up 2
            contiv_start_redis
            contiv_start_netmaster
            lab_docker h1 swarm init --advertise-addr "$(lab_host_ip h1)" >/dev/null
            lab_docker h2 swarm join --token "$(lab_docker h1 swarm join-token -q worker)" "$(lab_host_ip h1):2377" >/dev/null
            """, TimeSpan.FromMinutes(4));
        if (up.ExitCode != 0)
        {
            await StopAsync();
            throw new InvalidOperationException("swarm lab failed to start:\n" + up.Output);
        }

        foreach (var host in new[] { "h1", "h2" })
        {
            var install = await BashAsync($"'{Repo.Root}/scripts/plugin-build.sh' lab-install {host}", TimeSpan.FromMinutes(3));
            var id = await BashAsync($"lab_docker {host} plugin inspect -f '{{{{.Id}}}}' {Plugin}");
            if (id.ExitCode == 0)
            {
                _pluginIds.Add(id.Stdout.Trim());
            }

            if (install.ExitCode != 0)
            {
                var log = await BashAsync($"tail -n 20 \"$LAB_DIR/{host}/dockerd.log\"");
                await StopAsync();
                throw new InvalidOperationException($"plugin install on {host} failed:\n{install.Output}\n{log.Output}");
            }
        }
    }

    protected override async Task StopAsync()
    {
        // Stop the plugins through their engines first: a plugin killed with its dockerd leaves its
        // cgroup directories (named by plugin id, outside the lab's cgroup parent) behind.
        await BashAsync($"for h in h1 h2; do lab_docker $h plugin disable -f {Plugin} >/dev/null 2>&1 || true; done", TimeSpan.FromMinutes(1));
        await BashAsync("contiv_down", TimeSpan.FromMinutes(2));
        foreach (var id in _pluginIds.Where(i => i.Length == 64 && i.All(Uri.IsHexDigit)))
        {
            await BashAsync($"find /sys/fs/cgroup -maxdepth 4 -depth -type d -name {id} -exec rmdir {{}} + 2>/dev/null || true");
        }
    }

}

[CollectionDefinition(nameof(SwarmPluginLab))]
public sealed class SwarmPluginLab : ICollectionFixture<SwarmPluginLabFixture>;

/// <summary>
/// Swarm scheduling on Contiv networks: a swarm-scoped, attachable network with driver and IPAM
/// <c>contiv/netplugin:latest</c>, a service task placed on h2 by constraint, a plain container on
/// h1, and traffic between them over Contiv's VXLAN.
/// </summary>
[Collection(nameof(SwarmPluginLab))]
public sealed class SwarmPluginTests(SwarmPluginLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Service_task_on_h2_and_container_on_h1_talk_over_a_swarm_scoped_contiv_network()
    {
        lab.SkipIfUnavailable();
        const string Net = "swarm-net";
        (await lab.BashAsync($"netctl net create --subnet=10.1.9.0/24 {Net}")).EnsureSuccess("netctl net create");
        try
        {
            (await lab.DockerAsync("h1", $"network create --scope swarm --attachable -d {SwarmPluginLabFixture.Plugin} --ipam-driver {SwarmPluginLabFixture.Plugin} " +
                $"--ipam-opt network={Net} --ipam-opt tenant=default --subnet 10.1.9.0/24 {Net}")).EnsureSuccess("docker network create --scope swarm");

            // Placed on h2 by constraint; dnsrr so the service name resolves to the task's own address.
            (await lab.BashAsync($"timeout 120 docker -H \"$(lab_docker_host h1)\" service create --detach=false --quiet --no-resolve-image --name web " +
                $"--endpoint-mode dnsrr --constraint node.hostname==h2 --network {Net} contiv/busybox:latest sleep 600", TimeSpan.FromMinutes(3)))
                .EnsureSuccess("docker service create --constraint node.hostname==h2");
            var tasks = (await lab.DockerAsync("h1", "service ps web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'")).EnsureSuccess("service ps").Stdout;
            Assert.StartsWith("h2 Running", tasks.Trim(), StringComparison.Ordinal);
            var task = (await lab.DockerAsync("h2", "ps -q --filter label=com.docker.swarm.service.name=web")).EnsureSuccess("task container on h2").Stdout.Trim();
            Assert.NotEmpty(task);

            // The network is attachable: a plain container on the manager.
            (await lab.DockerAsync("h1", $"run -d --name c1 --net {Net} contiv/busybox sleep 600")).EnsureSuccess("docker run on h1");

            var taskIp = await AddressAsync("h2", task);
            var c1Ip = await AddressAsync("h1", "c1");
            Assert.StartsWith("10.1.9.", taskIp, StringComparison.Ordinal);
            Assert.StartsWith("10.1.9.", c1Ip, StringComparison.Ordinal);
            Assert.NotEqual(taskIp, c1Ip);

            await PingAsync("h1", "c1", taskIp);
            await PingAsync("h2", task, c1Ip);

            // By name, through Docker's embedded DNS (swarm service discovery on a global-scope driver).
            await PingAsync("h1", "c1", "web");
            await PingAsync("h2", task, "c1");

            // The control plane knows both endpoints and where they live.
            var inspect = JsonDocument.Parse((await lab.BashAsync($"netctl net inspect {Net}")).EnsureSuccess("netctl net inspect").Stdout).RootElement;
            var endpoints = inspect.GetProperty("Oper").GetProperty("endpoints").EnumerateArray()
                .ToDictionary(e => e.GetProperty("ipAddress")[0].GetString()!, e => e.GetProperty("homingHost").GetString());
            Assert.Equal("h2", endpoints.GetValueOrDefault(taskIp));
            Assert.Equal("h1", endpoints.GetValueOrDefault(c1Ip));
            Assert.Equal(2, endpoints.Count);
            Assert.Equal(2, inspect.GetProperty("Oper").GetProperty("allocatedAddressesCount").GetInt32());

            // The datapath lives in the host's namespaces, not the plugin's: traffic keeps flowing
            // while h2's plugin is stopped and after it is started again.
            (await lab.DockerAsync("h2", $"plugin disable -f {SwarmPluginLabFixture.Plugin}")).EnsureSuccess("plugin disable on h2");
            await PingAsync("h1", "c1", taskIp);
            (await lab.DockerAsync("h2", $"plugin enable {SwarmPluginLabFixture.Plugin}")).EnsureSuccess("plugin enable on h2");
            await PingAsync("h1", "c1", taskIp);

            // Each address was requested twice (swarm manager, then the node) but is freed exactly once.
            (await lab.DockerAsync("h1", "service rm web")).EnsureSuccess("service rm");
            (await lab.DockerAsync("h1", "rm -f c1")).EnsureSuccess("rm c1");
            var freed = await ContivLabFixture.EventuallyAsync(
                async () => JsonDocument.Parse((await lab.BashAsync($"netctl net inspect {Net}")).EnsureSuccess("netctl net inspect").Stdout).RootElement.GetProperty("Oper"),
                oper => Count(oper, "allocatedAddressesCount") == 0, TimeSpan.FromSeconds(60), "addresses released");
            Assert.Equal(0, Count(freed, "numEndpoints"));
        }
        finally
        {
            await lab.BashAsync("lab_docker h1 service rm web >/dev/null 2>&1 || true");
            await lab.BashAsync("lab_docker h1 rm -f c1 >/dev/null 2>&1 || true");
            await SwarmNetworkGoneAsync(Net);
            await lab.BashAsync($"netctl net rm {Net}");
        }
    }

    /// <summary>netmaster omits zero counts from its JSON.</summary>
    private static int Count(JsonElement oper, string name) => oper.TryGetProperty(name, out var value) ? value.GetInt32() : 0;

    private async Task<string> AddressAsync(string host, string container)
    {
        var r = (await lab.DockerAsync(host, $"exec {container} ip -o -4 addr show eth0")).EnsureSuccess($"address of {container}");
        return r.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => w != "inet").Skip(1).First().Split('/')[0];
    }

    private async Task PingAsync(string host, string container, string target)
    {
        var ping = await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, $"exec {container} ping -c 2 -W 2 {target}"), r => r.ExitCode == 0, Converge,
            $"ping {target} from {container} on {host}");
        Assert.Contains(", 0% packet loss", ping.Stdout, StringComparison.Ordinal);
    }

    private async Task SwarmNetworkGoneAsync(string net)
    {
        // The task's attachment is released asynchronously after `service rm`; then the network can go.
        try
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", $"network rm {net}"),
                r => r.ExitCode == 0 || r.Output.Contains("not found", StringComparison.Ordinal), Converge, $"docker network rm {net}");
        }
        catch (TimeoutException)
        {
            // Cleanup only: the lab is torn down after the collection anyway.
        }
    }
}
