using System.Text;
using System.Text.Json;
using Contiv.Cni;
using Grpc.Core;

namespace Contiv.Cri.Tests;

/// <summary>
/// What containerd's CRI plugin shows a CNI plugin, and what it answers while the plugin's ADD is in
/// flight: the facts the contivk8s plugin and netplugin's CRI label source are built on. The probe
/// plugin (cni-probe.sh) records each call and holds the ADD until the test releases it.
/// </summary>
[Collection(CriLabGroup.Name)]
public sealed class ProbeTests(CriLabFixture lab)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Cni_add_runs_inside_RunPodSandbox_and_shows_what_the_runtime_knows_then()
    {
        lab.SkipIfUnavailable();
        var ct = TestContext.Current.CancellationToken;
        var report = new StringBuilder();
        using var client = lab.Client(CriLabFixture.ProbeHost);
        var labels = new Dictionary<string, string> { ["app"] = "probe", ["io.contiv.tenant"] = "default", ["io.contiv.network"] = "probe-net" };
        var annotations = new Dictionary<string, string> { ["contiv.io/note"] = "annotated", ["example.com/x"] = "y" };
        var pod = new CriPodSpec("probe-pod", "probe-ns", "uid-" + Guid.NewGuid().ToString("N")[..12])
        {
            Labels = labels,
            Annotations = annotations,
            CgroupParent = "/cr-h2/pods",
        };
        var before = ProbeRecords().Count;

        var run = client.RunPodSandboxAsync(pod, ct);
        var add = await WaitForRecordAsync("ADD", before, ct);
        var env = ReadEnv(add + ".env");
        var containerId = env["CNI_CONTAINERID"];
        report.AppendLine($"ADD env: {string.Join(' ', env.Where(e => e.Key.StartsWith("CNI_", StringComparison.Ordinal)).Select(e => $"{e.Key}={e.Value}"))}");
        report.AppendLine($"ADD stdin: {await File.ReadAllTextAsync(add + ".stdin", ct)}");

        // (a) the sandbox as CRI shows it while its ADD runs
        string statusDuringAdd;
        try
        {
            var status = await client.PodSandboxStatusAsync(containerId, ct);
            statusDuringAdd = $"answered: state {status.State}, labels {Show(status.Labels)}";
        }
        catch (RpcException e)
        {
            statusDuringAdd = $"{e.StatusCode}: {e.Status.Detail}";
        }

        report.AppendLine($"PodSandboxStatus during ADD: {statusDuringAdd}");
        var listed = await client.ListPodSandboxAsync(ct);
        report.AppendLine($"ListPodSandbox during ADD: {string.Join(", ", listed.Select(s => $"{s.Id[..12]} {s.State} {Show(s.Labels)}"))}");
        string labelSourceDuringAdd;
        try
        {
            var found = await new CriPodLabelSource(client).FindLabelsAsync(PodReference.FromArgs(ParseArgs(env["CNI_ARGS"]), containerId), ct);
            labelSourceDuringAdd = found is null ? "null (not found)" : Show(found);
        }
        catch (PodLabelSourceException e)
        {
            labelSourceDuringAdd = "exception: " + e.Message;
        }

        report.AppendLine($"CriPodLabelSource during ADD: {labelSourceDuringAdd}");
        using var containerd = ContainerdPodLabelSource.ForUnixSocket(lab.Socket(CriLabFixture.ProbeHost));
        var containerdLabels = await containerd.FindLabelsAsync(PodReference.FromArgs(ParseArgs(env["CNI_ARGS"]), containerId), ct);
        report.AppendLine($"ContainerdPodLabelSource during ADD: {(containerdLabels is null ? "null" : Show(containerdLabels))}");

        // (d) containerd's own container object of the sandbox (namespace k8s.io)
        var info = await lab.BashAsync($"cri_ctr {CriLabFixture.ProbeHost} containers info {containerId} 2>&1 || true");
        report.AppendLine($"ctr containers info during ADD: {Squeeze(info.Output, 600)}");
        var containers = await lab.BashAsync($"cri_ctr {CriLabFixture.ProbeHost} containers ls -q 2>&1 || true");
        report.AppendLine($"ctr containers ls during ADD: {Squeeze(containers.Output, 300)}");

        await File.WriteAllTextAsync(Path.Combine(lab.ProbeDir, "release-" + containerId), "", ct);
        var sandboxId = await run;
        report.AppendLine($"RunPodSandbox returned {sandboxId}; equals CNI_CONTAINERID: {sandboxId == containerId}");
        var after = await client.PodSandboxStatusAsync(sandboxId, ct);
        report.AppendLine($"PodSandboxStatus after: state {after.State}, ip {after.Network?.Ip}, labels {Show(after.Labels)}, annotations {Show(after.Annotations)}");
        var infoAfter = await lab.BashAsync($"cri_ctr {CriLabFixture.ProbeHost} containers info {sandboxId} 2>&1 | grep -A8 '\"Labels\"' || true");
        report.AppendLine($"ctr containers info after: {Squeeze(infoAfter.Output, 600)}");

        var count = ProbeRecords().Count;
        await client.StopPodSandboxAsync(sandboxId, ct);
        report.AppendLine($"StopPodSandbox made: {string.Join(", ", ProbeRecords().Skip(count).Select(Path.GetFileName))}");
        count = ProbeRecords().Count;
        await client.StopPodSandboxAsync(sandboxId, ct);
        report.AppendLine($"second StopPodSandbox made: {string.Join(", ", ProbeRecords().Skip(count).Select(Path.GetFileName))}");
        count = ProbeRecords().Count;
        await client.RemovePodSandboxAsync(sandboxId, ct);
        report.AppendLine($"RemovePodSandbox made: {string.Join(", ", ProbeRecords().Skip(count).Select(Path.GetFileName))}");
        foreach (var record in ProbeRecords().Skip(before))
        {
            var e = ReadEnv(record + ".env");
            report.AppendLine($"call {Path.GetFileName(record)}: CNI_ARGS={e.GetValueOrDefault("CNI_ARGS")} CNI_NETNS={e.GetValueOrDefault("CNI_NETNS")} stdin={Squeeze(File.ReadAllText(record + ".stdin"), 2000)}");
        }

        string statusAfterRemove;
        try
        {
            await client.PodSandboxStatusAsync(sandboxId, ct);
            statusAfterRemove = "answered";
        }
        catch (RpcException e)
        {
            statusAfterRemove = e.StatusCode.ToString();
        }

        report.AppendLine($"PodSandboxStatus after remove: {statusAfterRemove}");
        var text = report.ToString();
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "cri-probe-report.txt"), text, ct);
        TestContext.Current.TestOutputHelper?.WriteLine(text);

        // what the plugin gets: the sandbox id as container id, the pod's name in CNI_ARGS
        Assert.Equal(sandboxId, containerId);
        var args = ParseArgs(env["CNI_ARGS"]);
        Assert.Equal("probe-ns", args["K8S_POD_NAMESPACE"]);
        Assert.Equal("probe-pod", args["K8S_POD_NAME"]);
        Assert.Equal(sandboxId, args["K8S_POD_INFRA_CONTAINER_ID"]);
        Assert.Equal(labels, after.Labels.ToDictionary());
        Assert.Equal(["ADD", "DEL", "DEL", "DEL"], ProbeRecords().Skip(before).Select(r => r[(r.LastIndexOf('-') + 1)..]));
        Assert.StartsWith(Path.Combine(lab.HostDir(CriLabFixture.ProbeHost), "containerd", "state", "io.containerd.grpc.v1.cri", "netns", "cni-"), env["CNI_NETNS"], StringComparison.Ordinal);

        // (a) containerd 1.6 adds the sandbox to its CRI store only after the network is set up:
        // during ADD, CRI does not know the pod, so CRI cannot tell the plugin its labels
        Assert.StartsWith("NotFound", statusDuringAdd, StringComparison.Ordinal);
        Assert.Equal("null (not found)", labelSourceDuringAdd);

        // (c) the pod's annotations do reach the plugin, through the capability
        using var stdin = JsonDocument.Parse(await File.ReadAllTextAsync(add + ".stdin", ct));
        var passed = stdin.RootElement.GetProperty("runtimeConfig").GetProperty("io.kubernetes.cri.pod-annotations");
        Assert.Equal(annotations, passed.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!));

        // (d) containerd's own container record of the sandbox exists during ADD, with the pod's labels
        using var sandboxRecord = JsonDocument.Parse(info.Stdout);
        var recordLabels = sandboxRecord.RootElement.GetProperty("Labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.All(labels, label => Assert.Equal(label.Value, recordLabels.GetValueOrDefault(label.Key)));
        Assert.Equal("sandbox", recordLabels.GetValueOrDefault("io.cri-containerd.kind"));
        Assert.Equal(labels, containerdLabels);
    }

    private List<string> ProbeRecords() =>
        Directory.Exists(lab.ProbeDir)
            ? [.. Directory.GetFiles(lab.ProbeDir, "*.env").Order(StringComparer.Ordinal).Select(f => f[..^4])]
            : [];

    private async Task<string> WaitForRecordAsync(string command, int after, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline)
        {
            var found = ProbeRecords().Skip(after).FirstOrDefault(r => r.EndsWith("-" + command, StringComparison.Ordinal));
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(50, ct);
        }

        throw new TimeoutException($"the probe plugin recorded no {command} within {Wait.TotalSeconds:0} s");
    }

    internal static Dictionary<string, string> ReadEnv(string path) =>
        File.ReadAllLines(path).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);

    internal static Dictionary<string, string> ParseArgs(string cniArgs) =>
        cniArgs.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    private static string Show(IEnumerable<KeyValuePair<string, string>> map) => "{" + string.Join(", ", map.Select(kv => $"{kv.Key}={kv.Value}")) + "}";

    private static string Squeeze(string text, int max)
    {
        var flat = JsonEncodedText.Encode(text.ReplaceLineEndings(" ")).ToString();
        return flat.Length <= max ? flat : flat[..max] + "...";
    }
}
