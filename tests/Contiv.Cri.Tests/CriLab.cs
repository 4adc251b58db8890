using Contiv.TestSupport;

namespace Contiv.Cri.Tests;

/// <summary>
/// A namespace lab of two hosts, each with its own containerd and CRI plugin (scripts/lib/cri.sh):
/// h1 networks pods with the reference plugins (bridge + host-local), h2 with the recording probe
/// plugin (cni-probe.sh). Own prefix, directory and subnet, so it runs beside the Contiv lab.
/// </summary>
public sealed class CriLabFixture : IAsyncLifetime
{
    public const string Image = "docker.io/contiv/cri-busybox:latest";
    public const string BridgeHost = "h1";
    public const string ProbeHost = "h2";

    /// <summary>The pods' subnet on h1's bridge (inside h1's network namespace only).</summary>
    public const string BridgeSubnet = "10.88.7.0/24";

    public string LabDir { get; } = Environment.GetEnvironmentVariable("CRI_LAB_DIR") ?? "/tmp/contiv-cri-lab";

    public string? SkipReason { get; private set; }

    private bool _started;

    public Dictionary<string, string> Env => new()
    {
        ["LAB_DIR"] = LabDir,
        ["LAB_PREFIX"] = Environment.GetEnvironmentVariable("CRI_LAB_PREFIX") ?? "cr",
        ["LAB_SUBNET_BASE"] = "192.168.7",
        ["LAB_BIP_BASE"] = "172.29",
        ["LAB_QUIET"] = "1",

        // The hosts' dockerd only serves to build the image: without its iptables rules (FORWARD
        // policy DROP) the pods' bridged traffic is not filtered by br_netfilter.
        ["LAB_DOCKERD_ARGS"] = "--iptables=false --ip6tables=false",
    };

    public string Socket(string host) => Path.Combine(LabDir, host, "containerd", "containerd.sock");

    public string HostDir(string host) => Path.Combine(LabDir, host);

    /// <summary>Where the probe plugin on <see cref="ProbeHost"/> records its calls.</summary>
    public string ProbeDir => Path.Combine(LabDir, ProbeHost, "cni", "probe");

    public async ValueTask InitializeAsync()
    {
        SkipReason = Prerequisites();
        if (SkipReason is not null)
        {
            return;
        }

        await BashAsync("cri_stop_containerd h1 >/dev/null 2>&1; cri_stop_containerd h2 >/dev/null 2>&1; lab_down >/dev/null 2>&1 || true");
        var probe = Path.Combine(AppContext.BaseDirectory, "cni-probe.sh");
        var bridgeConf = $$$"""
            {"cniVersion":"1.0.0","name":"cri-bridge","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
             "ipam":{"type":"host-local","dataDir":"{{{LabDir}}}/h1/cni/ipam","ranges":[[{"subnet":"{{{BridgeSubnet}}}"}]]}}]}
            """;
        var probeConf = """
            {"cniVersion":"1.0.0","name":"cri-probe","plugins":[{"type":"cni-probe","capabilities":{"io.kubernetes.cri.pod-annotations":true}}]}
            """;
        var up = await BashAsync(
            $$"""
            lab_up 2
            mkdir -p "$LAB_DIR"/h1/cni/net.d "$LAB_DIR"/h2/cni/net.d
            printf '%s\n' '{{bridgeConf.ReplaceLineEndings(" ")}}' >"$LAB_DIR"/h1/cni/net.d/10-bridge.conflist
            printf '%s\n' '{{probeConf.Trim()}}' >"$LAB_DIR"/h2/cni/net.d/10-probe.conflist
            cri_install_reference_plugins h1 bridge host-local loopback
            cri_install_reference_plugins h2 loopback
            install -m 755 '{{probe}}' "$LAB_DIR"/h2/cni/bin/cni-probe
            cri_start_containerd h1
            cri_start_containerd h2
            """, TimeSpan.FromMinutes(3));
        _started = true;
        if (up.ExitCode != 0)
        {
            var logs = await BashAsync("tail -n 30 \"$LAB_DIR\"/h*/containerd.log 2>/dev/null || true");
            await DisposeAsync();
            throw new InvalidOperationException($"CRI lab did not start:\n{up.Output}\n{logs.Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            _started = false;
            await BashAsync("cri_stop_containerd h1; cri_stop_containerd h2; lab_down", TimeSpan.FromMinutes(2));
        }
    }

    public void SkipIfUnavailable()
    {
        if (SkipReason is not null)
        {
            Prerequisite.Missing(SkipReason);
        }
    }

    public CriRuntimeClient Client(string host) => CriRuntimeClient.ForUnixSocket(Socket(host), TimeSpan.FromSeconds(90));

    /// <summary>Runs a bash snippet with scripts/lib/lab.sh and cri.sh sourced and this lab's variables set.</summary>
    public Task<CommandResult> BashAsync(string script, TimeSpan? timeout = null) =>
        CommandRunner.RunAsync("bash", ["-c", $"set -euo pipefail; source '{RepoRoot}/scripts/lib/lab.sh'; source '{RepoRoot}/scripts/lib/cri.sh'; {script}"],
            timeout ?? TimeSpan.FromSeconds(120), Env);

    public static string RepoRoot { get; } = FindRoot();

    private static string? Prerequisites()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "the CRI lab needs Linux and root (network namespaces, containerd)";
        }

        foreach (var (program, package) in new[]
        {
            ("/usr/bin/containerd", "containerd"), ("/usr/bin/ctr", "containerd"), ("/usr/sbin/runc", "runc"),
            ("/usr/sbin/dockerd", "docker.io"), ("/bin/busybox", "busybox-static"),
            ("/usr/lib/cni/bridge", "containernetworking-plugins"), ("/usr/lib/cni/host-local", "containernetworking-plugins"),
        })
        {
            if (!File.Exists(program))
            {
                return $"{program} is not installed: install the Debian package {package} (scripts/install-deps.sh)";
            }
        }

        return null;
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ContivDocker.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("cannot find the repository root (ContivDocker.sln)");
    }

}

[CollectionDefinition(Name)]
public sealed class CriLabGroup : ICollectionFixture<CriLabFixture>
{
    public const string Name = "CRI lab";
}
