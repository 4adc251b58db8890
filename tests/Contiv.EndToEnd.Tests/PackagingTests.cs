using System.Text;
using System.Text.RegularExpressions;
using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// A two-host lab running ContivDocker as it is shipped rather than from the build tree: the node
/// image (Dockerfile, target prebuilt, built by scripts/image-build.sh on h1's engine over a local
/// stand-in for dotnet/runtime-deps, since this machine has no registry) and the programs and
/// systemd units installed by scripts/systemd/install.sh into a staging root. Redis on h1.
/// </summary>
public sealed class PackagingLabFixture() : ScriptedLabFixture("/tmp/contiv-e2e-packaging", "cp")
{
    public const string Image = "contiv/contiv:latest";
    public const string StandIn = "contiv-local/runtime-deps:10.0";

    /// <summary>Where install.sh put programs, units and /etc/default files (DESTDIR, inside the lab dir).</summary>
    public string InstallRoot => Path.Combine(Env["LAB_DIR"], "install");

    protected override async Task StartAsync()
    {
        // The native publish is cached by source state: a rerun returns at once.
        var publish = await BashAsync($"'{Repo.Root}/scripts/image-build.sh' publish", TimeSpan.FromMinutes(15));
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException("scripts/image-build.sh publish failed:\n" + publish.Output);
        }

        await BashAsync("contiv_down >/dev/null 2>&1 || true", TimeSpan.FromMinutes(2));
        var up = await BashAsync(
            $"""
            lab_up 2
            contiv_start_redis
            export DOCKER_HOST="$(lab_docker_host h1)"
            STAND_IN_IMAGE={StandIn} '{Repo.Root}/scripts/image-build.sh' stand-in >/dev/null
            IMAGE={Image} RUNTIME_IMAGE={StandIn} '{Repo.Root}/scripts/image-build.sh' prebuilt
            DESTDIR='{InstallRoot}' '{Repo.Root}/scripts/systemd/install.sh'
            """, TimeSpan.FromMinutes(6));
        if (up.ExitCode != 0)
        {
            await StopAsync();
            throw new InvalidOperationException("packaging lab failed to start:\n" + up.Output);
        }
    }

    protected override async Task StopAsync()
    {
        // Application containers first, while the netplugin container can still answer for them.
        await BashAsync(
            """
            for h in $(lab_hosts); do
              all=$(lab_docker $h ps -aq 2>/dev/null) || continue
              roles=$(lab_docker $h ps -aq --filter label=contiv.test.role 2>/dev/null) || true
              apps=$(printf '%s\n' $all | grep -vxF -e "${roles:-none}" || true)
              [ -z "$apps" ] || lab_docker $h rm -f $apps >/dev/null 2>&1 || true
            done
            """, TimeSpan.FromMinutes(1));
        await BashAsync("contiv_down", TimeSpan.FromMinutes(2));
    }

}

[CollectionDefinition(nameof(PackagingLab))]
public sealed class PackagingLab : ICollectionFixture<PackagingLabFixture>;

