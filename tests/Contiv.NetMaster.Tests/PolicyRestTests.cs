using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Contiv.Model;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// One TLS + token netmaster for the policy REST tests: tenants blue and red, each with a network,
/// groups web and db, policy db-policy (attached to db) with a rule, and netprofile gold.
/// </summary>
public sealed class PolicyNetMasterFixture : IAsyncLifetime
{
    private SecureNetMaster? _server;

    public SecureNetMaster Server => _server ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        _server = await SecureNetMaster.StartAsync();
        List<string[]> commands = [["tenant", "create", "blue"], ["tenant", "create", "red"]];
        foreach (var tenant in new[] { "blue", "red" })
        {
            commands.AddRange(
            [
                ["net", "create", "-t", tenant, "-s", "10.1.2.0/24", "contiv-net"],
                ["policy", "create", "-t", tenant, "db-policy"],
                ["netprofile", "create", "-t", tenant, "-b", "10 mbps", "gold"],
                ["group", "create", "-t", tenant, "contiv-net", "web"],
                ["group", "create", "-t", tenant, "-p", "db-policy", "-n", "gold", "-r", "10.1.2.100-10.1.2.110", "contiv-net", "db"],
                ["policy", "rule-add", "-t", tenant, "-g", "web", "-l", "tcp", "-P", "5432", "db-policy", "1"],
            ]);
        }

