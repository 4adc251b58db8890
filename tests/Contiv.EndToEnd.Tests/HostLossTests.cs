using System.Text.Json;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// A host that disappears: its endpoints are reclaimed only by the explicit rule (netctl host rm),
/// which refuses while the host may still be alive and works once it has missed heartbeats for
/// netmaster's --host-timeout (12 s in this lab).
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class HostLossTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_silent_host_is_reclaimed_only_by_netctl_host_rm_after_the_timeout()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.50.0/24", "hl-net")).EnsureSuccess("net create");
        try
        {
            foreach (var host in new[] { "h1", "h3" })
            {
                await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "hl-net"), r => r.ExitCode == 0, Converge, $"hl-net on {host}");
            }

            (await lab.DockerAsync("h1", "run", "-d", "--name", "hl-c1", "--net", "hl-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run hl-c1");
            (await lab.DockerAsync("h3", "run", "-d", "--name", "hl-c3", "--net", "hl-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run hl-c3");
            var ls = (await lab.NetCtlAsync("host", "ls")).EnsureSuccess("host ls").Stdout;
            Assert.Matches(@"h3\s+192\.168\.2\.52\s+\S+\s+alive", ls);

            (await lab.BashAsync("kill -9 \"$(lab_daemon_pid h3 netplugin)\"")).EnsureSuccess("h3's agent disappears");
            var early = await lab.NetCtlAsync("host", "rm", "h3");
            Assert.NotEqual(0, early.ExitCode);
            Assert.Contains("may still be alive", early.Output, StringComparison.Ordinal);

            await ContivLabFixture.EventuallyAsync(() => lab.NetCtlAsync("host", "ls"), r => System.Text.RegularExpressions.Regex.IsMatch(r.Stdout, @"h3\s+\S+\s+\S+\s+presumed-dead"), Converge, "h3 presumed dead");
            var rm = (await lab.NetCtlAsync("host", "rm", "h3")).EnsureSuccess("host rm h3");
            Assert.Contains("reclaimed 1 endpoint(s)", rm.Stdout, StringComparison.Ordinal);

            var oper = JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "hl-net")).Stdout).RootElement.GetProperty("Oper");
            Assert.Equal(1, oper.GetProperty("numEndpoints").GetInt32());
            Assert.Equal("10.1.50.1", oper.GetProperty("allocatedIPAddresses").GetString());

            // The other hosts drop their forwarding entries towards the lost endpoint.
            var vni = oper.GetProperty("externalPktTag").GetInt32();
            await ContivLabFixture.EventuallyAsync(
                () => lab.BashAsync($"lab_exec h1 nsenter --net=\"$(lab_host_dir h1)/run/netns/cvbr-x{vni}\" sh -c 'bridge fdb show dev cvx-{vni} | grep self; ip neigh show dev cvx-{vni}'"),
                r => !r.Stdout.Contains("02:02:0a:01:32:02", StringComparison.Ordinal), Converge, "h1 forgets h3's endpoint");
        }
        finally
        {
            await lab.BashAsync("lab_daemon_pid h3 netplugin >/dev/null 2>&1 || { lab_stop_daemon h3 netplugin >/dev/null 2>&1; contiv_start_netplugin h3; }");
            await lab.DockerAsync("h1", "rm", "-f", "hl-c1");
            await lab.DockerAsync("h3", "rm", "-f", "hl-c3");
            await lab.NetCtlAsync("net", "rm", "hl-net");
        }
    }
}
