using System.Globalization;
using System.Text.Json;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// Endpoint groups and policies enforced in the kernel of every host, on the real lab: Contiv's
/// web/db scenario across hosts and on one host, rules changed live (no container restart), out
/// rules, CIDR and network peers, priorities, tenants with the same names and subnets, a netplugin
/// restart that leaves no window, and bandwidth profiles measured with iperf3.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class PolicyTests(ContivLabFixture lab)
{
    /// <summary>How long a change may take to reach every host here (the benchmark measures the real time).</summary>
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);

    private async Task NetCtlOkAsync(params string[] args) => (await lab.NetCtlAsync(args)).EnsureSuccess("netctl " + string.Join(' ', args));

    /// <summary>Waits until the Docker network of a network or group exists on every host that will use it.</summary>
    private async Task DockerNetworkAsync(string name, params string[] hosts)
    {
        foreach (var host in hosts)
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, "network", "inspect", name), r => r.ExitCode == 0, Converge, $"docker network {name} on {host}");
        }
    }

    private async Task RunAsync(string host, string name, string network, string command = "sleep 600") =>
        (await lab.DockerAsync(host, ["run", "-d", "--name", name, "--net", network, "contiv/busybox", "sh", "-c", command])).EnsureSuccess($"run {name} on {host}");

    /// <summary>A container answering "ok" on each port (busybox nc, persistent listeners).</summary>
    private Task RunServerAsync(string host, string name, string network, params int[] ports) =>
        RunAsync(host, name, network, string.Join(" ", ports.Select(p => $"nc -ll -p {p} -e echo ok &")) + " exec sleep 600");

    /// <summary>True when a TCP connection from the container reaches the listener (2 s connect timeout).</summary>
    private async Task<bool> ConnectsAsync(string host, string container, string target, int port)
    {
        var result = await lab.DockerAsync(host, "exec", container, "nc", "-w", "2", target, port.ToString(CultureInfo.InvariantCulture));
        return result.ExitCode == 0 && result.Stdout.Contains("ok", StringComparison.Ordinal);
    }

    private async Task<bool> PingsAsync(string host, string container, string target) =>
        (await lab.DockerAsync(host, "exec", container, "ping", "-c", "1", "-W", "1", target)).ExitCode == 0;

    private static Task<bool> EventuallyAsync(Func<Task<bool>> check, bool expected, string what) =>
        ContivLabFixture.EventuallyAsync(check, r => r == expected, Converge, what);

    /// <summary>A refusal is one line on stderr, nothing on stdout, a non-zero exit, and changes nothing.</summary>
    private async Task RefusedAsync(string expected, params string[] args)
    {
        var result = await lab.NetCtlAsync(args);
        Assert.True(result.ExitCode != 0, $"netctl {string.Join(' ', args)} was accepted: {result.Output}");
        Assert.Equal(string.Empty, result.Stdout);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Error:", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<string> AddressAsync(string host, string container, string network) =>
        (await lab.DockerAsync(host, "inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", container)).EnsureSuccess($"address of {container}").Stdout.Trim();

    [Fact]
    public async Task Web_reaches_db_on_5432_across_hosts_others_do_not_and_rule_changes_apply_live()
    {
        lab.SkipIfUnavailable();
        try
        {
            await NetCtlOkAsync("net", "create", "-s", "10.41.0.0/24", "pol-net");
            await NetCtlOkAsync("group", "create", "pol-net", "pol-web");
            await NetCtlOkAsync("policy", "create", "pol-db");
            await NetCtlOkAsync("policy", "rule-add", "-d", "in", "-l", "tcp", "-j", "deny", "pol-db", "1");
            await NetCtlOkAsync("policy", "rule-add", "-d", "in", "-l", "tcp", "-g", "pol-web", "-P", "5432", "-j", "allow", "-p", "10", "pol-db", "2");
            await NetCtlOkAsync("group", "create", "-p", "pol-db", "pol-net", "pol-db");

            // No waiting: netmaster answers once every live host has the Docker networks, so the
            // containers can be started right away, on any host, as Contiv's tutorials do.

            await RunServerAsync("h2", "pdb", "pol-db", 5432, 8080);
            await RunAsync("h1", "pweb1", "pol-web");
            await RunAsync("h2", "pweb2", "pol-web");
            await RunAsync("h1", "pother", "pol-net");

            // Enforced from the first packet: the receiving host programs its rules before the
            // container starts, so no Eventually for the denials.
            await EventuallyAsync(() => ConnectsAsync("h1", "pweb1", "pdb", 5432), true, "web on h1 reaches db:5432 on h2");
            Assert.True(await ConnectsAsync("h2", "pweb2", "pdb", 5432), "web on the same host as db reaches db:5432");
            Assert.False(await ConnectsAsync("h1", "pother", "pdb", 5432), "a container in no group reaches db:5432");
            Assert.False(await ConnectsAsync("h1", "pweb1", "pdb", 8080), "web reaches db on another port");
            Assert.False(await ConnectsAsync("h2", "pweb2", "pdb", 8080), "web on db's host reaches db on another port");
            Assert.True(await PingsAsync("h1", "pweb1", "pdb"), "ICMP is not TCP: ping must still work");

            // Groups are visible in inspect, with their endpoints.
            var group = JsonDocument.Parse((await lab.NetCtlAsync("group", "inspect", "pol-db")).EnsureSuccess("group inspect").Stdout).RootElement;
            Assert.Equal(1, group.GetProperty("Oper").GetProperty("numEndpoints").GetInt32());
            Assert.Equal("pol-db", group.GetProperty("Oper").GetProperty("endpoints")[0].GetProperty("serviceName").GetString());

            // A rule added live: ICMP denied too (higher priority than nothing else matching ICMP).
            await NetCtlOkAsync("policy", "rule-add", "-d", "in", "-l", "icmp", "-j", "deny", "-p", "20", "pol-db", "3");
            await EventuallyAsync(() => PingsAsync("h1", "pweb1", "pdb"), false, "an ICMP deny stops ping to db");
            await NetCtlOkAsync("policy", "rule-rm", "pol-db", "3");
            await EventuallyAsync(() => PingsAsync("h1", "pweb1", "pdb"), true, "removing the ICMP deny lets ping through again");

            // Restarting netplugin on db's host leaves the rules enforced while it is down and after.
            (await lab.BashAsync("contiv_stop_netplugin h2 >/dev/null 2>&1 || true")).EnsureSuccess("stop netplugin on h2");
            try
            {
                Assert.False(await ConnectsAsync("h1", "pother", "pdb", 5432), "db:5432 opened while netplugin was down");
                Assert.True(await ConnectsAsync("h1", "pweb1", "pdb", 5432), "web lost db:5432 while netplugin was down");
            }
            finally
            {
                (await lab.BashAsync("contiv_start_netplugin h2")).EnsureSuccess("start netplugin on h2");
            }

            Assert.False(await ConnectsAsync("h1", "pother", "pdb", 5432), "db:5432 opened after netplugin restarted");
            Assert.True(await ConnectsAsync("h1", "pweb1", "pdb", 5432), "web lost db:5432 after netplugin restarted");

            // What is in use cannot be deleted, and the refusals change nothing.
            await RefusedAsync("used", "policy", "rm", "pol-db");
            await RefusedAsync("endpoint", "group", "rm", "pol-db");
            await RefusedAsync("pol-net", "net", "rm", "pol-net");
            await RefusedAsync("both", "policy", "rule-add", "-d", "in", "-g", "pol-web", "-i", "10.9.9.0/24", "pol-db", "9");
            await RefusedAsync("priority", "policy", "rule-add", "-p", "101", "pol-db", "9");
            await RefusedAsync("nosuch", "group", "create", "-p", "nosuch", "pol-net", "pol-x");
            Assert.False(await ConnectsAsync("h1", "pother", "pdb", 5432), "a refused command changed the rules");

            // Removing the deny opens the path live, for the running containers.
            await NetCtlOkAsync("policy", "rule-rm", "pol-db", "1");
            await EventuallyAsync(() => ConnectsAsync("h1", "pother", "pdb", 5432), true, "without the deny rule, others reach db:5432");
            Assert.True(await ConnectsAsync("h1", "pweb1", "pdb", 8080), "without the deny rule, web reaches db:8080");
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "pweb1", "pother");
            await lab.DockerAsync("h2", "rm", "-f", "pdb", "pweb2");
            await lab.NetCtlAsync("group", "rm", "pol-db");
            await lab.NetCtlAsync("group", "rm", "pol-web");
            await lab.NetCtlAsync("policy", "rm", "pol-db");
            await lab.NetCtlAsync("net", "rm", "pol-net");
        }
    }

    [Fact]
    public async Task Out_rules_with_cidr_and_network_peers_follow_priorities_and_tenants_with_the_same_names_stay_independent()
    {
        lab.SkipIfUnavailable();
        await NetCtlOkAsync("tenant", "create", "pol-t2");
        try
        {
            foreach (var tenant in new[] { "default", "pol-t2" })
            {
                await NetCtlOkAsync("net", "create", "-t", tenant, "-s", "10.42.0.0/24", "pol2-net");
                await NetCtlOkAsync("group", "create", "-t", tenant, "pol2-net", "pol2-cli");
            }

            await DockerNetworkAsync("pol2-net", "h1", "h3");
            await DockerNetworkAsync("pol2-net/pol-t2", "h1", "h3");
            await DockerNetworkAsync("pol2-cli", "h3");
            await DockerNetworkAsync("pol2-cli/pol-t2", "h3");

            // Same names, same subnet, same addresses in both tenants: servers .1 and .2, client .3.
            foreach (var (tenant, suffix) in new[] { ("default", string.Empty), ("pol-t2", "/pol-t2") })
            {
                var id = tenant == "default" ? "a" : "b";
                await RunServerAsync("h1", $"p2srv1{id}", "pol2-net" + suffix, 80, 8080);
                await RunServerAsync("h1", $"p2srv2{id}", "pol2-net" + suffix, 8080);
                await RunAsync("h3", $"p2cli{id}", "pol2-cli" + suffix);
            }

            var server1 = await AddressAsync("h1", "p2srv1a", "pol2-net");
            Assert.Equal(server1, await AddressAsync("h1", "p2srv1b", "pol2-net/pol-t2"));

            // Tenant default only: out rules on the client group. Deny TCP to server 1 (CIDR, prio 5),
            // allow TCP port 80 to the network (prio 10): the allow wins for port 80 only.
            await NetCtlOkAsync("policy", "create", "pol2-out");
            await NetCtlOkAsync("policy", "rule-add", "-d", "out", "-l", "tcp", "-s", server1 + "/32", "-j", "deny", "-p", "5", "pol2-out", "1");
            await NetCtlOkAsync("policy", "rule-add", "-d", "out", "-l", "tcp", "-o", "pol2-net", "-P", "80", "-j", "allow", "-p", "10", "pol2-out", "2");
            await NetCtlOkAsync("group", "update", "-p", "pol2-out", "pol2-cli");

            await EventuallyAsync(() => ConnectsAsync("h3", "p2clia", server1, 8080), false, "the CIDR deny stops cli -> server1:8080");
            Assert.True(await ConnectsAsync("h3", "p2clia", server1, 80), "the higher-priority network allow lets cli -> server1:80 through");
            Assert.True(await ConnectsAsync("h3", "p2clia", "p2srv2a", 8080), "the deny names server 1 only");

            // The other tenant, same names and addresses, has no policy: nothing is denied there.
            Assert.True(await ConnectsAsync("h3", "p2clib", server1, 8080), "tenant pol-t2 got tenant default's rules");

            // An in rule with a CIDR peer on the other tenant's server group is independent too.
            await NetCtlOkAsync("policy", "create", "-t", "pol-t2", "pol2-in");
            await NetCtlOkAsync("policy", "rule-add", "-t", "pol-t2", "-d", "in", "-i", "10.42.0.0/24", "-l", "tcp", "-P", "8080", "-j", "deny", "pol2-in", "1");
            await NetCtlOkAsync("group", "update", "-t", "pol-t2", "-p", "pol2-in", "pol2-cli");
            Assert.True(await ConnectsAsync("h3", "p2clia", "p2srv2a", 8080), "tenant pol-t2's rule changed tenant default");

            // Detaching the policy opens the path again, live.
            await NetCtlOkAsync("group", "update", "-p", string.Empty, "pol2-cli");
            await EventuallyAsync(() => ConnectsAsync("h3", "p2clia", server1, 8080), true, "detaching the policy lets cli -> server1:8080 through");
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "p2srv1a", "p2srv2a", "p2srv1b", "p2srv2b");
            await lab.DockerAsync("h3", "rm", "-f", "p2clia", "p2clib");
            foreach (var tenant in new[] { "default", "pol-t2" })
            {
                await lab.NetCtlAsync("group", "rm", "-t", tenant, "pol2-cli");
                await lab.NetCtlAsync("net", "rm", "-t", tenant, "pol2-net");
            }

            await lab.NetCtlAsync("policy", "rm", "pol2-out");
            await lab.NetCtlAsync("policy", "rm", "-t", "pol-t2", "pol2-in");
            await lab.NetCtlAsync("tenant", "rm", "pol-t2");
        }
    }

    /// <summary>
    /// Contiv's policy tutorial as written: a VLAN network with a gateway, groups created empty,
    /// `docker run --net=epgA/TENANT` right after netctl, then a policy attached by creating the
    /// group again, ICMP denied from epgA, then TCP 8001 allowed (Go-style flags after the arguments).
    /// </summary>
    [Fact]
    public async Task Contivs_policy_tutorial_on_a_vlan_network_with_a_gateway()
    {
        lab.SkipIfUnavailable();
        await NetCtlOkAsync("tenant", "create", "PolTenant");
        try
        {
            await NetCtlOkAsync("network", "create", "--tenant", "PolTenant", "--subnet=10.44.1.0/24", "--gateway=10.44.1.254", "-e", "vlan", "PolNet");
            await NetCtlOkAsync("group", "create", "-t", "PolTenant", "PolNet", "epgA");
            await NetCtlOkAsync("group", "create", "-t", "PolTenant", "PolNet", "epgB");
            await RunAsync("h1", "pol-a", "epgA/PolTenant");
            await RunServerAsync("h2", "pol-b", "epgB/PolTenant", 8001, 8000);
            Assert.Equal("10.44.1.2", await AddressAsync("h2", "pol-b", "epgB/PolTenant"));
            await EventuallyAsync(() => PingsAsync("h1", "pol-a", "10.44.1.2"), true, "epgA pings epgB before any policy");

            await NetCtlOkAsync("policy", "create", "-t", "PolTenant", "policyAB");
            await NetCtlOkAsync("policy", "rule-add", "-t", "PolTenant", "-d", "in", "--protocol", "icmp", "--from-group", "epgA", "--action", "deny", "policyAB", "1");
            await NetCtlOkAsync("group", "create", "-t", "PolTenant", "-p", "policyAB", "PolNet", "epgB");
            await EventuallyAsync(() => PingsAsync("h1", "pol-a", "10.44.1.2"), false, "the ICMP deny from epgA stops ping to epgB");
            Assert.True(await ConnectsAsync("h1", "pol-a", "10.44.1.2", 8000), "ICMP rules must not stop TCP");

            await NetCtlOkAsync("policy", "rule-add", "-t", "PolTenant", "policyAB", "2", "-direction=in", "-protocol=tcp", "-action=deny");
            await NetCtlOkAsync("policy", "rule-add", "-t", "PolTenant", "policyAB", "3", "-direction=in", "-protocol=tcp", "-port=8001", "-from-group=epgA", "-action=allow", "-priority=10");
            await EventuallyAsync(() => ConnectsAsync("h1", "pol-a", "10.44.1.2", 8000), false, "TCP 8000 denied");
            Assert.True(await ConnectsAsync("h1", "pol-a", "10.44.1.2", 8001), "TCP 8001 from epgA allowed at priority 10");
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "pol-a");
            await lab.DockerAsync("h2", "rm", "-f", "pol-b");
            await lab.NetCtlAsync("group", "rm", "-t", "PolTenant", "epgA");
            await lab.NetCtlAsync("group", "rm", "-t", "PolTenant", "epgB");
            await lab.NetCtlAsync("policy", "rm", "-t", "PolTenant", "policyAB");
            await lab.NetCtlAsync("net", "rm", "-t", "PolTenant", "PolNet");
            await lab.NetCtlAsync("tenant", "rm", "PolTenant");
        }
    }

    [Fact]
    public async Task A_bandwidth_profile_limits_a_group_endpoint_and_changes_live()
    {
        lab.SkipIfUnavailable();
        try
        {
            await NetCtlOkAsync("net", "create", "-s", "10.43.0.0/24", "pol3-net");
            await NetCtlOkAsync("netprofile", "create", "-b", "50mbps", "pol3-bw");
            await NetCtlOkAsync("group", "create", "-n", "pol3-bw", "pol3-net", "pol3-slow");
            await DockerNetworkAsync("pol3-net", "h1");
            await DockerNetworkAsync("pol3-slow", "h2");
            await RunAsync("h1", "p3srv", "pol3-net");
            await RunAsync("h2", "p3cli", "pol3-slow");
            var server = await AddressAsync("h1", "p3srv", "pol3-net");

            var rate = await ThroughputAsync(server);
            Assert.InRange(rate, 45e6, 55e6);

            await NetCtlOkAsync("netprofile", "update", "-b", "20mbps", "pol3-bw");
            await ContivLabFixture.EventuallyAsync(() => ThroughputAsync(server), r => r is > 18e6 and < 22e6, Converge, "the profile changed to 20mbps on the running container");
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "p3srv");
            await lab.DockerAsync("h2", "rm", "-f", "p3cli");
            await lab.NetCtlAsync("group", "rm", "pol3-slow");
            await lab.NetCtlAsync("netprofile", "rm", "pol3-bw");
            await lab.NetCtlAsync("net", "rm", "pol3-net");
        }
    }

    /// <summary>
    /// TCP throughput from p3cli (h2) to p3srv (h1), bits/s as the receiver counted it: the host's
    /// iperf3 run inside the containers' network namespaces (the image has no iperf3).
    /// </summary>
    private async Task<double> ThroughputAsync(string server)
    {
        var result = (await lab.BashAsync(
            "s=$(lab_docker h1 inspect -f '{{.State.Pid}}' p3srv); c=$(lab_docker h2 inspect -f '{{.State.Pid}}' p3cli); " +
            "nsenter -t \"$s\" -n timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1 & srv=$!; sleep 0.5; " +
            $"nsenter -t \"$c\" -n timeout 15 iperf3 -c {server} -p 5201 -t 4 -O 1 -J; rc=$?; wait $srv; exit $rc",
            TimeSpan.FromSeconds(40))).EnsureSuccess("iperf3 between p3cli and p3srv");
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
    }
}
