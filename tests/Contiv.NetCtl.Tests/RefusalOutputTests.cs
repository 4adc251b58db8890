using Contiv.NetMaster.Tests;
using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary>
/// Every command that changes something, refused by netmaster: exit code 1, nothing on stdout and
/// the one <c>Error:</c> line on stderr. Its progress line (<c>Creating network default:web</c>)
/// appears only once netmaster has done it, so a script reading stdout never sees a "Creating"
/// for something that was not created.
/// </summary>
public sealed class RefusalOutputTests
{
    /// <summary>
    /// A netmaster where each refusal below is certain: tenant blue with network blue:web, host
    /// node1 with a heartbeat now (so `host rm` without --force refuses).
    /// </summary>
    private static async Task<NetMasterServer> StartAsync()
    {
        var server = await NetMasterServer.StartAsync();
        await server.SetUpAsync(
            [
            ["tenant", "create", "blue"],
            ["net", "create", "-t", "blue", "-s", "10.1.2.0/24", "web"],
            ["net", "create", "-s", "10.1.3.0/24", "web"],
            ]);
        var now = DateTimeOffset.UtcNow;
        await server.Control.RegisterHostAsync(new() { Name = "node1", VtepIp = "10.0.0.11", StartedAt = now, LastSeen = now }, TestContext.Current.CancellationToken);
        return server;
    }

    /// <summary>Each changing command, refused by the server (netctl's own checks pass).</summary>
    public static TheoryData<string[], string> ServerRefusals => new()
    {
        { new[] { "tenant", "create", "blue" }, "Error: tenant blue already exists" },
        { new[] { "tenant", "rm", "blue" }, "Error: tenant blue has 1 network(s) (web); delete them first" },
        { new[] { "tenant", "delete", "nope" }, "Error: tenant nope does not exist" },
        { new[] { "net", "create", "-t", "blue", "-s", "10.1.9.0/24", "web" }, "Error: network blue:web already exists" },
        { new[] { "net", "create", "-t", "nope", "-s", "10.1.9.0/24", "web" }, "Error: tenant nope does not exist" },
        { new[] { "net", "create", "-p", "1", "-s", "10.1.9.0/24", "other" }, "Error: pkt-tag 1 is already used by another vxlan network" },
        { new[] { "net", "rm", "-t", "blue", "nope" }, "Error: network blue:nope does not exist" },
        { new[] { "network", "delete", "nope" }, "Error: network default:nope does not exist" },
        { new[] { "global", "set", "--fwd-mode", "bogus" }, "Error: invalid fwd-mode \"bogus\"" },
        { new[] { "global", "set", "--vxlan-range", "5-100" }, "Error: " },
        { new[] { "host", "rm", "node1" }, "Error: host node1 " },
        { new[] { "host", "rm", "nope" }, "Error: host nope is not registered" },
    };

    [Theory]
    [MemberData(nameof(ServerRefusals))]
    public async Task A_refused_change_prints_only_the_error_line(string[] args, string error)
    {
        await using var server = await StartAsync();
        var run = await server.NetCtlAsync(args);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(string.Empty, run.Stdout);
        Assert.StartsWith(error, run.Stderr, StringComparison.Ordinal);
        Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));
    }

    /// <summary>The same commands when netmaster does them: the progress lines Contiv prints, after the fact.</summary>
    [Fact]
    public async Task An_accepted_change_prints_its_progress_line()
    {
        await using var server = await StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var longAgo = DateTimeOffset.UtcNow.AddHours(-1);
        await server.Control.RegisterHostAsync(new() { Name = "gone", StartedAt = longAgo, LastSeen = longAgo }, ct);

        string[][] commands =
        [
            ["tenant", "create", "red"],
            ["net", "create", "-t", "red", "-s", "10.1.4.0/24", "web"],
            ["net", "rm", "-t", "red", "web"],
            ["tenant", "rm", "red"],
            ["global", "set", "--arp-mode", "flood"],
            ["host", "rm", "gone"],
        ];
        var stdout = new List<string>();
        foreach (var args in commands)
        {
            var run = await server.NetCtlAsync(args);
            Assert.True(run.ExitCode == 0 && run.Stderr.Length == 0, $"netctl {string.Join(' ', args)}: {run.ExitCode} {run.Stderr}");
            stdout.Add(run.Stdout);
        }

        Assert.Equal(
            ["Creating tenant: red\n", "Creating network red:web\n", "Deleting network red:web\n", "Deleting tenant red\n", string.Empty, "Removed host gone: reclaimed 0 endpoint(s)\n"],
            stdout);
    }

    /// <summary>
    /// `version` changes nothing and is what one runs when netmaster cannot be reached, so it keeps
    /// Contiv's order: the client block, then the error line (with --json: nothing on stdout).
    /// </summary>
    [Fact]
    public async Task Version_against_an_unreachable_netmaster_still_shows_the_client()
    {
        var url = $"http://127.0.0.1:{NetMasterServer.ClosedPort()}";
        var run = await NetMasterServer.RunNetCtlAsync(url, "version");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Client Version:\nVersion: ", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Server Version", run.Stdout, StringComparison.Ordinal);
        Assert.StartsWith($"Error: netmaster at {url} is unreachable", run.Stderr, StringComparison.Ordinal);
        Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));

        var json = await NetMasterServer.RunNetCtlAsync(url, "version", "--json");
        Assert.Equal((1, string.Empty), (json.ExitCode, json.Stdout));
    }
}