        await NetMasterServer.SetUpAsync(args => _server.NetCtlAsync(SecureNetMaster.AdminToken, args), [.. commands]);
    }

    /// <summary>Every policy object of both tenants as the admin sees them: what a refusal must leave unchanged.</summary>
    public async Task<string> StateAsync()
    {
        using var http = Server.HttpWithToken(SecureNetMaster.AdminToken);
        var text = new StringBuilder();
        foreach (var path in new[] { "/api/v1/endpointGroups/", "/api/v1/policys/", "/api/v1/rules/", "/api/v1/netprofiles/", "/api/v1/networks/", "/api/v1/inspect/endpointGroups/red:db/" })
        {
            text.Append(await http.GetStringAsync(path, TestContext.Current.CancellationToken)).Append('\n');
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The endpointGroups, policys, rules and netprofiles REST API: shapes, statuses, tenant scoping.</summary>
public sealed class PolicyRestTests(PolicyNetMasterFixture fixture) : IClassFixture<PolicyNetMasterFixture>
{
    private SecureNetMaster Server => fixture.Server;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(string token, string method, string path, string? body = null)
    {
        using var http = Server.HttpWithToken(token);
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    /// <summary>The reply as Contiv's omitempty JSON (netmaster's HTTP serializer writes nulls; netctl reads either).</summary>
    private static string Compact<T>(string json, JsonTypeInfo<T> type) => JsonSerializer.Serialize(JsonSerializer.Deserialize(json, type)!, type);

    [Fact]
    public async Task Objects_have_contivs_shapes_and_keys()
    {
        var (status, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/endpointGroups/blue:db/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.OK, status);
        body = Compact(body, ContivJson.Default.EndpointGroupConfig);
        Assert.Equal("""{"key":"blue:db","groupName":"db","ipPool":"10.1.2.100-10.1.2.110","netProfile":"gold","networkName":"contiv-net","policies":["db-policy"],"tenantName":"blue"}""", body);

        (_, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/rules/blue:db-policy:1/");
        body = Compact(body, ContivJson.Default.RuleObject);
        Assert.Equal("""{"key":"blue:db-policy:1","action":"allow","direction":"in","fromEndpointGroup":"web","policyName":"db-policy","port":5432,"priority":1,"protocol":"tcp","ruleId":"1","tenantName":"blue"}""", body);

        (_, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/policys/red:db-policy");
        body = Compact(body, ContivJson.Default.PolicyConfig);
        Assert.Equal("""{"key":"red:db-policy","policyName":"db-policy","tenantName":"red"}""", body);

        (_, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/netprofiles/red:gold/");
        body = Compact(body, ContivJson.Default.NetProfileConfig);
        Assert.Equal("""{"key":"red:gold","bandwidth":"10 mbps","profileName":"gold","tenantName":"red"}""", body);

        (_, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/inspect/endpointGroups/red:db/");
        Assert.EndsWith("""
            "Oper":{"availableIPAddresses":"10.1.2.100-10.1.2.110"}}
            """, Compact(body, ContivJson.Default.EndpointGroupInspect), StringComparison.Ordinal);
        (_, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/inspect/policys/red:db-policy/");
        body = Compact(body, ContivJson.Default.PolicyInspect);
        Assert.Equal("""{"Config":{"key":"red:db-policy","policyName":"db-policy","tenantName":"red"},"Oper":{}}""", body);

        (_, body) = await SendAsync(SecureNetMaster.AdminToken, "GET", "/api/v1/endpointGroups/");
        using var all = JsonDocument.Parse(body);
        Assert.Equal(["blue:db", "blue:web", "red:db", "red:web"], all.RootElement.EnumerateArray().Select(g => g.GetProperty("key").GetString()));
    }

    [Fact]
    public async Task Rules_can_be_added_and_removed_over_rest()
    {
        var before = await fixture.StateAsync();
        var (status, body) = await SendAsync(SecureNetMaster.AdminToken, "POST", "/api/v1/rules/red:db-policy:9/", """{"direction":"out","toIpAddress":"8.8.8.8","action":"deny"}""");
        body = Compact(body, ContivJson.Default.RuleObject);
        Assert.Equal((HttpStatusCode.OK, """{"key":"red:db-policy:9","action":"deny","direction":"out","policyName":"db-policy","priority":1,"ruleId":"9","tenantName":"red","toIpAddress":"8.8.8.8"}"""), (status, body));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(SecureNetMaster.AdminToken, "DELETE", "/api/v1/rules/red:db-policy:9/")).Status);
        Assert.Equal(before, await fixture.StateAsync());
    }

    public static TheoryData<string, string, string, string?, HttpStatusCode, string> Refusals => new()
    {
        // A scoped token: another tenant's objects are 403 whatever the method, before anything is read.
        { SecureNetMaster.BlueToken, "GET", "/api/v1/endpointGroups/red:db/", null, HttpStatusCode.Forbidden, "forbidden: the token is scoped to tenant blue" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/endpointGroups/red:nope/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/endpointGroups/?tenant=red", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "POST", "/api/v1/endpointGroups/red:app/", """{"networkName":"contiv-net"}""", HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "PUT", "/api/v1/endpointGroups/red:db/", """{"policies":[]}""", HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "DELETE", "/api/v1/endpointGroups/red:web/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/inspect/endpointGroups/red:db/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/policys/red:db-policy/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "POST", "/api/v1/policys/red:p/", "{}", HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "DELETE", "/api/v1/policys/red%3Adb-policy/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/inspect/policys/red:db-policy/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/rules/?tenant=red", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "POST", "/api/v1/rules/red:db-policy:2/", "{}", HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "DELETE", "/api/v1/rules/red:db-policy:1/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "GET", "/api/v1/netprofiles/red:gold/", null, HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "PUT", "/api/v1/netprofiles/red:gold/", """{"DSCP":3}""", HttpStatusCode.Forbidden, "forbidden" },
        { SecureNetMaster.BlueToken, "DELETE", "/api/v1/netprofiles/red:gold/", null, HttpStatusCode.Forbidden, "forbidden" },

        // Refusals of the control plane, as statuses.
        { SecureNetMaster.BlueToken, "GET", "/api/v1/endpointGroups/blue:nope/", null, HttpStatusCode.NotFound, "endpoint group blue:nope does not exist" },
        { SecureNetMaster.AdminToken, "DELETE", "/api/v1/policys/red:db-policy/", null, HttpStatusCode.Conflict, "Policy is being used" },
        { SecureNetMaster.AdminToken, "DELETE", "/api/v1/networks/red:contiv-net/", null, HttpStatusCode.Conflict, "cannot delete contiv-net has 2 endpoint groups" },
        { SecureNetMaster.AdminToken, "DELETE", "/api/v1/tenants/red/", null, HttpStatusCode.Conflict, "tenant red has" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/rules/red:db-policy:2/", """{"fromEndpointGroup":"web","fromIpAddress":"10.0.0.0/8"}""", HttpStatusCode.BadRequest, "Can not specify both from EndpointGroup and from ip address" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/rules/red:db-policy:2/", """{"priority":500}""", HttpStatusCode.BadRequest, "priority 500 is out of range" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/rules/red:db-policy/", "{}", HttpStatusCode.BadRequest, "expected TENANT:POLICY:RULEID" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/rules/red:db-policy:2/", """{"tenantName":"blue"}""", HttpStatusCode.BadRequest, "does not match" },
        { SecureNetMaster.AdminToken, "PUT", "/api/v1/rules/red:db-policy:1/", "{}", HttpStatusCode.BadRequest, "rules cannot be changed" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/endpointGroups/red:db/", """{"networkName":"other"}""", HttpStatusCode.BadRequest, "Cant change network of endpoint group red:db" },
        { SecureNetMaster.AdminToken, "PUT", "/api/v1/endpointGroups/red:db/", """{"networkName":"other"}""", HttpStatusCode.BadRequest, "Cant change network of endpoint group red:db" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/endpointGroups/red:x/", """{"groupName":"y","networkName":"contiv-net"}""", HttpStatusCode.BadRequest, "does not match" },
        { SecureNetMaster.AdminToken, "DELETE", "/api/v1/netprofiles/red:gold/", null, HttpStatusCode.Conflict, "netprofile red:gold is used by endpoint group red:db" },
        { SecureNetMaster.AdminToken, "POST", "/api/v1/netprofiles/red:x/", """{"bandwidth":"lots"}""", HttpStatusCode.BadRequest, "invalid bandwidth 'lots'" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refusals_have_a_status_and_one_error_line_and_change_nothing(string token, string method, string path, string? body, HttpStatusCode status, string fragment)
    {
        var before = await fixture.StateAsync();
        var (actual, text) = await SendAsync(token, method, path, body);
        Assert.Equal(status, actual);
        using var error = JsonDocument.Parse(text);
        var message = error.RootElement.GetProperty("error").GetString()!;
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
        Assert.Equal(before, await fixture.StateAsync());
    }

    [Fact]
    public async Task A_scoped_token_lists_and_changes_only_its_tenant()
    {
        foreach (var path in new[] { "/api/v1/endpointGroups/", "/api/v1/policys/", "/api/v1/rules/", "/api/v1/netprofiles/" })
        {
            var (status, body) = await SendAsync(SecureNetMaster.BlueToken, "GET", path);
            Assert.Equal(HttpStatusCode.OK, status);
            using var list = JsonDocument.Parse(body);
            Assert.NotEmpty(list.RootElement.EnumerateArray());
            Assert.All(list.RootElement.EnumerateArray(), o => Assert.Equal("blue", o.GetProperty("tenantName").GetString()));
        }

        var created = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "policy", "create", "-t", "blue", "scoped");
        Assert.Equal((0, "Creating policy blue:scoped\n"), (created.ExitCode, created.Stdout));
        Assert.Equal("scoped\ndb-policy\n".Split('\n').Order(StringComparer.Ordinal), (await Server.NetCtlAsync(SecureNetMaster.BlueToken, "policy", "ls", "-a", "-q")).Stdout.Split('\n').Order(StringComparer.Ordinal));
        Assert.Equal(0, (await Server.NetCtlAsync(SecureNetMaster.BlueToken, "policy", "rm", "-t", "blue", "scoped")).ExitCode);

        var refused = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "group", "ls", "-t", "red");
        Assert.Equal((1, ""), (refused.ExitCode, refused.Stdout));
        Assert.StartsWith("Error: forbidden: the token is scoped to tenant blue", refused.Stderr, StringComparison.Ordinal);
    }
}
