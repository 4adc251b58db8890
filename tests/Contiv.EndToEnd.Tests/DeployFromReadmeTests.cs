using System.Text;
using System.Text.RegularExpressions;
using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// A bare two-host lab (dockerd only, the image also tagged <c>busybox</c>) on which the README's
/// "Deploy on your hosts" section is carried out as an operator would: nothing of ContivDocker runs
/// until the test runs the README's own command lines.
/// </summary>
public sealed class ReadmeLabFixture() : ScriptedLabFixture("/tmp/contiv-e2e-readme", "cr", new Dictionary<string, string> { ["LAB_IMAGE_ALIASES"] = "busybox:latest" })
{
    protected override async Task StartAsync()
    {
        await BashAsync("contiv_down >/dev/null 2>&1 || true", TimeSpan.FromMinutes(2));
        var up = await BashAsync("lab_up 2", TimeSpan.FromMinutes(4));
        if (up.ExitCode != 0)
        {
            await StopAsync();
            throw new InvalidOperationException("README lab failed to start:\n" + up.Output);
        }
    }

    protected override async Task StopAsync()
    {
        await BashAsync("for h in $(lab_hosts); do ids=$(lab_docker $h ps -aq 2>/dev/null) || continue; [ -z \"$ids\" ] || lab_docker $h rm -f $ids >/dev/null 2>&1 || true; done", TimeSpan.FromMinutes(1));
        await BashAsync("contiv_down", TimeSpan.FromMinutes(2));
    }
}

[CollectionDefinition(nameof(ReadmeLab))]
public sealed class ReadmeLab : ICollectionFixture<ReadmeLabFixture>;

