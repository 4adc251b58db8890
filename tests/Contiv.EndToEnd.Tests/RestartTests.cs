using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// netplugin is not in the data path: killing it (kill -9, as a crash) leaves running containers
/// connected, and a restarted agent reconciles without breaking them and serves new containers.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class RestartTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    private Task<CommandResult> PingAsync(string host, string from, string to) =>
        lab.DockerAsync(host, "exec", from, "ping", "-c", "3", "-W", "2", to);

    [Fact]
    public async Task Killing_and_restarting_netplugin_keeps_traffic_and_converges()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.8.0/24", "rs-net")).EnsureSuccess("netctl net create");
        try
        {
            foreach (var host in new[] { "h1", "h2" })
            {
                await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "rs-net"), r => r.ExitCode == 0, Converge, $"rs-net on {host}");
            }

            (await lab.DockerAsync("h1", "run", "-d", "--name", "rs-c1", "--net", "rs-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run rs-c1");
            (await lab.DockerAsync("h2", "run", "-d", "--name", "rs-c2", "--net", "rs-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run rs-c2");
            Assert.Equal(0, (await PingAsync("h2", "rs-c2", "10.1.8.1")).ExitCode);
            var fdbBefore = await FdbAsync("h2");

            // Crash both agents.
            (await lab.BashAsync("for h in h1 h2; do kill -9 \"$(lab_daemon_pid $h netplugin)\"; done; sleep 0.5")).EnsureSuccess("kill -9 netplugin");
            var during = await PingAsync("h2", "rs-c2", "10.1.8.1");
            Assert.True(during.ExitCode == 0, "traffic must not depend on netplugin: " + during.Output);

            // Restart: the same state, and new containers work (by name across hosts too).
            (await lab.BashAsync("for h in h1 h2; do lab_stop_daemon $h netplugin >/dev/null 2>&1 || true; contiv_start_netplugin $h; done")).EnsureSuccess("restart netplugin");
            Assert.Equal(0, (await PingAsync("h2", "rs-c2", "10.1.8.1")).ExitCode);
            await ContivLabFixture.EventuallyAsync(() => FdbAsync("h2"), f => f == fdbBefore, Converge, "h2's forwarding entries converge to the same set");
            (await lab.DockerAsync("h1", "run", "-d", "--name", "rs-c3", "--net", "rs-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run rs-c3 after restart");
            var byName = await ContivLabFixture.EventuallyAsync(() => PingAsync("h2", "rs-c2", "rs-c3"), r => r.ExitCode == 0, Converge, "rs-c2 pings rs-c3 by name");
            Assert.Contains("(10.1.8.3)", byName.Stdout, StringComparison.Ordinal);

            // Allocations equal live endpoints: three containers, three addresses.
            var inspect = (await lab.NetCtlAsync("net", "inspect", "rs-net")).Stdout;
            Assert.Contains("\"allocatedIPAddresses\": \"10.1.8.1-10.1.8.3\"", inspect, StringComparison.Ordinal);
            Assert.Contains("\"numEndpoints\": 3", inspect, StringComparison.Ordinal);
        }
        finally
        {
            await lab.BashAsync("for h in h1 h2; do lab_daemon_pid $h netplugin >/dev/null 2>&1 || contiv_start_netplugin $h; done");
            await lab.DockerAsync("h1", "rm", "-f", "rs-c1", "rs-c3");
            await lab.DockerAsync("h2", "rm", "-f", "rs-c2");
            await lab.NetCtlAsync("net", "rm", "rs-net");
        }
    }

    /// <summary>The FDB and ARP entries netplugin programs on a host for rs-net, sorted.</summary>
    private async Task<string> FdbAsync(string host)
    {
        var vni = System.Text.Json.JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "rs-net")).Stdout).RootElement.GetProperty("Oper").GetProperty("externalPktTag").GetInt32();
        var r = await lab.BashAsync($"lab_exec {host} nsenter --net=\"$(lab_host_dir {host})/run/netns/cvbr-x{vni}\" sh -c 'bridge fdb show dev cvx-{vni} | grep self; ip neigh show dev cvx-{vni}' | sort");
        return r.Stdout;
    }

    [Fact]
    public async Task Crash_mid_docker_run_and_orphan_addresses_are_reclaimed_so_allocations_equal_endpoints()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.9.0/24", "rc-net")).EnsureSuccess("netctl net create");
        try
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h2", "network", "inspect", "rc-net"), r => r.ExitCode == 0, Converge, "rc-net on h2");
            (await lab.DockerAsync("h2", "run", "-d", "--name", "rc-c1", "--net", "rc-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run rc-c1");

            // An address taken by RequestAddress whose container never comes (dockerd died after it).
            var orphan = await lab.BashAsync(
                "lab_exec h2 curl -sS --unix-socket \"$(lab_plugins_dir h2)/netplugin.sock\" -H 'Content-Type: application/json' " +
                "-d '{\"PoolID\":\"rc-net.default|10.1.9.0/24\",\"Address\":\"\",\"Options\":null}' http://plugin/IpamDriver.RequestAddress");
            Assert.Contains("10.1.9.2/24", orphan.Stdout, StringComparison.Ordinal);

            // netplugin killed while docker run is in flight, then restarted.
            var inFlight = lab.DockerAsync("h2", "run", "-d", "--name", "rc-c2", "--net", "rc-net", "contiv/busybox", "sleep", "600");
            await Task.Delay(150);
            (await lab.BashAsync("kill -9 \"$(lab_daemon_pid h2 netplugin)\"; sleep 0.5; lab_stop_daemon h2 netplugin >/dev/null 2>&1 || true; contiv_start_netplugin h2")).EnsureSuccess("kill -9 and restart netplugin");
            var run = await inFlight;

            // Either outcome is fine; what must hold is that allocations end up equal to what runs.
            var running = (await lab.DockerAsync("h2", "ps", "--filter", "name=rc-", "--format", "{{.Names}}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            Assert.True(running is 1 or 2, $"rc-c1 must keep running (in-flight run: {run.ExitCode} {run.Output})");
            await ContivLabFixture.EventuallyAsync(
                async () => System.Text.Json.JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "rc-net")).Stdout).RootElement.GetProperty("Oper"),
                oper => oper.TryGetProperty("allocatedAddressesCount", out var n) && n.GetInt32() == running && oper.GetProperty("numEndpoints").GetInt32() == running,
                TimeSpan.FromSeconds(60), $"allocations == endpoints == {running} running containers");
        }
        finally
        {
            await lab.BashAsync("lab_daemon_pid h2 netplugin >/dev/null 2>&1 || contiv_start_netplugin h2");
            await lab.DockerAsync("h2", "rm", "-f", "rc-c1", "rc-c2");
            await lab.NetCtlAsync("net", "rm", "rc-net");
        }
    }

    [Fact]
    public async Task Dockerd_restart_releases_stopped_endpoints_and_restarted_containers_reconnect()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.40.0/24", "dr-net")).EnsureSuccess("netctl net create");
        try
        {
            foreach (var host in new[] { "h1", "h2" })
            {
                await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "dr-net"), r => r.ExitCode == 0, Converge, $"dr-net on {host}");
            }

            (await lab.DockerAsync("h1", "run", "-d", "--name", "dr-c1", "--net", "dr-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run dr-c1");
            (await lab.DockerAsync("h2", "run", "-d", "--restart", "always", "--name", "dr-c2", "--net", "dr-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run dr-c2");
            (await lab.DockerAsync("h2", "run", "-d", "--name", "dr-c3", "--net", "dr-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run dr-c3");

            (await lab.BashAsync("lab_dockerd_stop h2 >/dev/null && lab_dockerd_start h2 >/dev/null", TimeSpan.FromMinutes(2))).EnsureSuccess("restart dockerd on h2");

            // dr-c3 (no restart policy) is stopped and its address released; dr-c2 is back and reachable.
            await ContivLabFixture.EventuallyAsync(
                async () => System.Text.Json.JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "dr-net")).Stdout).RootElement.GetProperty("Oper"),
                oper => oper.GetProperty("numEndpoints").GetInt32() == 2 && oper.GetProperty("allocatedAddressesCount").GetInt32() == 2,
                TimeSpan.FromSeconds(60), "two endpoints and two allocations after the dockerd restart");
            var ping = await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h2", "exec", "dr-c2", "ping", "-c", "2", "-W", "2", "dr-c1"), r => r.ExitCode == 0, Converge, "dr-c2 pings dr-c1 after the restart");
            Assert.Equal(0, ping.ExitCode);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "dr-c1");
            await lab.DockerAsync("h2", "rm", "-f", "dr-c2", "dr-c3");
            await lab.NetCtlAsync("net", "rm", "dr-net");
        }
    }
}
