namespace Contiv.EndToEnd.Tests;

/// <summary>
/// VLAN networks (seed chapter 4.2): frames leave the uplink tagged with the network's VLAN and are
/// untagged into the right network on the other host. This kernel has no 802.1Q devices, so this
/// exercises the tc eBPF datapath that netplugin picks automatically.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class VlanTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Vlan_network_pings_across_hosts_tagged_on_the_wire_and_vlans_stay_apart()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("net", "create", "-p", "112", "-e", "vlan", "-s", "10.1.3.0/24", "contiv-vlan")).EnsureSuccess("netctl net create vlan 112");
        (await lab.NetCtlAsync("net", "create", "-p", "113", "-e", "vlan", "-s", "10.1.3.0/24", "other-vlan")).EnsureSuccess("netctl net create vlan 113");
        try
        {
            var ls = (await lab.NetCtlAsync("net", "ls")).Stdout;
            Assert.Matches(@"default\s+contiv-vlan\s+data\s+vlan\s+112\s+10\.1\.3\.0/24", ls);
            foreach (var host in new[] { "h1", "h2" })
            {
                foreach (var net in new[] { "contiv-vlan", "other-vlan" })
                {
                    await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", net), r => r.ExitCode == 0, Converge, $"{net} on {host}");
                }
            }

            (await lab.DockerAsync("h1", "run", "-d", "--name", "contiv-vlan-c1", "--net", "contiv-vlan", "contiv/busybox", "sleep", "600")).EnsureSuccess("run vlan c1");
            (await lab.DockerAsync("h2", "run", "-d", "--name", "contiv-vlan-c2", "--net", "contiv-vlan", "contiv/busybox", "sleep", "600")).EnsureSuccess("run vlan c2");
            (await lab.DockerAsync("h2", "run", "-d", "--name", "other-vlan-c1", "--net", "other-vlan", "contiv/busybox", "sleep", "600")).EnsureSuccess("run vlan 113 c1");

            // Capture on h1's uplink while c2 (h2) pings c1 (h1) by name.
            var capture = lab.BashAsync("lab_exec h1 timeout 10 tcpdump -e -nn -i eth2 -c 4 icmp 2>&1", TimeSpan.FromSeconds(20));
            await Task.Delay(1000);
            var ping = await lab.DockerAsync("h2", "exec", "contiv-vlan-c2", "ping", "-c", "4", "-W", "2", "contiv-vlan-c1");
            Assert.True(ping.ExitCode == 0, ping.Output);
            Assert.Contains("PING contiv-vlan-c1 (10.1.3.1)", ping.Stdout, StringComparison.Ordinal);
            var wire = (await capture).Stdout;
            Assert.Contains("ethertype 802.1Q (0x8100)", wire, StringComparison.Ordinal);
            Assert.Contains("vlan 112", wire, StringComparison.Ordinal);
            Assert.Contains("10.1.3.2 > 10.1.3.1: ICMP echo request", wire, StringComparison.Ordinal);

            // VLAN 113 reuses the subnet: its container (10.1.3.1 in VLAN 113) is a different host
            // than VLAN 112's 10.1.3.1, and VLAN 112's 10.1.3.2 is unreachable from it.
            var across = await lab.DockerAsync("h2", "exec", "other-vlan-c1", "ping", "-c", "2", "-W", "1", "10.1.3.2");
            Assert.NotEqual(0, across.ExitCode);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "contiv-vlan-c1");
            await lab.DockerAsync("h2", "rm", "-f", "contiv-vlan-c2", "other-vlan-c1");
            await lab.NetCtlAsync("net", "rm", "contiv-vlan");
            await lab.NetCtlAsync("net", "rm", "other-vlan");
        }

        // Removing the networks removes the eBPF filters and veths from the uplink side.
        var leftovers = await ContivLabFixture.EventuallyAsync(
            () => lab.BashAsync("lab_exec h1 sh -c 'ip -o link show | grep -c cvu- || true'"), r => r.Stdout.Trim() == "0", Converge, "cvu- links removed on h1");
        Assert.Equal("0", leftovers.Stdout.Trim());
    }
}