/// <summary>
/// The README's deployment path works as written: each <c>sh deploy:NAME</c> block's command lines
/// run unchanged from <c>/</c> on the lab hosts (daemons in the foreground, as a unit runs them),
/// with the variables of the <c>deploy:env</c> block set to the lab's addresses. The only
/// adaptations are the lab's, said where they happen: the engine socket is not the default one
/// (DOCKER_HOST, which the README names for that case), the programs are the build's (PATH), and
/// <c>systemctl restart docker</c> restarts the lab's dockerd.
/// </summary>
[Collection(nameof(ReadmeLab))]
public sealed partial class DeployFromReadmeTests(ReadmeLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^```sh deploy:(?<name>[a-z]+)\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex DeployBlock();

    [GeneratedRegex(@"^(?<name>[A-Z_]+)=\S*", RegexOptions.Multiline)]
    private static partial Regex EnvAssignment();

    /// <summary>The README's deploy blocks by name: their command lines, comments and blank lines dropped.</summary>
    public static Dictionary<string, List<string>> ReadDeployBlocks()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        return DeployBlock().Matches(readme).ToDictionary(
            m => m.Groups["name"].Value,
            m => m.Groups["body"].Value.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList());
    }

    [Fact]
    public void The_readme_has_every_deploy_step()
    {
        var blocks = ReadDeployBlocks();
        Assert.Equal(["docker", "env", "netplugin", "store", "use"], blocks.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["STORE_IP", "HOST_IP", "UPSTREAM_DNS"], blocks["env"].Select(l => EnvAssignment().Match(l).Groups["name"].Value));
    }

    [Fact]
    public async Task Hosts_deployed_from_the_readme_resolve_names_across_hosts_on_a_network_with_a_gateway()
    {
        lab.SkipIfUnavailable();
        var blocks = ReadDeployBlocks();
        var storeIp = await HostIpAsync("h1");
        var outside = (await lab.BashAsync("echo \"$LAB_EXT_IP\"")).EnsureSuccess("the lab's outside address").Stdout.Trim();

        // Every host: the operator's variables, then dockerd's settings (which restart dockerd).
        foreach (var host in new[] { "h1", "h2" })
        {
            // The upstream resolver is the lab's "outside" address: nothing answers there, and
            // nothing the lab's containers ask leaves the lab's namespaces.
            var env = EnvAssignment().Replace(string.Join('\n', blocks["env"]), m => m.Groups["name"].Value switch
            {
                "STORE_IP" => $"STORE_IP={storeIp}",
                "HOST_IP" => $"HOST_IP={HostIpAsync(host).GetAwaiter().GetResult()}",
                _ => $"UPSTREAM_DNS={outside}",
            });
            Directory.CreateDirectory(Path.Combine(LabDir, "readme"));
            await File.WriteAllTextAsync(Path.Combine(LabDir, "readme", $"{host}-env.sh"), env + "\n");
            foreach (var line in blocks["docker"])
            {
                if (line == "systemctl restart docker")
                {
                    (await lab.BashAsync($"lab_dockerd_stop {host} && lab_dockerd_start {host}", TimeSpan.FromMinutes(2))).EnsureSuccess($"restart dockerd on {host}");
                    continue;
                }

                (await RunLineAsync(host, line)).EnsureSuccess($"{host}: {line}");
            }
        }

        // The store host's daemons, in order, each waited for.
        var store = blocks["store"];
        Assert.StartsWith("redis-server ", store[0], StringComparison.Ordinal);
        await StartDaemonAsync("h1", "redis", store[0], $"lab_exec h1 redis-cli -h {storeIp} ping | grep -q PONG");
        Assert.StartsWith("netmaster ", store[1], StringComparison.Ordinal);
        await StartDaemonAsync("h1", "netmaster", store[1], $"{Script("h1", "netctl global info")} >/dev/null 2>&1");

        foreach (var host in new[] { "h1", "h2" })
        {
            await StartDaemonAsync(host, "netplugin", Assert.Single(blocks["netplugin"]), $"test -S \"$(lab_plugins_dir {host})/netplugin.sock\"");
        }

        // Use it: on the store host, as the README says; then the tutorial's check from the other host.
        foreach (var line in blocks["use"])
        {
            (await RunLineAsync("h1", line)).EnsureSuccess($"h1: {line}");
        }

        await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync("h2", "network inspect contiv-net"), r => r.ExitCode == 0, Converge, "contiv-net on h2");
        (await lab.DockerAsync("h2", "run -itd --name=contiv-c2 --net=contiv-net busybox /bin/sh")).EnsureSuccess("docker run contiv-c2 on h2");
        var ping = await ContivLabFixture.EventuallyAsync(
            () => lab.DockerAsync("h2", "exec contiv-c2 ping -c 3 -W 2 contiv-c1"), r => r.ExitCode == 0, Converge, "contiv-c2 pings contiv-c1 by name");
        Assert.Contains("PING contiv-c1 (10.1.2.1)", ping.Stdout, StringComparison.Ordinal);
        var back = await ContivLabFixture.EventuallyAsync(
            () => lab.DockerAsync("h1", "exec contiv-c1 ping -c 1 -W 2 contiv-c2"), r => r.ExitCode == 0, Converge, "contiv-c1 pings contiv-c2 by name");
        Assert.Contains("PING contiv-c2 (10.1.2.2)", back.Stdout, StringComparison.Ordinal);

        // The daemons run from / (as systemd starts them) and hold no filesystem watches there.
        foreach (var (host, daemon) in new[] { ("h1", "netmaster"), ("h1", "netplugin"), ("h2", "netplugin") })
        {
            var cwd = (await lab.BashAsync($"readlink /proc/$(lab_daemon_pid {host} {daemon})/cwd")).EnsureSuccess($"cwd of {daemon} on {host}");
            Assert.Equal("/", cwd.Stdout.Trim());
        }

        // A host whose dockerd asks another nameserver first: netplugin says so and does not start.
        var misconfigured = await lab.BashAsync(
            $"cd / && rc=0 && lab_exec h2 \"$CONTIV_ARTIFACTS/netplugin/netplugin\" --host h2 --vtep-ip \"$(lab_host_ip h2)\" --dns-listen 192.0.2.53 " +
            "--docker-endpoint \"$(lab_docker_host h2)\" --socket \"$LAB_DIR/readme/unused.sock\" --state-dir \"$LAB_DIR/readme/unused-state\" " +
            "--cluster-store \"redis://$(lab_host_ip h1):6379\" || rc=$?; echo \"exit=$rc\"");
        Assert.Contains("exit=2", misconfigured.Stdout, StringComparison.Ordinal);
        Assert.Contains("not first to this host's DNS responder 192.0.2.53", misconfigured.Stderr, StringComparison.Ordinal);
        Assert.Contains("--dns 192.0.2.53", misconfigured.Stderr, StringComparison.Ordinal);
    }

    private async Task<string> HostIpAsync(string host) => (await lab.BashAsync($"lab_host_ip {host}")).EnsureSuccess("lab_host_ip").Stdout.Trim();

    /// <summary>
    /// A shell command line as the operator types it on <paramref name="host"/>, from <c>/</c>, with the
    /// env block's variables set; the build's programs on PATH and the lab engine's socket in DOCKER_HOST.
    /// </summary>
    private string Script(string host, string line)
    {
        var artifacts = Path.Combine(Repo.Root, "artifacts");
        var prelude = new StringBuilder()
            .Append($"cd / && . {LabDir}/readme/{host}-env.sh && ")
            .Append($"PATH={artifacts}/netplugin:{artifacts}/netmaster:{artifacts}/netctl:$PATH ")
            .Append($"DOCKER_HOST=unix://{LabDir}/{host}/docker.sock && export PATH DOCKER_HOST && ");
        return $"lab_exec {host} sh -c {ShellQuote(prelude + line)}";
    }

    private string LabDir => lab.Env["LAB_DIR"];

    private Task<CommandResult> RunLineAsync(string host, string line) => lab.BashAsync(Script(host, line), TimeSpan.FromMinutes(2));

    /// <summary>Starts a daemon line in the foreground under the lab (its PID recorded, stopped with the lab) and waits until <paramref name="ready"/> holds.</summary>
    private async Task StartDaemonAsync(string host, string name, string line, string ready)
    {
        var script = Script(host, "exec " + line)[$"lab_exec {host} ".Length..];
        (await lab.BashAsync($"lab_start_daemon {host} {name} {script}")).EnsureSuccess($"start {name} on {host}: {line}");
        var wait = await lab.BashAsync($"lab_wait_for {ShellQuote(ready)} 30 0.2", TimeSpan.FromMinutes(1));
        if (wait.ExitCode != 0)
        {
            var log = await lab.BashAsync($"tail -n 30 \"$(lab_host_dir {host})/{name}.log\"");
            Assert.Fail($"{name} on {host} not ready ({line}):\n{wait.Output}\n{log.Output}");
        }
    }

    private static string ShellQuote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
