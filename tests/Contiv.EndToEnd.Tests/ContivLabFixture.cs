using System.Text.Json;
using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// A real two-host ContivDocker cluster on this machine: network-namespace hosts with their own
/// dockerd, Redis and netmaster on h1, netplugin on every host (scripts/lib/contiv.sh). Shared by
/// the tests of one collection and torn down at the end, also after failures.
/// </summary>
public class ContivLabFixture : IAsyncLifetime
{
    private readonly string _prefix;
    private readonly int _hosts;
    private readonly int _vxlanPort;

    public ContivLabFixture()
        : this(Environment.GetEnvironmentVariable("LAB_PREFIX") ?? "ce", Environment.GetEnvironmentVariable("LAB_DIR") ?? "/tmp/contiv-e2e-lab", hosts: 3, vxlanPort: 4789)
    {
    }

    protected ContivLabFixture(string prefix, string labDir, int hosts, int vxlanPort)
    {
        _prefix = prefix;
        LabDir = labDir;
        _hosts = hosts;
        _vxlanPort = vxlanPort;
    }

    /// <summary>Why the lab cannot run here, or null when it can.</summary>
    public string? SkipReason { get; private set; }

    public string LabDir { get; }

    public Dictionary<string, string> Env => new()
    {
        ["LAB_DIR"] = LabDir,
        ["LAB_PREFIX"] = _prefix,

        // Short enough for the reclaim tests to see it, long enough for a loaded docker run.
        ["CONTIV_NETPLUGIN_RECLAIM_AFTER"] = "15",
        ["CONTIV_NETMASTER_HOST_TIMEOUT"] = "12",
        ["CONTIV_VXLAN_PORT"] = _vxlanPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LAB_QUIET"] = "1",
    };

    public async ValueTask InitializeAsync()
    {
        SkipReason = Prerequisites();
        if (SkipReason is not null)
        {
            // scripts/test.sh sets this: in CI a missing prerequisite is a failure, never a skip.
            if (Prerequisite.Required)
            {
                throw new InvalidOperationException("end-to-end prerequisites missing: " + SkipReason);
            }

            return;
        }

        await Shell.ContivAsync("contiv_down >/dev/null 2>&1 || true", env: Env);
        var up = await Shell.ContivAsync($"contiv_up {_hosts}", TimeSpan.FromMinutes(4), Env);
        if (up.ExitCode != 0)
        {
            var logs = await Shell.ContivAsync("tail -n 30 \"$LAB_DIR\"/h*/*.log 2>/dev/null || true", env: Env);
            await DisposeAsync();
            throw new InvalidOperationException($"contiv_up failed:\n{up.Output}\n{logs.Output}");
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        if (SkipReason is null)
        {
            await Shell.ContivAsync("contiv_down", TimeSpan.FromMinutes(2), Env);
        }
    }

    public void SkipIfUnavailable()
    {
        if (SkipReason is not null)
        {
            Assert.Skip(SkipReason);
        }
    }

    public Task<CommandResult> DockerAsync(string host, params string[] args) =>
        Shell.ContivAsync($"lab_docker {host} {Quote(args)}", TimeSpan.FromSeconds(90), Env);

    public Task<CommandResult> NetCtlAsync(params string[] args) =>
        Shell.ContivAsync($"netctl {Quote(args)}", TimeSpan.FromSeconds(60), Env);

    public Task<CommandResult> ExecAsync(string host, string command) =>
        Shell.ContivAsync($"lab_exec {host} sh -c {Quote([command])}", TimeSpan.FromSeconds(60), Env);

    public Task<CommandResult> BashAsync(string script, TimeSpan? timeout = null) => Shell.ContivAsync(script, timeout, Env);

    /// <summary>Polls until the condition holds; fails with the last observation after the timeout.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> observe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        do
        {
            last = await observe();
            if (done(last))
            {
                return last;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:0} s; last: {last}");
    }

    public async Task<JsonElement> DockerInspectAsync(string host, string kind, string name)
    {
        var r = (await DockerAsync(host, kind, "inspect", name)).EnsureSuccess($"docker {kind} inspect {name} on {host}");
        return JsonDocument.Parse(r.Stdout).RootElement[0];
    }

    private static string Quote(IEnumerable<string> args) => string.Join(' ', args.Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    /// <summary>Why the lab cannot run on this machine (null when it can); shared by every lab fixture.</summary>
    internal static string? Prerequisites()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "end-to-end tests need Linux and root (network namespaces, dockerd)";
        }

        foreach (var tool in new[] { "/usr/sbin/dockerd", "/usr/bin/redis-server", "/bin/busybox" })
        {
            if (!File.Exists(tool))
            {
                return $"{tool} is missing: run scripts/install-deps.sh";
            }
        }

        var artifacts = Environment.GetEnvironmentVariable("CONTIV_ARTIFACTS") ?? Path.Combine(Repo.Root, "artifacts");
        return new[] { "netplugin", "netmaster", "netctl" }.All(p => File.Exists(Path.Combine(artifacts, p, p)))
            ? null
            : $"{artifacts} has no published programs: run scripts/build.sh first";
    }
}
