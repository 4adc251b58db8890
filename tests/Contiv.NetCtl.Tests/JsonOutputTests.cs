using System.Text.Json;
using Contiv.NetMaster.Tests;
using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary>
/// <c>--json</c> on every command that prints, against a real netmaster: inspect output is unchanged
/// (Contiv's shape), listings and <c>global info</c> print netmaster's objects, changing commands a
/// <see cref="ChangeReport"/> and nothing else, and errors stay one line on stderr with stdout empty.
/// </summary>
public sealed class JsonOutputTests(TutorialNetMaster fixture) : IClassFixture<TutorialNetMaster>
{
    private static async Task<string> OkAsync(NetMasterServer server, params string[] args)
    {
        var run = await server.NetCtlAsync(args);
        Assert.True(run.ExitCode == 0, $"netctl {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
        Assert.Equal(string.Empty, run.Stderr);
        return run.Stdout;
    }

    public static TheoryData<string[]> InspectCommands => new()
    {
        new[] { "net", "inspect", "contiv-net" },
        new[] { "net", "inspect", "-t", "blue", "contiv-net" },
        new[] { "tenant", "inspect", "blue" },
        new[] { "global", "inspect" },
        new[] { "endpoint", "inspect", TutorialNetMaster.EndpointId },
    };

    [Theory]
    [MemberData(nameof(InspectCommands))]
    public async Task Inspect_output_is_the_same_with_and_without_json(string[] args)
    {
        var text = await OkAsync(fixture.Server, args);
        Assert.Equal(text, await OkAsync(fixture.Server, [.. args, "--json"]));
        Assert.Equal(text, await OkAsync(fixture.Server, [.. args, "-j"]));
        Assert.Equal(text, await OkAsync(fixture.Server, ["--json", .. args]));
        using var doc = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
    }

    /// <summary>Every printing command's --json output is one JSON document and nothing else.</summary>
    public static TheoryData<string[], JsonValueKind> PrintingCommands => new()
    {
        { new[] { "tenant", "ls" }, JsonValueKind.Array },
        { new[] { "net", "ls", "-a" }, JsonValueKind.Array },
        { new[] { "net", "ls", "-t", "blue" }, JsonValueKind.Array },
        { new[] { "host", "ls" }, JsonValueKind.Array },
        { new[] { "global", "info" }, JsonValueKind.Object },
        { new[] { "version" }, JsonValueKind.Object },
    };

    [Theory]
    [MemberData(nameof(PrintingCommands))]
    public async Task Printing_commands_emit_one_json_document(string[] args, JsonValueKind kind)
    {
        foreach (var spelling in new[] { "--json", "-j" })
        {
            var text = await OkAsync(fixture.Server, [.. args, spelling]);
            using var doc = JsonDocument.Parse(text);
            Assert.Equal(kind, doc.RootElement.ValueKind);
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Listings_print_netmasters_objects()
    {
        using var nets = JsonDocument.Parse(await OkAsync(fixture.Server, "net", "ls", "-t", "blue", "-j"));
        Assert.Equal(["blue:blue-db", "blue:contiv-net"], nets.RootElement.EnumerateArray().Select(n => n.GetProperty("key").GetString()).Order(StringComparer.Ordinal));

        using var hosts = JsonDocument.Parse(await OkAsync(fixture.Server, "host", "ls", "--json"));
        var node1 = Assert.Single(hosts.RootElement.EnumerateArray());
        Assert.Equal("node1", node1.GetProperty("name").GetString());
        Assert.Equal("10.0.0.11", node1.GetProperty("vtepIP").GetString());
        Assert.Equal(1, node1.GetProperty("endpoints").GetInt32());
    }

    [Fact]
    public async Task Global_info_json_is_the_global_object_of_the_rest_api()
    {
        var json = await OkAsync(fixture.Server, "global", "info", "--json");
        var rest = await fixture.Server.Http.GetStringAsync(new Uri("/api/v1/globals/global/", UriKind.Relative), TestContext.Current.CancellationToken);
        using var ours = JsonDocument.Parse(json);
        using var theirs = JsonDocument.Parse(rest);

        // Every value netmaster gave, plus the key Contiv's object carries (netmaster may send it as null).
        Assert.Equal("global", ours.RootElement.GetProperty("key").GetString());
        foreach (var field in theirs.RootElement.EnumerateObject().Where(f => f.Name != "key"))
        {
            Assert.Equal(field.Value.ToString(), ours.RootElement.GetProperty(field.Name).ToString());
        }

        Assert.Equal(
            ["key", "arpMode", "fwdMode", "name", "networkInfraType", "pvtSubnet", "vlans", "vxlans"],
            ours.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("bridge", ours.RootElement.GetProperty("fwdMode").GetString());
    }

    [Fact]
    public async Task Version_json_has_the_client_and_server_blocks_of_the_text()
    {
        using var doc = JsonDocument.Parse(await OkAsync(fixture.Server, "version", "--json"));
        Assert.Equal(["Client", "Server"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        var text = await OkAsync(fixture.Server, "version");
        foreach (var block in new[] { "Client", "Server" })
        {
            var info = doc.RootElement.GetProperty(block);
            Assert.Equal(["Version", "GitCommit", "BuildTime"], info.EnumerateObject().Select(p => p.Name));
            Assert.Contains(
                $"{block} Version:\nVersion: {info.GetProperty("Version").GetString()}\nGitCommit: {info.GetProperty("GitCommit").GetString()}\nBuildTime: {info.GetProperty("BuildTime").GetString()}\n",
                text,
                StringComparison.Ordinal);
        }
    }

    public static TheoryData<string[], string> Failures => new()
    {
        { new[] { "net", "inspect", "nope", "--json" }, "Error: network default:nope does not exist" },
        { new[] { "net", "create", "-s", "10.1.2.0/24", "contiv-net", "--json" }, "already exists" },
        { new[] { "net", "create", "-s", "10.1.2.0/33", "bad", "-j" }, "Error: " },
        { new[] { "tenant", "rm", "nope", "-j" }, "Error: " },
        { new[] { "endpoint", "inspect", "ffffffff", "--json" }, "Error: endpoint ffffffff not found" },
        { new[] { "host", "rm", "node1", "--json" }, "may still be alive" },
        { new[] { "net", "ls", "--bogus", "--json" }, "Error: " },
        { new[] { "--json", "net", "inspect" }, "Error: " },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Errors_with_json_exit_1_with_one_line_on_stderr_and_nothing_on_stdout(string[] args, string fragment)
    {
        var before = await OkAsync(fixture.Server, "net", "ls", "-a", "-j");
        var run = await fixture.Server.NetCtlAsync(args);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(string.Empty, run.Stdout);
        Assert.StartsWith("Error: ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(fragment, run.Stderr, StringComparison.Ordinal);
        Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(before, await OkAsync(fixture.Server, "net", "ls", "-a", "-j"));
    }
}

/// <summary>The changing commands with --json, each on a netmaster of its own.</summary>
public sealed class ChangeReportTests
{
    private static async Task<ChangeReport> ChangeAsync(NetMasterServer server, params string[] args)
    {
        var run = await server.NetCtlAsync([.. args, "--json"]);
        Assert.True(run.ExitCode == 0, $"netctl {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
        Assert.Equal(string.Empty, run.Stderr);
        Assert.StartsWith("{\n  \"action\": ", run.Stdout, StringComparison.Ordinal);
        return NetCtlJson.ParseChange(run.Stdout) ?? throw new InvalidOperationException("null report");
    }

    [Fact]
    public async Task Create_and_delete_print_what_was_done()
    {
        await using var server = await NetMasterServer.StartAsync();

        var tenant = await ChangeAsync(server, "tenant", "create", "blue");
        Assert.Equal((ChangeReport.Create, "tenant", "blue"), (tenant.Action, tenant.Kind, tenant.Key));
        Assert.Equal("blue", tenant.Tenant?.TenantName);

        var net = await ChangeAsync(server, "net", "create", "-t", "blue", "-s", "10.1.2.0/24", "-g", "10.1.2.1", "contiv-net");
        Assert.Equal((ChangeReport.Create, "network", "blue:contiv-net"), (net.Action, net.Kind, net.Key));
        Assert.Equal(("blue", "contiv-net", "10.1.2.0/24", "10.1.2.1", "vxlan", "data"), (net.Network!.TenantName, net.Network.NetworkName, net.Network.Subnet, net.Network.Gateway, net.Network.Encap, net.Network.NwType));
        Assert.Null(net.Tenant);
        Assert.Null(net.ReclaimedEndpoints);

        // It really was created, as reported.
        Assert.Equal("contiv-net\n", (await server.NetCtlAsync("net", "ls", "-q", "-t", "blue")).Stdout);

        var netRm = await ChangeAsync(server, "net", "rm", "-t", "blue", "contiv-net");
        Assert.Equal((ChangeReport.Delete, "network", "blue:contiv-net"), (netRm.Action, netRm.Kind, netRm.Key));
        Assert.Null(netRm.Network);

        var tenantRm = await ChangeAsync(server, "tenant", "delete", "blue");
        Assert.Equal((ChangeReport.Delete, "tenant", "blue"), (tenantRm.Action, tenantRm.Kind, tenantRm.Key));
        Assert.Equal("default\n", (await server.NetCtlAsync("tenant", "ls", "-q")).Stdout);
    }

    [Fact]
    public async Task Global_set_prints_the_settings_now_in_force()
    {
        await using var server = await NetMasterServer.StartAsync();
        var set = await ChangeAsync(server, "global", "set", "--fwd-mode", "routing", "-v", "100-200");
        Assert.Equal((ChangeReport.Set, "global", "global"), (set.Action, set.Kind, set.Key));
        Assert.Equal(("routing", "100-200", "proxy", "1-10000"), (set.Global!.FwdMode, set.Global.Vlans, set.Global.ArpMode, set.Global.Vxlans));

        using var info = JsonDocument.Parse((await server.NetCtlAsync("global", "info", "-j")).Stdout);
        Assert.Equal("routing", info.RootElement.GetProperty("fwdMode").GetString());

        // Without --json, Contiv's global set prints nothing.
        Assert.Equal(string.Empty, (await server.NetCtlAsync("global", "set", "--fwd-mode", "bridge")).Stdout);
    }

    [Fact]
    public async Task Host_rm_reports_the_reclaimed_endpoints_including_zero()
    {
        await using var server = await NetMasterServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var longAgo = DateTimeOffset.UtcNow.AddHours(-1);
        await server.Control.RegisterHostAsync(new() { Name = "gone", LastSeen = longAgo, StartedAt = longAgo }, ct);
        var removed = await ChangeAsync(server, "host", "rm", "gone");
        Assert.Equal((ChangeReport.Delete, "host", "gone", 0), (removed.Action, removed.Kind, removed.Key, removed.ReclaimedEndpoints));

        var run = await server.NetCtlAsync("host", "rm", "gone", "--json");
        Assert.Equal((1, string.Empty), (run.ExitCode, run.Stdout));
        Assert.StartsWith("Error: host gone is not registered", run.Stderr, StringComparison.Ordinal);
    }
}
