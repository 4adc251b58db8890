using System.Text.Json;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// Three hosts starting containers on the same network at the same time, while networks are
/// created and deleted concurrently: every container gets an address, no IP, MAC or VNI is handed
/// out twice, and netctl's counts equal the real endpoints.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class ConcurrencyTests(ContivLabFixture lab)
{
    private const int PerHost = 20;
    private static readonly string[] Hosts = ["h1", "h2", "h3"];
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Parallel_docker_runs_on_three_hosts_never_share_an_address()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "--subnet=10.2.0.0/22", "busy-net")).EnsureSuccess("net create");
        try
        {
            foreach (var host in Hosts)
            {
                await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", "busy-net"), r => r.ExitCode == 0, Converge, $"busy-net on {host}");
            }

            // All hosts at once, PerHost containers each, started in parallel; networks churn meanwhile.
            var runs = Hosts.Select(host => lab.BashAsync(
                $"for i in $(seq 1 {PerHost}); do lab_docker {host} run -d --name busy-{host}-$i --net busy-net contiv/busybox sleep 600 >/dev/null & done; wait",
                TimeSpan.FromMinutes(5))).ToList();
            var churn = lab.BashAsync(
                "for i in 1 2 3 4 5; do netctl net create --subnet=10.3.$i.0/24 churn-$i >/dev/null & done; wait; for i in 1 2 3 4 5; do netctl net rm churn-$i >/dev/null & done; wait",
                TimeSpan.FromMinutes(3));
            await Task.WhenAll([.. runs, churn]);

            var addresses = new List<(string Host, string Name, string Ip, string Mac)>();
            foreach (var host in Hosts)
            {
                var ps = (await lab.DockerAsync(host, "ps", "--filter", "name=busy-", "--format", "{{.Names}}")).Stdout
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                Assert.True(ps.Length == PerHost, $"{host} runs {ps.Length} of {PerHost} containers");
                var inspect = JsonDocument.Parse((await lab.DockerAsync(host, ["inspect", .. ps])).EnsureSuccess("docker inspect").Stdout).RootElement;
                foreach (var c in inspect.EnumerateArray())
                {
                    var ep = c.GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("busy-net");
                    addresses.Add((host, c.GetProperty("Name").GetString()!, ep.GetProperty("IPAddress").GetString()!, ep.GetProperty("MacAddress").GetString()!));
                }
            }

            Assert.Equal(Hosts.Length * PerHost, addresses.Count);
            Assert.Empty(addresses.GroupBy(a => a.Ip).Where(g => g.Count() > 1).Select(g => g.Key));
            Assert.Empty(addresses.GroupBy(a => a.Mac).Where(g => g.Count() > 1).Select(g => g.Key));
            Assert.All(addresses, a => Assert.False(string.IsNullOrEmpty(a.Ip), a.Name));

            var oper = JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", "busy-net")).Stdout).RootElement.GetProperty("Oper");
            Assert.Equal(addresses.Count, oper.GetProperty("numEndpoints").GetInt32());
            Assert.Equal(addresses.Count, oper.GetProperty("allocatedAddressesCount").GetInt32());
            Assert.Equal(addresses.Select(a => a.Ip).Order(), oper.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("ipAddress")[0].GetString()!).Order());

            // The churned networks are all gone and their VNIs free again; no two live networks share one.
            var all = JsonDocument.Parse((await lab.NetCtlAsync("net", "ls", "-a", "-j")).Stdout).RootElement.EnumerateArray().Select(n => n.GetProperty("networkName").GetString()).ToList();
            Assert.DoesNotContain(all, n => n!.StartsWith("churn-", StringComparison.Ordinal));
            var tags = new List<int>();
            foreach (var net in all)
            {
                var t = JsonDocument.Parse((await lab.NetCtlAsync("net", "inspect", net!)).Stdout).RootElement.GetProperty("Oper").GetProperty("externalPktTag").GetInt32();
                tags.Add(t);
            }

            Assert.Equal(tags.Count, tags.Distinct().Count());
        }
        finally
        {
            foreach (var host in Hosts)
            {
                await lab.BashAsync($"ids=$(lab_docker {host} ps -aq --filter name=busy-); [ -z \"$ids\" ] || lab_docker {host} rm -f $ids >/dev/null", TimeSpan.FromMinutes(3));
            }

            await lab.BashAsync("for i in 1 2 3 4 5; do netctl net rm churn-$i >/dev/null 2>&1; done; true");
            await lab.NetCtlAsync("net", "rm", "busy-net");
        }
    }
}
