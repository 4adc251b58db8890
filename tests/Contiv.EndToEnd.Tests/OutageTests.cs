using System.Diagnostics;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// The shared store going away: requests fail fast with a clear message and write nothing; when
/// Redis comes back (from its append-only file) everything works again with no repair, and no
/// allocation is lost. netmaster is stateless: killing and restarting it changes nothing.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class OutageTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Redis_outage_fails_fast_and_clearly_then_recovers_with_nothing_lost()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.30.0/24", "out-net")).EnsureSuccess("net create");
        try
        {
            foreach (var host in new[] { "h1", "h2" })
            {
                await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "out-net"), r => r.ExitCode == 0, Converge, $"out-net on {host}");
            }

            (await lab.DockerAsync("h1", "run", "-d", "--name", "out-c1", "--net", "out-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run out-c1");

            (await lab.BashAsync("lab_stop_daemon h1 redis")).EnsureSuccess("stop redis");
            var clock = Stopwatch.StartNew();
            var run = await lab.DockerAsync("h2", "run", "-d", "--name", "out-c2", "--net", "out-net", "contiv/busybox", "sleep", "600");
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("unreachable", run.Output, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"docker run should fail fast, took {clock.Elapsed}");
            var create = await lab.NetCtlAsync("net", "create", "--subnet=10.1.31.0/24", "never-net");
            Assert.NotEqual(0, create.ExitCode);
            Assert.Contains("unreachable", create.Output, StringComparison.Ordinal);

            // Running containers do not need the store.
            await lab.DockerAsync("h2", "rm", "-f", "out-c2");
            (await lab.BashAsync("contiv_start_redis")).EnsureSuccess("start redis again");

            // No manual repair: the next docker run works, and the first container's address survived.
            await ContivLabFixture.EventuallyAsync(
                () => lab.DockerAsync("h2", "run", "-d", "--name", "out-c3", "--net", "out-net", "contiv/busybox", "sleep", "600"),
                r => r.ExitCode == 0 || !r.Output.Contains("unreachable", StringComparison.Ordinal), Converge, "docker run after redis is back");
            var c3 = await lab.DockerInspectAsync("h2", "container", "out-c3");
            Assert.Equal("10.1.30.2", c3.GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("out-net").GetProperty("IPAddress").GetString());
            var ping = await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h2", "exec", "out-c3", "ping", "-c", "2", "-W", "2", "out-c1"), r => r.ExitCode == 0, Converge, "out-c3 pings out-c1");
            Assert.Equal(0, ping.ExitCode);
            var ls = (await lab.NetCtlAsync("net", "ls", "-q")).Stdout;
            Assert.DoesNotContain("never-net", ls, StringComparison.Ordinal);

            // netmaster holds no state of its own.
            (await lab.BashAsync("kill -9 \"$(lab_daemon_pid h1 netmaster)\"; sleep 0.3; lab_stop_daemon h1 netmaster >/dev/null 2>&1 || true; contiv_start_netmaster")).EnsureSuccess("restart netmaster");
            var inspect = (await lab.NetCtlAsync("net", "inspect", "out-net")).EnsureSuccess("inspect after netmaster restart").Stdout;
            Assert.Contains("\"allocatedIPAddresses\": \"10.1.30.1-10.1.30.2\"", inspect, StringComparison.Ordinal);
        }
        finally
        {
            await lab.BashAsync("lab_daemon_pid h1 redis >/dev/null 2>&1 || contiv_start_redis");
            await lab.BashAsync("lab_daemon_pid h1 netmaster >/dev/null 2>&1 || contiv_start_netmaster");
            await lab.DockerAsync("h1", "rm", "-f", "out-c1");
            await lab.DockerAsync("h2", "rm", "-f", "out-c2", "out-c3");
            await lab.NetCtlAsync("net", "rm", "out-net");
        }
    }
}
