namespace Contiv.EndToEnd.Tests;

/// <summary>
/// Seed chapter 4.1: a container on a Contiv network (without a configured gateway) also gets
/// Docker's docker_gwbridge interface, reaches the outside world through the host's NAT, and
/// publishes ports with -p.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class ExternalConnectivityTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Container_reaches_outside_and_publishes_a_port()
    {
        lab.SkipIfUnavailable();
        (await lab.BashAsync("lab_add_outside_ns >/dev/null 2>&1 || lab_exec ext true")).EnsureSuccess("outside-world namespace");
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.6.0/24", "ext-net")).EnsureSuccess("netctl net create");
        try
        {
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h1", "network", "inspect", "ext-net"), r => r.ExitCode == 0, Converge, "ext-net on h1");
            (await lab.DockerAsync("h1", "run", "-d", "-p", "9099:9099", "--name", "contiv-exposed", "--net", "ext-net", "contiv/busybox",
                "sh", "-c", "while true; do echo hello-from-contiv | nc -l -p 9099; done")).EnsureSuccess("docker run -p 9099:9099");

            var links = (await lab.DockerAsync("h1", "exec", "contiv-exposed", "ip", "-o", "-4", "addr")).Stdout;
            Assert.Contains("eth0    inet 10.1.6.1/24", links, StringComparison.Ordinal);
            Assert.Contains("eth1    inet 172.", links, StringComparison.Ordinal);

            // "The outside world" is a namespace on the underlay (192.168.2.200), reached through h1's NAT.
            var ping = await lab.DockerAsync("h1", "exec", "contiv-exposed", "ping", "-c", "2", "-W", "2", "192.168.2.200");
            Assert.True(ping.ExitCode == 0, ping.Output);

            var local = await ContivLabFixture.EventuallyAsync(() => lab.BashAsync("lab_exec h1 busybox nc -w 2 127.0.0.1 9099"),
                r => r.Stdout.Contains("hello-from-contiv", StringComparison.Ordinal), Converge, "port 9099 on h1's localhost");
            Assert.Contains("hello-from-contiv", local.Stdout, StringComparison.Ordinal);
            var remote = await lab.BashAsync("lab_exec ext busybox nc -w 2 192.168.2.50 9099");
            Assert.Contains("hello-from-contiv", remote.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await lab.DockerAsync("h1", "rm", "-f", "contiv-exposed");
            await lab.NetCtlAsync("net", "rm", "ext-net");
        }
    }
}

/// <summary>A lab whose engines form a Swarm, with Contiv's VXLAN on port 8472 so Docker's overlay keeps 4789.</summary>
public sealed class SwarmLabFixture() : ContivLabFixture("cw", "/tmp/contiv-e2e-swarm", hosts: 2, vxlanPort: 8472);

[CollectionDefinition(nameof(SwarmLab))]
public sealed class SwarmLab : ICollectionFixture<SwarmLabFixture>;

/// <summary>
/// Seed chapter 5, without stopping netplugin: Docker's own overlay network (swarm mode) and Contiv
/// networks pass traffic at the same time on the same hosts, on different VXLAN ports.
/// </summary>
[Collection(nameof(SwarmLab))]
public sealed class OverlayCoexistenceTests(SwarmLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Docker_overlay_and_contiv_vxlan_carry_traffic_at_the_same_time()
    {
        lab.SkipIfUnavailable();
        (await lab.DockerAsync("h1", "swarm", "init", "--advertise-addr", "192.168.2.50")).EnsureSuccess("swarm init");
        var token = (await lab.DockerAsync("h1", "swarm", "join-token", "-q", "worker")).EnsureSuccess("join token").Stdout.Trim();
        (await lab.DockerAsync("h2", "swarm", "join", "--token", token, "192.168.2.50:2377")).EnsureSuccess("swarm join");

        (await lab.DockerAsync("h1", "network", "create", "-d", "overlay", "--attachable", "--subnet=30.1.1.0/24", "overlay-net")).EnsureSuccess("overlay network");
        (await lab.NetCtlAsync("net", "create", "--subnet=10.1.2.0/24", "contiv-net")).EnsureSuccess("contiv network");
        await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h2", "network", "inspect", "contiv-net"), r => r.ExitCode == 0, Converge, "contiv-net on h2");

        (await lab.DockerAsync("h1", "run", "-d", "--name", "overlay-c1", "--net", "overlay-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("overlay-c1");
        (await lab.DockerAsync("h2", "run", "-d", "--name", "overlay-c2", "--net", "overlay-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("overlay-c2");
        (await lab.DockerAsync("h1", "run", "-d", "--name", "contiv-c1", "--net", "contiv-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("contiv-c1");
        (await lab.DockerAsync("h2", "run", "-d", "--name", "contiv-c2", "--net", "contiv-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("contiv-c2");

        // Both overlays at once, while capturing the underlay: Docker's on 4789, Contiv's on 8472.
        var capture = lab.BashAsync("lab_exec h1 timeout 12 tcpdump -nn -i eth2 -c 200 'udp port 4789 or udp port 8472' 2>&1", TimeSpan.FromSeconds(25));
        await Task.Delay(1000);
        var overlayPing = lab.DockerAsync("h2", "exec", "overlay-c2", "ping", "-c", "5", "-W", "2", "overlay-c1");
        var contivPing = lab.DockerAsync("h2", "exec", "contiv-c2", "ping", "-c", "5", "-W", "2", "contiv-c1");
        var (overlay, contiv) = (await overlayPing, await contivPing);
        Assert.True(overlay.ExitCode == 0, "overlay: " + overlay.Output);
        Assert.True(contiv.ExitCode == 0, "contiv: " + contiv.Output);
        var wire = (await capture).Stdout;
        Assert.Contains(".4789:", wire, StringComparison.Ordinal);
        Assert.Contains(".8472:", wire, StringComparison.Ordinal);
    }
}