/// <summary>
/// The shipped forms work: netmaster, netplugin and netctl from the image (netplugin in a host-network
/// container with the plugin directory, the engine socket and a shared state mount), netplugin and
/// netmaster started with exactly the command lines of the installed systemd units, and containers
/// on a Contiv network across them get addresses and ping each other.
/// </summary>
[Collection(nameof(PackagingLab))]
public sealed class PackagingTests(PackagingLabFixture lab)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Image_holds_the_three_programs_and_defaults_to_netplugin_help()
    {
        lab.SkipIfUnavailable();
        var help = (await lab.DockerAsync("h1", $"run --rm {PackagingLabFixture.Image}")).EnsureSuccess("docker run IMAGE (default command)");
        Assert.Contains("ContivDocker netplugin", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("CONTIV_CLUSTER_STORE", help.Stdout, StringComparison.Ordinal);
        var master = (await lab.DockerAsync("h1", $"run --rm {PackagingLabFixture.Image} netmaster --help")).EnsureSuccess("netmaster --help in the image");
        Assert.Contains("ContivDocker netmaster", master.Stdout, StringComparison.Ordinal);

        // netctl in the image speaks to nothing here: its version needs no server.
        var version = await lab.DockerAsync("h1", $"run --rm {PackagingLabFixture.Image} netctl version");
        Assert.Contains("Client Version", version.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_on_h1_and_systemd_command_lines_on_h2_connect_containers_on_a_contiv_network()
    {
        lab.SkipIfUnavailable();
        const string Net = "pkg-net";
        var image = PackagingLabFixture.Image;
        var netctl = $"lab_docker h1 run --rm --network host {image} netctl";

        // h1: netmaster and netplugin from the image, as the README shows.
        (await lab.BashAsync(
            $"""
            lab_docker h1 run -d --name contiv-netmaster --label contiv.test.role=netmaster --network host {image} \
              netmaster --cluster-store "$(contiv_store_url)" >/dev/null
            lab_wait_for "{netctl} global info" 60 0.5
            """, TimeSpan.FromMinutes(2))).EnsureSuccess("netmaster from the image on h1");
        (await lab.BashAsync(
            $"""
            state="$(lab_host_dir h1)/image-state"
            # netplugin bind-mounts each network's namespace under its state dir: the mount must be
            # shared so those mounts reach the host and outlive the container (on a systemd host /run is)
            lab_exec h1 sh -c "mkdir -p '$state' && mount --bind '$state' '$state' && mount --make-shared '$state'"
            lab_docker h1 run -d --name contiv-netplugin --label contiv.test.role=netplugin --network host \
              --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW \
              --security-opt systempaths=unconfined --security-opt apparmor=unconfined \
              -v "$(lab_plugins_dir h1):/run/docker/plugins" -v "$(lab_sock h1):/var/run/docker.sock" \
              -v "$state:/var/run/contiv:rshared" \
              {image} netplugin --host h1 --vtep-ip "$(lab_host_ip h1)" --vlan-if eth2 --cluster-store "$(contiv_store_url)" >/dev/null
            lab_wait_for "test -S $(lab_plugins_dir h1)/netplugin.sock" 60 0.2
            """, TimeSpan.FromMinutes(2))).EnsureSuccess("netplugin from the image on h1");

        // h2: netplugin exactly as netplugin.service starts it, with a lab /etc/default/netplugin.
        var store = (await lab.BashAsync("contiv_store_url")).EnsureSuccess("store url").Stdout.Trim();
        var h2Ip = (await lab.BashAsync("lab_host_ip h2")).Stdout.Trim();
        var labDir = lab.Env["LAB_DIR"];
        await StartUnitAsync("h2", "netplugin",
            $"NETPLUGIN_ARGS=\"--host h2 --vtep-ip {h2Ip} --vlan-if eth2 --cluster-store {store} " +
            $"--docker-endpoint unix://{labDir}/h2/docker.sock --state-dir {labDir}/h2/run\"\n");
        (await lab.BashAsync("lab_wait_for \"test -S $(lab_plugins_dir h2)/netplugin.sock\" 60 0.2", TimeSpan.FromMinutes(2)))
            .EnsureSuccess("netplugin.service's command line on h2");

        (await lab.BashAsync($"{netctl} net create --subnet=10.1.7.0/24 {Net}")).EnsureSuccess("netctl (image) net create");
        (await lab.BashAsync($"contiv_wait_docker_network h1 {Net} && contiv_wait_docker_network h2 {Net}")).EnsureSuccess("Docker network on both hosts");

        (await lab.DockerAsync("h1", $"run -d --name c1 --net {Net} contiv/busybox sleep 600")).EnsureSuccess("docker run on h1");
        (await lab.DockerAsync("h2", $"run -d --name c2 --net {Net} contiv/busybox sleep 600")).EnsureSuccess("docker run on h2");
        var c1 = await AddressAsync("h1", "c1");
        var c2 = await AddressAsync("h2", "c2");
        Assert.StartsWith("10.1.7.", c1, StringComparison.Ordinal);
        Assert.StartsWith("10.1.7.", c2, StringComparison.Ordinal);
        Assert.NotEqual(c1, c2);
        await PingAsync("h1", "c1", c2);
        await PingAsync("h2", "c2", c1);
        await PingAsync("h2", "c2", "c1");

        // The network's namespace lives on the host (shared state mount), not in the container:
        // restarting the netplugin container keeps traffic, and a new container joins afterwards.
        (await lab.DockerAsync("h1", "restart -t 10 contiv-netplugin")).EnsureSuccess("docker restart contiv-netplugin");
        await PingAsync("h2", "c2", c1);
        (await lab.BashAsync("lab_wait_for \"test -S $(lab_plugins_dir h1)/netplugin.sock\" 60 0.2", TimeSpan.FromMinutes(2))).EnsureSuccess("netplugin back on h1");
        (await lab.DockerAsync("h1", $"run -d --name c3 --net {Net} contiv/busybox sleep 600")).EnsureSuccess("docker run on h1 after the plugin restart");
        await PingAsync("h1", "c3", c2);

        // netmaster exactly as netmaster.service starts it (on h2's loopback), answering the
        // installed netctl with the cluster's state.
        await StartUnitAsync("h2", "netmaster", $"NETMASTER_ARGS=\"--cluster-store {store} --listen-url 127.0.0.1:9999\"\n");
        var installedNetctl = Path.Combine(lab.InstallRoot, "usr/local/bin/netctl");
        var list = await ContivLabFixture.EventuallyAsync(() => lab.BashAsync($"lab_exec h2 '{installedNetctl}' net ls"),
            r => r.ExitCode == 0 && r.Stdout.Contains(Net, StringComparison.Ordinal), Converge, "netmaster.service's command line answering netctl on h2");
        Assert.Contains("10.1.7.0/24", list.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_install_puts_contivk8s_in_the_cni_bin_dir_with_its_configuration()
    {
        lab.SkipIfUnavailable();
        var plugin = Path.Combine(lab.InstallRoot, "opt/cni/bin/contivk8s");
        Assert.True(File.Exists(plugin), $"{plugin} missing");
        var version = await Shell.RunAsync(plugin, [], TimeSpan.FromSeconds(20), new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" });
        Assert.Equal(0, version.ExitCode);
        Assert.Contains("\"1.0.0\"", version.Stdout, StringComparison.Ordinal);

        using var conflist = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(lab.InstallRoot, "etc/cni/net.d/10-contiv.conflist")));
        var entry = conflist.RootElement.GetProperty("plugins")[0];
        Assert.Equal("contivk8s", entry.GetProperty("type").GetString());
        Assert.Equal("/run/contiv/contiv-cni.sock", entry.GetProperty("socket").GetString());
    }

    [Fact]
    public async Task Systemd_units_pass_systemd_analyze_verify()
    {
        lab.SkipIfUnavailable();
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            Prerequisite.MissingPackage("systemd-analyze", "systemd");
        }

        // verify also checks that ExecStart's program exists: point it at the staged install.
        var dir = Directory.CreateTempSubdirectory("contiv-units-").FullName;
        try
        {
            var units = new List<string>();
            foreach (var unit in new[] { "netplugin", "netmaster" })
            {
                var text = await File.ReadAllTextAsync(Path.Combine(lab.InstallRoot, $"etc/systemd/system/{unit}.service"));
                var path = Path.Combine(dir, $"{unit}.service");
                await File.WriteAllTextAsync(path, text.Replace("/usr/local/bin/", lab.InstallRoot + "/usr/local/bin/", StringComparison.Ordinal));
                units.Add(path);
            }

            var verify = await Shell.RunAsync("/usr/bin/systemd-analyze", ["verify", .. units], TimeSpan.FromSeconds(60));
            Assert.True(verify.ExitCode == 0 && verify.Output.Length == 0, $"systemd-analyze verify: exit {verify.ExitCode}\n{verify.Output}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Image_builds_from_source_in_the_sdk_stage()
    {
        lab.SkipIfUnavailable();
        const string Sdk = "mcr.microsoft.com/dotnet/sdk:10.0";
        const string Runtime = "mcr.microsoft.com/dotnet/runtime-deps:10.0";
        var present = await lab.BashAsync($"lab_docker h1 image inspect {Sdk} {Runtime} >/dev/null 2>&1");
        if (present.ExitCode != 0)
        {
            Prerequisite.Impossible($"the Dockerfile's SDK stage needs {Sdk} and {Runtime}, and this machine has no registry to pull them from " +
                "(load both into the engine to run this test); the image was built from host-published binaries (--target prebuilt) instead");
        }

        (await lab.BashAsync($"DOCKER_HOST=\"$(lab_docker_host h1)\" IMAGE=contiv/contiv:sdk '{Repo.Root}/scripts/image-build.sh' sdk", TimeSpan.FromMinutes(20)))
            .EnsureSuccess("scripts/image-build.sh sdk");
        var help = (await lab.DockerAsync("h1", "run --rm contiv/contiv:sdk netplugin --help")).EnsureSuccess("netplugin from the SDK-built image");
        Assert.Contains("ContivDocker netplugin", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Unit_command_lines_expand_like_systemd()
    {
        var env = SystemdUnit.ParseEnvironmentFile("# comment\nA=\"--x 1  --y 2\"\n\nB='two words'\nEMPTY=\n");
        Assert.Equal(new[] { "/bin/p", "--x", "1", "--y", "2" }, SystemdUnit.ExpandExecStart("/bin/p $A", env));
        Assert.Equal(new[] { "/bin/p" }, SystemdUnit.ExpandExecStart("/bin/p $EMPTY", env));
        Assert.Equal(new[] { "/bin/p", "--n=two words", "two words", "a b" }, SystemdUnit.ExpandExecStart("-/bin/p --n=${B} ${B} \"a b\"", env));
        Assert.Equal("/usr/local/bin/netplugin $NETPLUGIN_ARGS", SystemdUnit.ExecStart("[Unit]\nA=b\n[Service]\nExecStartPre=/bin/true\nExecStart=/usr/local/bin/netplugin $NETPLUGIN_ARGS\n"));
    }

    /// <summary>
    /// Starts UNIT's ExecStart on a lab host as systemd would: the installed unit's command line,
    /// expanded with an EnvironmentFile holding ENVFILE, whose variables are also in the environment.
    /// The program path is the installed one, inside the staging root.
    /// </summary>
    private async Task StartUnitAsync(string host, string unit, string envFile)
    {
        var unitText = await File.ReadAllTextAsync(Path.Combine(lab.InstallRoot, $"etc/systemd/system/{unit}.service"));
        var shipped = await File.ReadAllTextAsync(Path.Combine(lab.InstallRoot, $"etc/default/{unit}"));
        Assert.Contains(unit.ToUpperInvariant() + "_ARGS=", shipped, StringComparison.Ordinal);
        var env = SystemdUnit.ParseEnvironmentFile(envFile);
        var argv = SystemdUnit.ExpandExecStart(SystemdUnit.ExecStart(unitText), env);
        Assert.StartsWith("/usr/local/bin/", argv[0], StringComparison.Ordinal);
        argv[0] = lab.InstallRoot + argv[0];
        var envArgs = env.Select(kv => $"{kv.Key}={kv.Value}");
        (await lab.BashAsync($"lab_start_daemon {host} {unit}-unit env {ShellQuote([.. envArgs, .. argv])}")).EnsureSuccess($"{unit}.service's ExecStart on {host}");
    }

    private async Task<string> AddressAsync(string host, string container)
    {
        var r = (await lab.DockerAsync(host, $"exec {container} ip -o -4 addr show eth0")).EnsureSuccess($"address of {container}");
        return r.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => w != "inet").Skip(1).First().Split('/')[0];
    }

    private async Task PingAsync(string host, string container, string target)
    {
        var ping = await ContivLabFixture.EventuallyAsync(() => lab.DockerAsync(host, $"exec {container} ping -c 2 -W 2 {target}"), r => r.ExitCode == 0, Converge,
            $"ping {target} from {container} on {host}");
        Assert.Contains(", 0% packet loss", ping.Stdout, StringComparison.Ordinal);
    }

    private static string ShellQuote(IEnumerable<string> args) => string.Join(' ', args.Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
}

/// <summary>
/// The part of systemd's unit semantics the tests need to run a unit's ExecStart without systemd
/// (no PID 1 here): EnvironmentFile parsing and ExecStart's variable expansion (an unquoted $VAR word
/// splits into words, ${VAR} substitutes within a word and never splits, quotes group).
/// </summary>
public static partial class SystemdUnit
{
    /// <summary>The [Service] section's ExecStart command line.</summary>
    public static string ExecStart(string unitText)
    {
        var section = "";
        foreach (var raw in unitText.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line;
            }
            else if (section == "[Service]" && line.StartsWith("ExecStart=", StringComparison.Ordinal))
            {
                return line["ExecStart=".Length..];
            }
        }

        throw new InvalidOperationException("the unit has no ExecStart= in [Service]");
    }

    public static Dictionary<string, string> ParseEnvironmentFile(string text)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"not KEY=VALUE: {line}");
            }

            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && value[0] is '"' or '\'' && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            env[line[..eq].Trim()] = value;
        }

        return env;
    }

    public static List<string> ExpandExecStart(string commandLine, IReadOnlyDictionary<string, string> env)
    {
        // leading prefixes: - (ignore failure), @, :, +, ! (privilege and argv0 modifiers)
        var line = commandLine.TrimStart().TrimStart('-', '@', ':', '+', '!');
        var argv = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (char.IsWhiteSpace(c))
            {
                Flush();
                continue;
            }

            inWord = true;
            if (c is '"' or '\'')
            {
                var end = line.IndexOf(c, i + 1);
                if (end < 0)
                {
                    throw new FormatException($"unbalanced quote in: {commandLine}");
                }

                word.Append(Substitute(line[(i + 1)..end], env));
                i = end;
            }
            else
            {
                var next = i;
                while (next < line.Length && !char.IsWhiteSpace(line[next]) && line[next] is not '"' and not '\'')
                {
                    next++;
                }

                var token = line[i..next];
                var whole = WholeVariable().Match(token);
                if (whole.Success && word.Length == 0 && (next == line.Length || char.IsWhiteSpace(line[next])))
                {
                    // $VAR on its own: the value's words become separate arguments
                    argv.AddRange(env.GetValueOrDefault(whole.Groups[1].Value, "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
                    inWord = false;
                }
                else
                {
                    word.Append(Substitute(token, env));
                }

                i = next - 1;
            }
        }

        Flush();
        return argv;

        void Flush()
        {
            if (inWord)
            {
                argv.Add(word.ToString());
            }

            word.Clear();
            inWord = false;
        }
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> env) =>
        BracedVariable().Replace(text, m => env.GetValueOrDefault(m.Groups[1].Value, ""));

    [GeneratedRegex(@"^\$([A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex WholeVariable();

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex BracedVariable();
}
