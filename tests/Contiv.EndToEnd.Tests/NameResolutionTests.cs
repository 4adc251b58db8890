namespace Contiv.EndToEnd.Tests;

/// <summary>
/// Names of containers on other hosts resolve on every kind of network: with and without a gateway,
/// in bridge and routing mode, VXLAN and VLAN. On a network with a gateway the container has no
/// docker_gwbridge and its gateway no path to the host, so the question is answered on the network
/// itself (the responder inside each network's namespace, reached on-link). Unknown names and other
/// tenants' names get an immediate answer (REFUSED), never a timeout.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class NameResolutionTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    private async Task NetworkAsync(string tenant, string name, params string[] options)
    {
        (await lab.NetCtlAsync(["net", "create", "-t", tenant, .. options, name])).EnsureSuccess($"net create {tenant}:{name}");
        var docker = tenant == "default" ? name : $"{name}/{tenant}";
        foreach (var host in new[] { "h1", "h2" })
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", docker), r => r.ExitCode == 0, Converge, $"{docker} on {host}");
        }
    }

    private async Task RunAsync(string host, string name, string network) =>
        (await lab.DockerAsync(host, "run", "-d", "--name", name, "--net", network, "contiv/busybox", "sleep", "600")).EnsureSuccess($"run {name} on {host}");

    /// <summary>Pings <paramref name="target"/> by name from <paramref name="container"/> until it works; returns the ping output.</summary>
    private async Task<string> PingByNameAsync(string host, string container, string target)
    {
        var ping = await ContivLabFixture.EventuallyAsync(
            () => lab.DockerAsync(host, "exec", container, "ping", "-c", "2", "-W", "2", target),
            r => r.ExitCode == 0, Converge, $"{container} on {host} pings {target} by name");
        return ping.Stdout;
    }

    /// <summary>
    /// A name that must not resolve gets an answer, not a timeout: busybox nslookup prints the
    /// server's verdict ("can't find ...") and never "timed out"; the time is printed for the log.
    /// </summary>
    private async Task AssertNegativeAnswerAsync(string host, string container, string name)
    {
        var lookup = await lab.BashAsync(
            $"s=$(date +%s%N); lab_docker {host} exec {container} nslookup {name} 2>&1; rc=$?; echo \"elapsed_ms=$(( ($(date +%s%N) - s) / 1000000 ))\"; exit $rc");
        Assert.True(lookup.ExitCode != 0, $"{name} resolved from {container}: {lookup.Output}");
        Assert.Contains("can't find", lookup.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("timed out", lookup.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_resolve_across_hosts_on_networks_with_a_gateway_in_bridge_mode_and_other_tenants_get_an_immediate_refusal()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("tenant", "create", "dns-red")).EnsureSuccess("tenant dns-red");
        try
        {
            await NetworkAsync("default", "dns-gw", "-s", "10.31.0.0/24", "-g", "10.31.0.1");
            await NetworkAsync("dns-red", "dns-gw", "-s", "10.31.0.0/24", "-g", "10.31.0.1");
            await NetworkAsync("default", "dns-plain", "-s", "10.32.0.0/24");
            await RunAsync("h1", "dns-a1", "dns-gw");
            await RunAsync("h2", "dns-a2", "dns-gw");
            await RunAsync("h2", "dns-red2", "dns-gw/dns-red");
            await RunAsync("h2", "dns-p2", "dns-plain");

            // The container's default route is the (absent) gateway; the host's DNS address is on-link.
            var routes = (await lab.DockerAsync("h1", "exec", "dns-a1", "ip", "route")).EnsureSuccess("ip route in dns-a1").Stdout;
            Assert.Contains("default via 10.31.0.1", routes, StringComparison.Ordinal);
            Assert.Contains(await HostIpAsync("h1") + " dev eth0", routes, StringComparison.Ordinal);

            // The gateway (.1) is reserved: the containers are .2 (h1) and .3 (h2).
            Assert.Contains("(10.31.0.3)", await PingByNameAsync("h1", "dns-a1", "dns-a2"), StringComparison.Ordinal);
            Assert.Contains("(10.31.0.2)", await PingByNameAsync("h2", "dns-a2", "dns-a1"), StringComparison.Ordinal);

            // Over TCP too (Docker's embedded DNS forwards a TCP question over TCP).
            var tcp = await lab.DockerAsync("h1", "exec", "dns-a1", "nslookup", "-type=a", "-vc", "dns-a2");
            if (tcp.Stderr.Contains("unrecognized option", StringComparison.Ordinal) is false && tcp.ExitCode == 0)
            {
                Assert.Contains("10.31.0.3", tcp.Stdout, StringComparison.Ordinal);
            }

            // Another tenant reusing the subnet, a network the asker is not on, and an unknown name:
            // answered at once, never resolved.
            await AssertNegativeAnswerAsync("h1", "dns-a1", "dns-red2");
            await AssertNegativeAnswerAsync("h1", "dns-a1", "dns-p2");
            await AssertNegativeAnswerAsync("h1", "dns-a1", "no-such-container");
            await AssertNegativeAnswerAsync("h2", "dns-red2", "dns-a1");

            // A container on a second network with a gateway: the join works (one DNS route per
            // container) and it now resolves names on both networks.
            await NetworkAsync("default", "dns-gw2", "-s", "10.33.0.0/24", "-g", "10.33.0.1");
            (await lab.DockerAsync("h1", "network", "connect", "dns-gw2", "dns-a1")).EnsureSuccess("connect dns-a1 to dns-gw2");
            await RunAsync("h2", "dns-b2", "dns-gw2");
            Assert.Contains("(10.33.0.3)", await PingByNameAsync("h1", "dns-a1", "dns-b2"), StringComparison.Ordinal);
            Assert.Contains("(10.31.0.3)", await PingByNameAsync("h1", "dns-a1", "dns-a2"), StringComparison.Ordinal);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "dns-a1");
            await lab.DockerAsync("h2", "rm", "-f", "dns-a2", "dns-red2", "dns-p2", "dns-b2");
            await lab.NetCtlAsync("net", "rm", "dns-gw");
            await lab.NetCtlAsync("net", "rm", "dns-gw2");
            await lab.NetCtlAsync("net", "rm", "dns-plain");
            await lab.NetCtlAsync("net", "rm", "-t", "dns-red", "dns-gw");
            await lab.NetCtlAsync("tenant", "rm", "dns-red");
        }
    }

    [Fact]
    public async Task Names_resolve_across_hosts_in_routing_mode_and_on_vlan_networks_with_a_gateway()
    {
        lab.SkipIfUnavailable();
        (await lab.NetCtlAsync("global", "set", "--fwd-mode", "routing")).EnsureSuccess("global set --fwd-mode routing");
        try
        {
            await NetworkAsync("default", "dns-routed", "-s", "10.34.0.0/24", "-g", "10.34.0.1");
            await NetworkAsync("default", "dns-vlan", "-e", "vlan", "-p", "140", "-s", "10.35.0.0/24", "-g", "10.35.0.1");
            await RunAsync("h1", "dns-r1", "dns-routed");
            await RunAsync("h2", "dns-r2", "dns-routed");
            await RunAsync("h1", "dns-v1", "dns-vlan");
            await RunAsync("h2", "dns-v2", "dns-vlan");

            Assert.Contains("(10.34.0.3)", await PingByNameAsync("h1", "dns-r1", "dns-r2"), StringComparison.Ordinal);
            Assert.Contains("(10.34.0.2)", await PingByNameAsync("h2", "dns-r2", "dns-r1"), StringComparison.Ordinal);
            Assert.Contains("(10.35.0.3)", await PingByNameAsync("h1", "dns-v1", "dns-v2"), StringComparison.Ordinal);
            Assert.Contains("(10.35.0.2)", await PingByNameAsync("h2", "dns-v2", "dns-v1"), StringComparison.Ordinal);

            // Names are those of the asker's own networks: a routed peer network's containers are
            // reached by address, not by name.
            await AssertNegativeAnswerAsync("h1", "dns-r1", "dns-v2");
            await AssertNegativeAnswerAsync("h1", "dns-r1", "no-such-container");
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "dns-r1", "dns-v1");
            await lab.DockerAsync("h2", "rm", "-f", "dns-r2", "dns-v2");
            await lab.NetCtlAsync("net", "rm", "dns-routed");
            await lab.NetCtlAsync("net", "rm", "dns-vlan");
            (await lab.NetCtlAsync("global", "set", "--fwd-mode", "bridge")).EnsureSuccess("global set --fwd-mode bridge");
        }
    }

    private async Task<string> HostIpAsync(string host) => (await lab.BashAsync($"lab_host_ip {host}")).EnsureSuccess("lab_host_ip").Stdout.Trim();
}
