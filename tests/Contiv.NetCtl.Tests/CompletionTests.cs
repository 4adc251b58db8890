using System.Diagnostics;
using Contiv.NetMaster.Tests;
using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary>
/// The completion sources, through System.CommandLine's own completion of a command line (what
/// the <c>[suggest]</c> directive prints), against a real netmaster.
/// </summary>
public sealed class CompletionTests(TutorialNetMaster fixture) : IClassFixture<TutorialNetMaster>
{
    private static NetCtlCommands Commands() =>
        new(TextWriter.Null, TextWriter.Null, connection => NetmasterClient.Create(connection, TimeSpan.FromSeconds(10)));

    /// <summary>The labels offered at the end of <paramref name="line"/>.</summary>
    private static List<string> Complete(string line) =>
        [.. Commands().Build().Parse(line).GetCompletions(line.Length).Select(c => c.Label)];

    private string Against(string args) => $"netctl --netmaster {fixture.Server.Url} {args}";

    [Theory]
    [InlineData(new[] { "a", "b", "a", "", "ab", "c" }, "a", new[] { "a", "ab" })]
    [InlineData(new[] { "blue", "Blue", "default" }, "", new[] { "Blue", "blue", "default" })]
    [InlineData(new[] { "blue", "default" }, "x", new string[0])]
    [InlineData(new[] { "contiv-net", "contiv-vlan" }, null, new[] { "contiv-net", "contiv-vlan" })]
    public void Names_are_offered_by_case_sensitive_prefix_distinct_and_sorted(string[] names, string? word, string[] expected) =>
        Assert.Equal(expected, NameCompletion.Matching(names, word));

    [Fact]
    public void Subcommands_and_options_complete_without_netmaster()
    {
        Assert.Superset(new HashSet<string> { "tenant", "net", "network", "global", "endpoint", "ep", "host", "version", "completion", "--json", "-j", "--netmaster" }, Complete("netctl ").ToHashSet());
        Assert.Superset(new HashSet<string> { "create", "rm", "delete", "inspect", "ls", "list" }, Complete("netctl net ").ToHashSet());
        Assert.Superset(new HashSet<string> { "--subnet", "--gateway", "--encap", "--pkt-tag", "--nw-type", "--tenant", "--json" }, Complete("netctl net create -").ToHashSet());
    }

    [Theory]
    [InlineData("netctl net create -e ", new[] { "vlan", "vxlan" })]
    [InlineData("netctl net create --nw-type ", new[] { "data", "infra" })]
    [InlineData("netctl global set --fwd-mode ", new[] { "bridge", "routing" })]
    [InlineData("netctl global set -a ", new[] { "flood", "proxy" })]
    [InlineData("netctl global set --fabric-mode ", new[] { "aci", "aci-opflex", "default" })]
    [InlineData("netctl completion ", new[] { "bash", "zsh" })]
    public void Fixed_values_are_offered(string line, string[] values) =>
        Assert.Superset(new HashSet<string>(values), Complete(line).ToHashSet());

    [Fact]
    public void Tenant_names_come_from_netmaster()
    {
        Assert.Superset(new HashSet<string> { "default", "blue" }, Complete(Against("tenant inspect ")).ToHashSet());
        Assert.Contains("blue", Complete(Against("tenant rm b")));
        Assert.DoesNotContain("default", Complete(Against("tenant rm b")));
        Assert.Superset(new HashSet<string> { "default", "blue" }, Complete(Against("net ls -t ")).ToHashSet());
        Assert.Superset(new HashSet<string> { "default", "blue" }, Complete(Against("net create --tenant ")).ToHashSet());
    }

