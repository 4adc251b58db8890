using System.Text.Json;
using Contiv.Model;
using Contiv.NetMaster.Tests;
using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary>
/// netctl's group, policy and netprofile commands against a real netmaster: Contiv's tutorial
/// scenario (groups web and db, db-policy), the tables, JSON, and refusals as one error line.
/// </summary>
public sealed class PolicyCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>default:contiv-net with groups web and db (db-policy attached to db, two rules), netprofile gold.</summary>
    private static async Task<NetMasterServer> StartAsync()
    {
        var server = await NetMasterServer.StartAsync();
        await server.SetUpAsync(
            [
            ["net", "create", "-s", "10.1.2.0/24", "-g", "10.1.2.1", "contiv-net"],
            ["policy", "create", "db-policy"],
            ["netprofile", "create", "-b", "50 mbps", "-d", "10", "-s", "128", "gold"],
            ["group", "create", "contiv-net", "web"],
            ["group", "create", "-p", "db-policy", "-n", "gold", "-r", "10.1.2.100-10.1.2.150", "--tag", "dbtag", "contiv-net", "db"],
            ["policy", "rule-add", "-d", "in", "-l", "tcp", "-j", "deny", "db-policy", "1"],
            ["policy", "rule-add", "-d", "in", "-l", "tcp", "-g", "web", "-P", "5432", "-j", "allow", "-p", "10", "db-policy", "2"],
            ["policy", "rule-add", "-d", "out", "-s", "192.168.0.0/16", "-l", "udp", "-j", "deny", "db-policy", "3"],
            ]);
        return server;
    }

    [Fact]
    public async Task Creating_prints_contivs_progress_lines()
    {
        await using var server = await NetMasterServer.StartAsync();
        await server.SetUpAsync([["net", "create", "-s", "10.1.2.0/24", "contiv-net"]]);
        Assert.Equal((0, "Creating policy default:p\n", ""), await Run(server, "policy", "create", "p"));
        Assert.Equal((0, "Creating EndpointGroup default:web\n", ""), await Run(server, "group", "create", "-p", "p", "contiv-net", "web"));
        Assert.Equal((0, "", ""), await Run(server, "policy", "rule-add", "p", "1"));
        Assert.Equal((0, "Creating netprofile default:np\n", ""), await Run(server, "netprofile", "create", "-b", "1 gbps", "np"));
        Assert.Equal((0, "Updating netprofile default:np\n", ""), await Run(server, "netprofile", "update", "-d", "5", "np"));
        Assert.Equal((0, "Updating EndpointGroup default:web\n", ""), await Run(server, "group", "update", "-n", "np", "-p", "", "web"));
        var web = await server.Control.GetGroupAsync("default", "web", Ct);
        Assert.Equal(((List<string>?)null, "np"), (web.Policies, web.NetProfile));
        var np = await server.Control.GetNetProfileAsync("default", "np", Ct);
        Assert.Equal(("1 gbps", 5), (np.Bandwidth, np.Dscp));
        Assert.Equal((0, "", ""), await Run(server, "policy", "rule-rm", "p", "1"));
        Assert.Equal((0, "Deleting EndpointGroup default:web\n", ""), await Run(server, "group", "rm", "web"));
        Assert.Equal((0, "Deleting policy default:p\n", ""), await Run(server, "policy", "delete", "p"));
        Assert.Equal((0, "Deleting netprofile default:np\n", ""), await Run(server, "netprofile", "rm", "np"));
    }

    [Fact]
    public async Task Listings_print_contivs_tables()
    {
        await using var server = await StartAsync();
        Assert.Equal(
            (0,
            "Tenant   Group  Network     IP Pool                CfgdTag  Policies   Network profile\n"
            + "------   -----  -------     -------                -------  --------   ---------------\n"
            + "default  db     contiv-net  10.1.2.100-10.1.2.150  dbtag    db-policy  gold\n"
            + "default  web    contiv-net\n",
            ""),
            await Run(server, "group", "ls"));
        Assert.Equal((0, "db\nweb\n", ""), await Run(server, "group", "list", "-q"));
        Assert.Equal((0, "Tenant   Policy\n------   ------\ndefault  db-policy\n", ""), await Run(server, "policy", "ls"));
        Assert.Equal(
            (0, "Name  Tenant   Bandwidth  DSCP  Burst size\n----  ------   ---------  ----  ----------\ngold  default  50 mbps    10    128\n", ""),
            await Run(server, "netprofile", "ls"));
        Assert.Equal(
            (0,
            "Incoming Rules:\n"
            + "Rule  Priority  From EndpointGroup  From Network  From IpAddress  Protocol  Port  Action\n"
            + "----  --------  ------------------  ------------  --------------  --------  ----  ------\n"
            + "1     1                                                           tcp       0     deny\n"
            + "2     10        web                                               tcp       5432  allow\n"
            + "Outgoing Rules:\n"
            + "Rule  Priority  To EndpointGroup  To Network  To IpAddress    Protocol  Port  Action\n"
            + "----  --------  ----------------  ----------  ------------    --------  ----  ------\n"
            + "3     1                                       192.168.0.0/16  udp       0     deny\n",
            ""),
            await Run(server, "policy", "rule-ls", "db-policy"));

        // Another tenant's listing is empty; an unknown tenant is an error, as in `net ls`.
        Assert.Equal((1, "", "Error: tenant nope does not exist\n"), await Run(server, "group", "ls", "-t", "nope"));
    }

    [Fact]
    public async Task Json_output_has_contivs_field_names()
    {
        await using var server = await StartAsync();
        using var groups = JsonDocument.Parse((await server.NetCtlAsync("group", "ls", "--json")).Stdout);
        var db = groups.RootElement.EnumerateArray().Single(g => g.GetProperty("groupName").GetString() == "db");
        Assert.Equal(
            ["key", "cfgdTag", "groupName", "ipPool", "netProfile", "networkName", "policies", "tenantName"],
            db.EnumerateObject().Select(p => p.Name));
        Assert.Equal("default:db", db.GetProperty("key").GetString());

        using var rules = JsonDocument.Parse((await server.NetCtlAsync("policy", "rule-ls", "-j", "db-policy")).Stdout);
        var rule2 = rules.RootElement.EnumerateArray().Single(r => r.GetProperty("ruleId").GetString() == "2");
        Assert.Equal(
            """{"key":"default:db-policy:2","action":"allow","direction":"in","fromEndpointGroup":"web","policyName":"db-policy","port":5432,"priority":10,"protocol":"tcp","ruleId":"2","tenantName":"default"}""",
            JsonSerializer.Serialize(rule2));

        using var profile = JsonDocument.Parse((await server.NetCtlAsync("netprofile", "inspect", "gold")).Stdout);
        Assert.Equal(
            """{"Config":{"key":"default:gold","DSCP":10,"bandwidth":"50 mbps","burst":128,"profileName":"gold","tenantName":"default"},"Oper":{"endpointGroups":["default:db"]}}""",
            JsonSerializer.Serialize(profile.RootElement));

        var created = await server.NetCtlAsync("policy", "create", "--json", "p2");
        Assert.Equal(("create", "policy", "default:p2"), (NetCtlJson.ParseChange(created.Stdout)!.Action, NetCtlJson.ParseChange(created.Stdout)!.Kind, NetCtlJson.ParseChange(created.Stdout)!.Key));
    }

    [Fact]
    public async Task Inspect_lists_the_groups_endpoints_and_their_addresses()
    {
        await using var server = await StartAsync();
        var lease = await server.Control.AllocateAddressAsync("contiv-net.default", null, null, "db", Ct);
        await server.Control.PutEndpointAsync(
            new EndpointOper { EndpointId = "ep1", ContainerName = "/db1", HomingHost = "h1", Network = "contiv-net.default", IpAddress = [lease.Address, ""], EndpointGroupKey = "db:default", ServiceName = "db" }, Ct);

        var inspect = await server.NetCtlAsync("group", "inspect", "db");
        Assert.Equal(0, inspect.ExitCode);
        var oper = JsonSerializer.Deserialize(inspect.Stdout, ContivJson.Default.EndpointGroupInspect)!.Oper;
        Assert.Equal((1, "10.1.2.100", "10.1.2.101-10.1.2.150"), (oper.NumEndpoints, oper.AllocatedIpAddresses, oper.AvailableIpAddresses));
        Assert.Equal(("db:default", "db", "10.1.2.100"), (oper.Endpoints![0].EndpointGroupKey, oper.Endpoints[0].ServiceName, oper.Endpoints[0].IpAddress[0]));
        Assert.Contains("\"endpointGroupKey\": \"db:default\"", inspect.Stdout, StringComparison.Ordinal);

        var policy = JsonSerializer.Deserialize((await server.NetCtlAsync("policy", "inspect", "db-policy")).Stdout, ContivJson.Default.PolicyInspect)!;
        Assert.Equal(("default:db-policy", 1), (policy.Config.Key, policy.Oper.NumEndpoints));

        // `net inspect` shows the group of each endpoint; an endpoint in no group has neither field.
        var net = await server.NetCtlAsync("net", "inspect", "contiv-net");
        Assert.Contains("\"serviceName\": \"db\"", net.Stdout, StringComparison.Ordinal);
        await server.Control.PutEndpointAsync(new EndpointOper { EndpointId = "ep2", Network = "contiv-net.default", IpAddress = ["10.1.2.2", ""] }, Ct);
        var plain = JsonSerializer.Deserialize((await server.NetCtlAsync("endpoint", "inspect", "ep2")).Stdout, ContivJson.Default.EndpointInspect)!;
        Assert.Equal(((string?)null, (string?)null), (plain.Oper.EndpointGroupKey, plain.Oper.ServiceName));
        Assert.DoesNotContain("serviceName", (await server.NetCtlAsync("endpoint", "inspect", "ep2")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Group_create_on_an_existing_group_updates_it_as_contivs_policy_tutorial_does()
    {
        await using var server = await StartAsync();
        Assert.Equal((0, "Creating EndpointGroup default:web\n", ""), await Run(server, "group", "create", "-p", "db-policy", "contiv-net", "web"));
        Assert.Contains("db-policy", (await server.NetCtlAsync("group", "inspect", "web")).Stdout, StringComparison.Ordinal);
        Assert.Equal((0, "Creating EndpointGroup default:web\n", ""), await Run(server, "group", "create", "contiv-net", "web"));
        Assert.DoesNotContain("db-policy", (await server.NetCtlAsync("group", "inspect", "web")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Contivs_go_style_flags_after_the_arguments_work_as_its_docs_write_them()
    {
        await using var server = await StartAsync();
        Assert.Equal((0, "Creating policy default:icmpPol\n", ""), await Run(server, "policy", "create", "icmpPol"));
        Assert.Equal((0, "", ""), await Run(server, "policy", "rule-add", "icmpPol", "1", "-direction=in", "-protocol=icmp", "-action=deny"));
        Assert.Equal((0, "Creating EndpointGroup default:noping-epg\n", ""), await Run(server, "group", "create", "contiv-net", "noping-epg", "-policy=icmpPol"));
        var rule = await server.Control.GetRuleAsync("default", "icmpPol", "1", Ct);
        Assert.Equal(("in", "icmp", "deny"), (rule.Direction, rule.Protocol, rule.Action));
        Assert.Equal(["icmpPol"], (await server.Control.GetGroupAsync("default", "noping-epg", Ct)).Policies!);
    }

    public static TheoryData<string[], string> Refusals => new()
    {
        { ["policy", "rule-add", "-g", "web", "-i", "10.1.0.0/16", "db-policy", "9"], "Error: Can not specify both from EndpointGroup and from ip address\n" },
        { ["policy", "rule-add", "-g", "nope", "db-policy", "9"], "Error: endpoint group not found\n" },
        { ["policy", "rule-add", "-d", "out", "-o", "nope", "db-policy", "9"], "Error: To Network not found\n" },
        { ["policy", "rule-add", "nope", "9"], "Error: policy default:nope does not exist\n" },
        { ["policy", "rule-add", "-p", "101", "db-policy", "9"], "Error: priority 101 is out of range: use 1 to 100\n" },
        { ["policy", "rule-add", "-l", "tcp", "-P", "70000", "db-policy", "9"], "Error: port 70000 is out of range: use 0 (any) to 65535\n" },
        { ["policy", "rule-add", "-l", "bogus", "db-policy", "9"], "Error: invalid protocol 'bogus': use tcp, udp, icmp or a protocol number 0-255\n" },
        { ["policy", "rule-add", "-d", "both", "db-policy", "9"], "Error: Invalid direction for the rule\n" },
        { ["policy", "rule-add", "db-policy", "1"], "Error: rule default:db-policy:1 already exists\n" },
        { ["policy", "rule-rm", "db-policy", "9"], "Error: rule default:db-policy:9 does not exist\n" },
        { ["policy", "rm", "db-policy"], "Error: Policy is being used: policy default:db-policy is attached to endpoint group default:db\n" },
        { ["policy", "create", "db-policy"], "Error: policy default:db-policy already exists\n" },
        { ["net", "rm", "contiv-net"], "Error: cannot delete contiv-net has 2 endpoint groups\n" },
        { ["group", "rm", "web"], "Error: endpoint group default:web is used by rule default:db-policy:2; remove the rule first\n" },
        { ["group", "rm", "nope"], "Error: endpoint group default:nope does not exist\n" },
        { ["group", "create", "-r", "10.1.2.200-10.1.2.210", "contiv-net", "web"], "Error: Cant change ipPool of endpoint group default:web after it is created; delete and re-create it\n" },
        { ["group", "create", "-p", "nope", "contiv-net", "app"], "Error: policy default:nope does not exist\n" },
        { ["group", "create", "-n", "nope", "contiv-net", "app"], "Error: netprofile default:nope does not exist\n" },
        { ["group", "create", "nope", "app"], "Error: network default:nope does not exist\n" },
        { ["group", "create", "-r", "10.1.2.140-10.1.2.160", "contiv-net", "app"], "Error: ip-pool 10.1.2.140-10.1.2.160 of endpoint group default:app overlaps addresses already in use in network default:contiv-net: 10.1.2.140-10.1.2.150\n" },
        { ["group", "update", "-p", "nope", "db"], "Error: policy default:nope does not exist\n" },
        { ["netprofile", "rm", "gold"], "Error: netprofile default:gold is used by endpoint group default:db\n" },
        { ["netprofile", "create", "-d", "64", "x"], "Error: DSCP 64 is out of range: use 0 to 63\n" },
        { ["netprofile", "update", "nope"], "Error: netprofile default:nope does not exist\n" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_refusal_is_one_error_line_and_changes_nothing(string[] args, string error)
    {
        await using var server = await StartAsync();
        var before = await StateAsync(server);
        Assert.Equal((1, "", error), await Run(server, args));
        Assert.Equal((1, "", error), await Run(server, ["--json", .. args]));
        Assert.Equal(before, await StateAsync(server));
    }

    private static async Task<string> StateAsync(NetMasterServer server)
    {
        var parts = new List<string>();
        foreach (var args in new[] { ["group", "ls", "-a", "-j"], ["policy", "ls", "-a", "-j"], ["netprofile", "ls", "-a", "-j"], ["policy", "rule-ls", "-j", "db-policy"], ["net", "inspect", "contiv-net"], new[] { "group", "inspect", "db" } })
        {
            parts.Add((await server.NetCtlAsync(args)).Stdout);
        }

        return string.Join('\n', parts);
    }

    private static async Task<(int, string, string)> Run(NetMasterServer server, params string[] args)
    {
        var run = await server.NetCtlAsync(args);
        return (run.ExitCode, run.Stdout, run.Stderr);
    }
}
