using System.Runtime.Versioning;
using Contiv.NetMaster.Tests;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary>
/// The completion scripts in the real shells: the script printed by the real netctl program is
/// sourced, COMP_WORDS/COMP_CWORD (and COMP_LINE/COMP_POINT where bash would set them) are set as
/// bash sets them on TAB, the completion function runs, and COMPREPLY is checked. netctl runs as a
/// child process (<c>dotnet exec Contiv.NetCtl.dll</c> behind a <c>netctl</c> on PATH) against a real netmaster.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ShellCompletionTests(TutorialNetMaster fixture) : IClassFixture<TutorialNetMaster>, IDisposable
{
    private const string BashHarness = """
        set -u
        source <(netctl completion bash) || exit 90
        complete -p netctl >/dev/null || exit 91
        COMP_WORDS=("$@")
        COMP_CWORD=$(( $# - 1 ))
        COMPREPLY=()
        _netctl_complete || exit 92
        for reply in "${COMPREPLY[@]}"; do printf '%s\n' "$reply"; done
        """;

    private readonly TempDirectory _bin = NetCtlOnPath();

    public void Dispose() => _bin.Dispose();

    /// <summary>A directory holding an executable <c>netctl</c> that runs the built netctl.</summary>
    private static TempDirectory NetCtlOnPath()
    {
        var bin = TempDirectory.Create("contiv-netctl-bin-");
        var script = bin.Combine("netctl");
        File.WriteAllText(script, $"#!/bin/sh\nexec '{DotNetHost.Path}' exec '{DotNetHost.BesideTests("Contiv.NetCtl.dll")}' \"$@\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return bin;
    }

    private static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    /// <summary>Runs <paramref name="harness"/> in <paramref name="shell"/> with <paramref name="words"/> as arguments; returns the printed lines.</summary>
    private async Task<List<string>> RunAsync(string shell, string[] shellArgs, string harness, string[] words, string netmaster, Dictionary<string, string>? extraEnvironment = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = $"{_bin.Path}:{Environment.GetEnvironmentVariable("PATH")}",
            ["NETMASTER"] = netmaster,
        };
        foreach (var (name, value) in extraEnvironment ?? [])
        {
            environment[name] = value;
        }

        await using var child = ChildProcess.Start(shell, [.. shellArgs, "-c", harness, shell, .. words], environment);
        var exitCode = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"{shell} exited {exitCode}: {child.StandardError}");
        return [.. child.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private Task<List<string>> BashAsync(params string[] words) => RunAsync("/bin/bash", ["--noprofile", "--norc"], BashHarness, words, fixture.Server.Url);

    private static string Closed() => $"http://127.0.0.1:{NetMasterServer.ClosedPort()}";

    [Fact]
    public async Task Bash_completes_subcommands()
    {
        var top = await BashAsync("netctl", "");
        Assert.Superset(new HashSet<string> { "tenant", "net", "network", "global", "endpoint", "ep", "host", "group", "policy", "netprofile", "version", "completion", "--json", "-j", "--netmaster" }, top.ToHashSet());
        Assert.DoesNotContain("/?", top);

        Assert.Equal(["net", "netprofile", "network"], (await BashAsync("netctl", "n")).Order(StringComparer.Ordinal));
        Assert.Equal(["rule-add", "rule-delete", "rule-list", "rule-ls", "rule-rm"], (await BashAsync("netctl", "policy", "ru")).Order(StringComparer.Ordinal));
        Assert.Equal(["inspect"], await BashAsync("netctl", "ep", "i"));
    }

    [Fact]
    public async Task Bash_completes_options_and_fixed_values()
    {
        Assert.Equal(["--encap"], await BashAsync("netctl", "net", "create", "--en"));
        Assert.Equal(["vlan", "vxlan"], (await BashAsync("netctl", "net", "create", "-e", "v")).Order(StringComparer.Ordinal));
        Assert.Equal(["routing"], await BashAsync("netctl", "global", "set", "--fwd-mode", "r"));
        Assert.Equal(["bash"], await BashAsync("netctl", "completion", "b"));
        Assert.Equal(["allow"], await BashAsync("netctl", "policy", "rule-add", "-j", "a"));
        Assert.Equal(["--ip-pool"], await BashAsync("netctl", "group", "create", "--ip"));
    }

    [Fact]
    public async Task Bash_completes_tenant_network_and_host_names_from_netmaster()
    {
        Assert.Equal(["blue"], await BashAsync("netctl", "tenant", "inspect", "b"));
        Assert.Equal(["blue"], await BashAsync("netctl", "net", "ls", "-t", "b"));
        Assert.Equal(["blue-db"], await BashAsync("netctl", "net", "inspect", "-t", "blue", "blue"));
        Assert.Equal(["contiv-net"], await BashAsync("netctl", "net", "rm", "c"));
        Assert.Equal(["node1"], await BashAsync("netctl", "host", "rm", "n"));

        var blue = await BashAsync("netctl", "net", "rm", "-t", "blue", "");
        Assert.Superset(new HashSet<string> { "blue-db", "contiv-net", "--json" }, blue.ToHashSet());
    }

    [Fact]
    public async Task Bash_uses_the_whole_line_so_a_netmaster_url_on_it_survives_word_splitting()
    {
        // bash splits the URL at ':' in COMP_WORDS; COMP_LINE keeps it whole. NETMASTER points nowhere,
        // so the names can only come from the URL on the line.
        var url = fixture.Server.Url;
        var line = $"netctl --netmaster {url} tenant inspect b";
        string[] words = ["netctl", "--netmaster", .. url.Replace(":", "\n:\n", StringComparison.Ordinal).Split('\n'), "tenant", "inspect", "b"];
        var replies = await RunAsync(
            "/bin/bash",
            ["--noprofile", "--norc"],
            BashHarness,
            words,
            Closed(),
            new() { ["COMP_LINE"] = line, ["COMP_POINT"] = line.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.Equal(["blue"], replies);
    }

    [Fact]
    public async Task Bash_completion_without_netmaster_offers_no_names_and_does_not_fail()
    {
        var replies = await RunAsync("/bin/bash", ["--noprofile", "--norc"], BashHarness, ["netctl", "tenant", "inspect", ""], Closed());
        Assert.DoesNotContain("default", replies);
        Assert.Contains("--json", replies);
        Assert.Empty(await RunAsync("/bin/bash", ["--noprofile", "--norc"], BashHarness, ["netctl", "tenant", "inspect", "b"], Closed()));
    }

    [Fact]
    public async Task Zsh_completes_subcommands_and_names()
    {
        if (Find("zsh") is not { } zsh)
        {
            Prerequisite.MissingPackage("zsh", "zsh", "the zsh completion script is run by zsh itself");
            return;
        }

        // compdef/compadd only exist inside zsh's completion system: stand-ins record what the script offers.
        const string harness = """
            compdef() { : }
            compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }
            source <(netctl completion zsh) || exit 90
            words=("$@")
            CURRENT=$#
            _netctl
            """;
        Assert.Superset(new HashSet<string> { "net", "network" }, (await RunAsync(zsh, ["-f"], harness, ["netctl", "n"], fixture.Server.Url)).ToHashSet());
        Assert.Contains("blue", await RunAsync(zsh, ["-f"], harness, ["netctl", "tenant", "inspect", "b"], fixture.Server.Url));
    }
}