    [Fact]
    public void Network_names_are_those_of_the_tenant_on_the_line()
    {
        var blue = Complete(Against("net inspect -t blue "));
        Assert.Contains("blue-db", blue);
        Assert.Contains("contiv-net", blue);

        // Default tenant: only its own network; and the tenant may follow the name's position.
        var defaults = Complete(Against("net rm "));
        Assert.Contains("contiv-net", defaults);
        Assert.DoesNotContain("blue-db", defaults);
        Assert.Equal(["blue-db"], Complete(Against("net rm --tenant blue blue")).Where(l => !l.StartsWith('-')));
    }

    [Fact]
    public void Host_names_come_from_netmaster() =>
        Assert.Contains("node1", Complete(Against("host rm ")));

    [Fact]
    public void The_connection_comes_from_the_environment_when_not_on_the_line()
    {
        var saved = Environment.GetEnvironmentVariable("NETMASTER");
        try
        {
            Environment.SetEnvironmentVariable("NETMASTER", fixture.Server.Url);
            Assert.Contains("blue", Complete("netctl tenant inspect "));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NETMASTER", saved);
        }
    }

    [Fact]
    public void An_unreachable_netmaster_gives_no_names_quickly_and_the_rest_still_completes()
    {
        var line = $"netctl --netmaster http://127.0.0.1:{NetMasterServer.ClosedPort()} net inspect -t ";
        var watch = Stopwatch.StartNew();
        var labels = Complete(line);
        Assert.True(watch.Elapsed < NetCtlCommands.CompletionTimeout * 2, $"took {watch.Elapsed}");
        Assert.DoesNotContain("default", labels);
        Assert.Equal(["vlan", "vxlan"], Complete(line.Replace("net inspect -t ", "net create -e ", StringComparison.Ordinal)).Where(l => l.StartsWith('v')).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_refusing_netmaster_gives_no_names()
    {
        // netmaster answers, but for a tenant that does not exist: the completion stays silent.
        Assert.DoesNotContain(Complete(Against("net inspect -t nope ")), l => !l.StartsWith('-') && !l.StartsWith('/'));
    }

    [Fact]
    public async Task The_suggest_directive_prints_the_candidates_one_per_line()
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        var commands = new NetCtlCommands(stdout, TextWriter.Null, connection => NetmasterClient.Create(connection, TimeSpan.FromSeconds(10)));
        var line = Against("tenant inspect b");
        Assert.Equal(0, await commands.RunAsync([$"[suggest:{line.Length}]", line], TestContext.Current.CancellationToken));
        Assert.Contains("blue", stdout.ToString().Split('\n'));
    }

    [Fact]
    public async Task Help_does_not_ask_netmaster()
    {
        // A netmaster that accepts the connection but never answers would hang help if it asked.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var url = $"http://{silent.LocalEndpoint}";
        using var stdout = new StringWriter { NewLine = "\n" };
        var commands = new NetCtlCommands(stdout, TextWriter.Null, connection => NetmasterClient.Create(connection, TimeSpan.FromSeconds(30)));
        var watch = Stopwatch.StartNew();
        Assert.Equal(0, await commands.RunAsync(["--netmaster", url, "net", "rm", "--help"], TestContext.Current.CancellationToken));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.Contains("<NETWORK>", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("-t, --tenant <tenant>", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completion_prints_the_script_and_refuses_other_shells()
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        using var stderr = new StringWriter { NewLine = "\n" };
        var commands = new NetCtlCommands(stdout, stderr, _ => throw new InvalidOperationException("completion needs no netmaster"));
        Assert.Equal(0, await commands.RunAsync(["completion", "bash"], TestContext.Current.CancellationToken));
        Assert.Equal(ShellCompletion.Bash, stdout.ToString());
        Assert.Contains("complete -o default -F _netctl_complete netctl", stdout.ToString(), StringComparison.Ordinal);

        Assert.Equal(1, await commands.RunAsync(["completion", "fish"], TestContext.Current.CancellationToken));
        Assert.StartsWith("Error: Argument 'fish' not recognized", stderr.ToString(), StringComparison.Ordinal);
    }
}
