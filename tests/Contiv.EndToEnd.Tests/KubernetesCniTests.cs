using System.Text.Json;
using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// contivk8s, the CNI plugin, executed on the lab's hosts exactly as a runtime does (environment,
/// configuration on stdin, a network namespace made by the test), against the real netplugin,
/// store and kernel: the CNI conformance behaviours (ADD twice, DEL twice, DEL of an unknown
/// container or a gone namespace, CHECK after tampering, bad input, missing variables) and a pod
/// reaching a Docker container of the same network on another host.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class KubernetesCniTests(ContivLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);

    private static string Sh(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A CNI configuration as a node has it, with the pod's network given as a pod annotation (runtimeConfig).</summary>
    private static string Config(string network, string version = "1.0.0") =>
        "{\"cniVersion\":\"" + version + "\",\"name\":\"contiv\",\"type\":\"contivk8s\","
        + "\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":{\"io.contiv.network\":\"" + network + "\"}}}";

    private Task<CommandResult> CniAsync(string host, string command, string container, string? netns, string config, string? pod = null, string ifName = "eth0") =>
        lab.BashAsync(
            $"printf '%s' {Sh(config)} | lab_exec {host} env CNI_COMMAND={command} CNI_CONTAINERID={container} "
            + (netns is null ? string.Empty : $"CNI_NETNS={netns} ")
            + $"CNI_IFNAME={ifName} CNI_PATH=/opt/cni/bin CNI_ARGS={Sh($"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={pod ?? container};K8S_POD_INFRA_CONTAINER_ID={container}")} "
            + "\"$CONTIV_ARTIFACTS/contivk8s/contivk8s\"",
            TimeSpan.FromSeconds(90));

    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static int ErrorCode(CommandResult r)
    {
        Assert.True(r.ExitCode != 0, $"expected a CNI error, got: {r.Output}");
        return Json(r.Stdout).GetProperty("code").GetInt32();
    }

    private string Netns(string name) => $"/var/run/netns/{lab.Env["LAB_PREFIX"]}-{name}";

    private Task<CommandResult> InPodAsync(string host, string name, string command) =>
        lab.ExecAsync(host, $"ip netns exec {lab.Env["LAB_PREFIX"]}-{name} {command}");

    private async Task<string[]> EndpointNamesAsync(string network) =>
        [.. Json((await lab.NetCtlAsync("net", "inspect", network)).EnsureSuccess("net inspect").Stdout)
            .GetProperty("Oper").TryGetProperty("endpoints", out var eps) ? eps.EnumerateArray().Select(e => $"{e.GetProperty("containerName").GetString()}@{e.GetProperty("homingHost").GetString()}={e.GetProperty("ipAddress")[0].GetString()}") : []];

    [Fact]
    public async Task A_pod_plumbed_by_contivk8s_reaches_a_container_on_another_host_and_the_cni_contract_holds()
    {
        lab.SkipIfUnavailable();
        var prefix = lab.Env["LAB_PREFIX"];
        (await lab.NetCtlAsync("net", "create", "--subnet=10.36.0.0/24", "--gateway=10.36.0.1", "k8s-net")).EnsureSuccess("net create");
        await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h3", "network", "inspect", "k8s-net"), r => r.ExitCode == 0, Converge, "docker network k8s-net on h3");
        (await lab.ExecAsync("h2", $"ip netns add {prefix}-pod-a && ip netns add {prefix}-pod-b")).EnsureSuccess("netns");
        try
        {
            // ADD: the address after the gateway, Contiv's MAC, VXLAN MTU, default route via the gateway.
            var add = (await CniAsync("h2", "ADD", "sandbox-a", Netns("pod-a"), Config("k8s-net"), pod: "pod-a")).EnsureSuccess("ADD");
            var result = Json(add.Stdout);
            Assert.Equal("1.0.0", result.GetProperty("cniVersion").GetString());
            Assert.Equal("10.36.0.2/24", result.GetProperty("ips")[0].GetProperty("address").GetString());
            Assert.Equal("10.36.0.1", result.GetProperty("ips")[0].GetProperty("gateway").GetString());
            Assert.Equal("02:02:0a:24:00:02", result.GetProperty("interfaces")[0].GetProperty("mac").GetString());
            var link = (await InPodAsync("h2", "pod-a", "ip -o link show eth0")).EnsureSuccess("link").Stdout;
            Assert.Contains("mtu 1450", link, StringComparison.Ordinal);
            Assert.Contains("02:02:0a:24:00:02", link, StringComparison.Ordinal);
            Assert.Contains("default via 10.36.0.1 dev eth0", (await InPodAsync("h2", "pod-a", "ip route")).Stdout, StringComparison.Ordinal);

            // The pod and a container see each other across hosts, and net inspect lists both.
            (await lab.DockerAsync("h3", "run", "-d", "--name", "k8s-peer", "--net", "k8s-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("run peer");
            var peer = (await lab.DockerAsync("h3", "inspect", "-f", "{{(index .NetworkSettings.Networks \"k8s-net\").IPAddress}}", "k8s-peer")).EnsureSuccess("peer ip").Stdout.Trim();
            await ContivLabFixture.EventuallyAsync(() => InPodAsync("h2", "pod-a", $"busybox ping -c 1 -W 1 {peer}"), r => r.ExitCode == 0, Converge, "pod -> container ping");
            (await lab.DockerAsync("h3", "exec", "k8s-peer", "ping", "-c", "1", "-W", "2", "10.36.0.2")).EnsureSuccess("container -> pod ping");
            Assert.Contains("pod-a@h2=10.36.0.2", await EndpointNamesAsync("k8s-net"));

            // The host agent reclaims leases no Docker container uses after --reclaim-after (15 s
            // here) at its next pass (<= 10 s): a pod is not in the engine and must survive that.
            await Task.Delay(TimeSpan.FromSeconds(27), TestContext.Current.CancellationToken);
            Assert.Contains("pod-a@h2=10.36.0.2", await EndpointNamesAsync("k8s-net"));
            (await InPodAsync("h2", "pod-a", $"busybox ping -c 1 -W 2 {peer}")).EnsureSuccess("ping after the reclaim window");

            // ADD again answers the same; CHECK passes, then names what was tampered with.
            Assert.Equal(add.Stdout, (await CniAsync("h2", "ADD", "sandbox-a", Netns("pod-a"), Config("k8s-net"), pod: "pod-a")).EnsureSuccess("ADD again").Stdout);
            (await CniAsync("h2", "CHECK", "sandbox-a", Netns("pod-a"), Config("k8s-net"), pod: "pod-a")).EnsureSuccess("CHECK");
            (await InPodAsync("h2", "pod-a", "ip link set eth0 mtu 1400")).EnsureSuccess("tamper");
            var check = await CniAsync("h2", "CHECK", "sandbox-a", Netns("pod-a"), Config("k8s-net"), pod: "pod-a");
            Assert.Equal(102, ErrorCode(check));
            Assert.Contains("MTU 1400, not 1450", check.Stdout, StringComparison.Ordinal);

            // Refusals with CNI's codes, nothing allocated: unknown network, bad stdin, missing variable, old version CHECK.
            Assert.Equal(100, ErrorCode(await CniAsync("h2", "ADD", "sandbox-b", Netns("pod-b"), Config("no-such-net"), pod: "pod-b")));
            Assert.Equal(6, ErrorCode(await CniAsync("h2", "ADD", "sandbox-b", Netns("pod-b"), "{not json", pod: "pod-b")));
            Assert.Equal(4, ErrorCode(await CniAsync("h2", "ADD", "sandbox-b", netns: null, Config("k8s-net"), pod: "pod-b")));
            Assert.Equal(1, ErrorCode(await CniAsync("h2", "CHECK", "sandbox-a", Netns("pod-a"), Config("k8s-net", "0.3.1"), pod: "pod-a")));
            Assert.DoesNotContain(await EndpointNamesAsync("k8s-net"), e => e.StartsWith("pod-b@", StringComparison.Ordinal));
            Assert.Empty((await InPodAsync("h2", "pod-b", "ip -o link show eth0")).Stdout);

            // A second pod in the 0.3.1 format (per-address version field), then its namespace disappears before DEL.
            var b = Json((await CniAsync("h2", "ADD", "sandbox-b", Netns("pod-b"), Config("k8s-net", "0.3.1"), pod: "pod-b")).EnsureSuccess("ADD b").Stdout);
            Assert.Equal("4", b.GetProperty("ips")[0].GetProperty("version").GetString());
            Assert.Equal("10.36.0.4/24", b.GetProperty("ips")[0].GetProperty("address").GetString());
            (await lab.ExecAsync("h2", $"ip netns del {prefix}-pod-b")).EnsureSuccess("netns del");
            (await CniAsync("h2", "DEL", "sandbox-b", Netns("pod-b"), Config("k8s-net", "0.3.1"), pod: "pod-b")).EnsureSuccess("DEL with the namespace gone");

            // DEL twice, and DEL of a container never added: success; the addresses are free again.
            (await CniAsync("h2", "DEL", "sandbox-a", Netns("pod-a"), Config("k8s-net"), pod: "pod-a")).EnsureSuccess("DEL");
            (await CniAsync("h2", "DEL", "sandbox-a", Netns("pod-a"), Config("k8s-net"), pod: "pod-a")).EnsureSuccess("DEL again");
            (await CniAsync("h2", "DEL", "never-added", null, Config("k8s-net"))).EnsureSuccess("DEL unknown");
            Assert.Empty((await InPodAsync("h2", "pod-a", "ip -o link show eth0")).Stdout);
            Assert.DoesNotContain(await EndpointNamesAsync("k8s-net"), e => e.StartsWith("pod-", StringComparison.Ordinal));
            var oper = Json((await lab.NetCtlAsync("net", "inspect", "k8s-net")).Stdout).GetProperty("Oper");
            Assert.Equal(1, oper.GetProperty("allocatedAddressesCount").GetInt32());
        }
        finally
        {
            await lab.ExecAsync("h2", $"ip netns del {prefix}-pod-a; ip netns del {prefix}-pod-b; true");
            await lab.DockerAsync("h3", "rm", "-f", "k8s-peer");
            await lab.NetCtlAsync("net", "delete", "k8s-net");
        }
    }
}
