using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Contiv.Cri.Tests;

/// <summary>
/// Pods as kubelet runs them, networked by the reference plugins (bridge + host-local) through
/// containerd's CRI: the harness's proof, and the baseline the contivk8s plugin is measured against.
/// </summary>
[Collection(CriLabGroup.Name)]
public sealed partial class BridgePodTests(CriLabFixture lab)
{
    [Fact]
    public async Task Two_pods_on_one_host_get_addresses_and_reach_each_other_and_leave_nothing_behind()
    {
        lab.SkipIfUnavailable();
        var ct = TestContext.Current.CancellationToken;
        using var client = lab.Client(CriLabFixture.BridgeHost);
        var version = await client.VersionAsync(ct);
        Assert.Equal("containerd", version.RuntimeName);
        Assert.NotNull(await client.ImageStatusAsync(CriLabFixture.Image, ct));

        var pods = new List<(string Sandbox, string Container, CriPodSpec Spec)>();
        try
        {
            foreach (var name in new[] { "web", "client" })
            {
                var spec = new CriPodSpec(name, "bridge-ns", "uid-" + name + "-" + Guid.NewGuid().ToString("N")[..8])
                {
                    Labels = new Dictionary<string, string> { ["app"] = name },
                    CgroupParent = "/cr-h1/pods",
                };
                var timer = Stopwatch.StartNew();
                var sandbox = await client.RunPodSandboxAsync(spec, ct);
                TestContext.Current.TestOutputHelper?.WriteLine($"RunPodSandbox {name}: {timer.ElapsedMilliseconds} ms (bridge + host-local ADD inside)");
                var container = await client.CreateContainerAsync(
                    sandbox, CriRuntimeClient.ContainerConfig("main", CriLabFixture.Image, "sleep", "3600"), spec.ToConfig(), ct);
                await client.StartContainerAsync(container, ct);
                pods.Add((sandbox, container, spec));
            }

            var addresses = new List<string>();
            foreach (var (sandbox, container, spec) in pods)
            {
                var status = await client.PodSandboxStatusAsync(sandbox, ct);
                Assert.Equal(spec.Labels, status.Labels.ToDictionary());
                Assert.StartsWith("10.88.7.", status.Network.Ip, StringComparison.Ordinal);
                var ip = await client.ExecSyncAsync(container, ["ip", "-4", "addr", "show", "eth0"], TimeSpan.FromSeconds(10), ct);
                Assert.Equal(0, ip.ExitCode);
                Assert.Contains($"inet {status.Network.Ip}/24", ip.Stdout, StringComparison.Ordinal);
                addresses.Add(status.Network.Ip);
            }

            Assert.NotEqual(addresses[0], addresses[1]);
            var ping = await client.ExecSyncAsync(pods[1].Container, ["ping", "-c", "1", "-W", "2", addresses[0]], TimeSpan.FromSeconds(10), ct);
            Assert.True(ping.ExitCode == 0, $"ping {addresses[0]} from the client pod failed: {ping.Stdout}{ping.Stderr}");
            Assert.Matches(OneReceived(), ping.Stdout);

            var failing = await client.ExecSyncAsync(pods[1].Container, ["sh", "-c", "echo out; echo err >&2; exit 3"], TimeSpan.FromSeconds(10), ct);
            Assert.Equal(new CriExecResult(3, "out\n", "err\n"), failing);
        }
        finally
        {
            foreach (var (sandbox, container, _) in pods)
            {
                await client.StopContainerAsync(container, TimeSpan.Zero, CancellationToken.None);
                await client.RemoveContainerAsync(container, CancellationToken.None);
                await client.StopPodSandboxAsync(sandbox, CancellationToken.None);
                await client.RemovePodSandboxAsync(sandbox, CancellationToken.None);
            }
        }

        Assert.Empty(await client.ListPodSandboxAsync(ct));
        var left = await lab.BashAsync(
            $"""
            echo "containers: $(cri_ctr h1 containers ls -q | wc -l)"
            echo "tasks: $(cri_ctr h1 tasks ls -q | wc -l)"
            echo "netns: $(ls "$(cri_netns_dir h1)" 2>/dev/null | wc -l)"
            echo "bridge ports: $(lab_exec h1 ip -o link show master cni0 | wc -l)"
            echo "leases: $(ls "$LAB_DIR/h1/cni/ipam/cri-bridge" 2>/dev/null | grep -c '^10\.' || true)"
            a=$(cat "$LAB_DIR/h1/anchor.pid"); echo "netns mounts: $(grep -c "$(cri_netns_dir h1)/" /proc/$a/mountinfo || true)"
            """);
        TestContext.Current.TestOutputHelper?.WriteLine(left.Output);
        Assert.Equal(0, left.ExitCode);
        Assert.Equal(
            ["containers: 0", "tasks: 0", "netns: 0", "bridge ports: 0", "leases: 0", "netns mounts: 0"],
            left.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [GeneratedRegex(@"1 packets received")]
    private static partial Regex OneReceived();
}
