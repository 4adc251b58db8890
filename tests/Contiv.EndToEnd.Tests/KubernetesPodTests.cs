using System.Text.Json;
using Contiv.Cri;
using Contiv.TestSupport;
using Grpc.Core;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// The Kubernetes seed (contiv-kubernetes-tutorial-excerpt.md) on the lab, driven the way kubelet
/// drives a node: a containerd with its CRI plugin on h1 and h2, pods run over CRI gRPC
/// (RunPodSandbox with the seed's labels, CreateContainer, StartContainer, ExecSync), containerd
/// executing contivk8s from its CNI bin dir with the conflist scripts/systemd/install.sh ships.
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class KubernetesPodTests(ContivLabFixture lab)
{
    private const string Image = "docker.io/contiv/cri-busybox:latest";
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Socket(string host) => Path.Combine(lab.LabDir, host, "containerd", "containerd.sock");

    /// <summary>containerd on each node, with contivk8s and loopback in its CNI bin dir and Contiv's conflist.</summary>
    private async Task StartNodesAsync(params string[] hosts)
    {
        foreach (var h in hosts)
        {
            (await lab.BashAsync(
                $"""
                source '{Repo.Root}/scripts/lib/cri.sh'
                mkdir -p "$(cri_cni_bin_dir {h})" "$(cri_cni_conf_dir {h})"
                cri_install_reference_plugins {h} loopback
                ln -sfn "$CONTIV_ARTIFACTS/contivk8s/contivk8s" "$(cri_cni_bin_dir {h})/contivk8s"
                cp '{Repo.Root}/scripts/systemd/10-contiv.conflist' "$(cri_cni_conf_dir {h})/"
                cri_start_containerd {h}
                """, TimeSpan.FromMinutes(3))).EnsureSuccess($"containerd on {h}");
        }
    }

    private Task<CommandResult> StopNodesAsync(params string[] hosts) =>
        lab.BashAsync($"source '{Repo.Root}/scripts/lib/cri.sh'; " + string.Join("; ", hosts.Select(h => $"cri_stop_containerd {h} || true")), TimeSpan.FromMinutes(2));

    private CriPodSpec Pod(string host, string name, IReadOnlyDictionary<string, string> labels) =>
        new(name, "default", $"{name}-{Guid.NewGuid():N}")
        {
            Labels = labels,
            Hostname = name,

            // Under the lab host's cgroup, so the lab's teardown finds the pod's processes too.
            CgroupParent = $"/{lab.Env["LAB_PREFIX"]}-{host}/pods",
        };

    private static Dictionary<string, string> SeedLabels(string app, string network = "contiv-net") => new()
    {
        ["io.contiv.tenant"] = "default",
        ["io.contiv.network"] = network,
        ["k8s-app"] = app,
    };

    /// <summary>kubectl create -f: the sandbox (CNI ADD inside), then the pod's container (the seed's `sleep 6000`).</summary>
    private static async Task<(string Sandbox, string Container)> RunPodAsync(CriRuntimeClient node, CriPodSpec pod)
    {
        var sandbox = await node.RunPodSandboxAsync(pod, Ct);
        var container = await node.CreateContainerAsync(sandbox, CriRuntimeClient.ContainerConfig("alpine", Image, "sleep", "6000"), pod.ToConfig(), Ct);
        await node.StartContainerAsync(container, Ct);
        return (sandbox, container);
    }

    private static async Task RemovePodAsync(CriRuntimeClient node, string sandbox)
    {
        await node.StopPodSandboxAsync(sandbox, CancellationToken.None);
        await node.RemovePodSandboxAsync(sandbox, CancellationToken.None);
    }

    private static async Task<string> ExecAsync(CriRuntimeClient node, string container, params string[] argv)
    {
        var result = await node.ExecSyncAsync(container, argv, TimeSpan.FromSeconds(15), Ct);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', argv)}: exit {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        return result.Stdout;
    }

    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task The_kubernetes_seed_pods_get_contiv_addresses_on_two_nodes_and_reach_each_other_and_docker_containers()
    {
        lab.SkipIfUnavailable();
        var pods = new List<(CriRuntimeClient Node, string Sandbox)>();
        using var master = CriRuntimeClient.ForUnixSocket(Socket("h1"), TimeSpan.FromSeconds(90));
        using var worker = CriRuntimeClient.ForUnixSocket(Socket("h2"), TimeSpan.FromSeconds(90));
        try
        {
            await StartNodesAsync("h1", "h2");
            (await lab.NetCtlAsync("net", "create", "--subnet=10.1.2.0/24", "--gateway=10.1.2.1", "contiv-net")).EnsureSuccess("net create");

            // The seed's net inspect: the gateway in Config, allocated in Oper.
            var inspect = Json((await lab.NetCtlAsync("net", "inspect", "contiv-net")).EnsureSuccess("net inspect").Stdout);
            Assert.Equal("10.1.2.1", inspect.GetProperty("Config").GetProperty("gateway").GetString());
            Assert.Equal("10.1.2.1", inspect.GetProperty("Oper").GetProperty("allocatedIPAddresses").GetString());
            Assert.Equal("10.1.2.2-10.1.2.254", inspect.GetProperty("Oper").GetProperty("availableIPAddresses").GetString());

            // contiv-c1 on the master node, contiv-c2 on the worker: 10.1.2.2 and 10.1.2.3.
            var (s1, c1) = await RunPodAsync(master, Pod("h1", "contiv-c1", SeedLabels("contiv-c1")));
            pods.Add((master, s1));
            var (s2, c2) = await RunPodAsync(worker, Pod("h2", "contiv-c2", SeedLabels("contiv-c2")));
            pods.Add((worker, s2));
            Assert.Equal("10.1.2.2", (await master.PodSandboxStatusAsync(s1, Ct)).Network.Ip);
            Assert.Equal("10.1.2.3", (await worker.PodSandboxStatusAsync(s2, Ct)).Network.Ip);

            // kubectl exec -it contiv-c1 sh; ifconfig: the seed's MAC, address, mask and MTU.
            var ifconfig = await ExecAsync(master, c1, "ifconfig", "eth0");
            Assert.Contains("HWaddr 02:02:0A:01:02:02", ifconfig, StringComparison.Ordinal);
            Assert.Contains("inet addr:10.1.2.2", ifconfig, StringComparison.Ordinal);
            Assert.Contains("Mask:255.255.255.0", ifconfig, StringComparison.Ordinal);
            Assert.Contains("MTU:1450", ifconfig, StringComparison.Ordinal);
            Assert.Contains("HWaddr 02:02:0A:01:02:03", await ExecAsync(worker, c2, "ifconfig", "eth0"), StringComparison.Ordinal);

            // Across nodes, both ways; and a Docker container on the same network, on a third host.
            await ContivLabFixture.EventuallyAsync(() => master.ExecSyncAsync(c1, ["ping", "-c", "1", "-W", "1", "10.1.2.3"], TimeSpan.FromSeconds(10), Ct), r => r.ExitCode == 0, Converge, "contiv-c1 -> contiv-c2");
            await ExecAsync(worker, c2, "ping", "-c", "1", "-W", "2", "10.1.2.2");
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h3", "network", "inspect", "contiv-net"), r => r.ExitCode == 0, Converge, "docker network contiv-net on h3");
            (await lab.DockerAsync("h3", "run", "-d", "--name", "k8s-docker-c3", "--net", "contiv-net", "contiv/busybox", "sleep", "600")).EnsureSuccess("docker run on h3");
            await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h3", "exec", "k8s-docker-c3", "ping", "-c", "1", "-W", "1", "10.1.2.2"), r => r.ExitCode == 0, Converge, "docker container -> contiv-c1");
            await ExecAsync(worker, c2, "ping", "-c", "1", "-W", "2", "10.1.2.4");

            // Pods and the container together in net inspect: pod name and node.
            var endpoints = Json((await lab.NetCtlAsync("net", "inspect", "contiv-net")).Stdout).GetProperty("Oper").GetProperty("endpoints").EnumerateArray()
                .Select(e => $"{e.GetProperty("containerName").GetString()}@{e.GetProperty("homingHost").GetString()}={e.GetProperty("ipAddress")[0].GetString()}").ToList();
            Assert.Contains("contiv-c1@h1=10.1.2.2", endpoints);
            Assert.Contains("contiv-c2@h2=10.1.2.3", endpoints);
            Assert.Contains("k8s-docker-c3@h3=10.1.2.4", endpoints);

            // A pod naming a network that does not exist: the sandbox fails with Contiv's message, nothing is allocated.
            var refused = await Assert.ThrowsAsync<RpcException>(() => worker.RunPodSandboxAsync(Pod("h2", "lost", SeedLabels("lost", network: "no-such-net")), Ct));
            Assert.Contains("network no-such-net does not exist in tenant default", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Equal(3, Json((await lab.NetCtlAsync("net", "inspect", "contiv-net")).Stdout).GetProperty("Oper").GetProperty("endpoints").GetArrayLength());

            // A restart of the worker's netplugin keeps the pods' traffic and its records.
            (await lab.BashAsync("contiv_stop_netplugin h2 && contiv_start_netplugin h2")).EnsureSuccess("netplugin restart on h2");
            await ExecAsync(master, c1, "ping", "-c", "1", "-W", "2", "10.1.2.3");

            // Deleting the pods (StopPodSandbox, RemovePodSandbox: DEL, DEL again without a namespace) frees their addresses.
            foreach (var (node, sandbox) in pods)
            {
                await RemovePodAsync(node, sandbox);
            }

            pods.Clear();
            var after = Json((await lab.NetCtlAsync("net", "inspect", "contiv-net")).Stdout).GetProperty("Oper");
            Assert.Equal("k8s-docker-c3", Assert.Single(after.GetProperty("endpoints").EnumerateArray()).GetProperty("containerName").GetString());
        }
        finally
        {
            foreach (var (node, sandbox) in pods)
            {
                await RemovePodAsync(node, sandbox);
            }

            await lab.DockerAsync("h3", "rm", "-f", "k8s-docker-c3");
            await StopNodesAsync("h1", "h2");
            await lab.NetCtlAsync("net", "delete", "contiv-net");
        }
    }
}
