using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Contiv.Model;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// One TLS + token netmaster on 127.0.0.1 for a test class: tenants blue and red, each with a
/// network and endpoints (one id prefix, ab12, in both), plus default:contiv-net.
/// </summary>
public sealed class SecureNetMasterFixture : IAsyncLifetime
{
    private SecureNetMaster? _server;

    public SecureNetMaster Server => _server ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        _server = await SecureNetMaster.StartAsync();
        await NetMasterServer.SetUpAsync(
            args => _server.NetCtlAsync(SecureNetMaster.AdminToken, args),
            [
            ["net", "create", "--subnet=10.1.2.0/24", "contiv-net"],
            ["tenant", "create", "blue"],
            ["tenant", "create", "red"],
            ["net", "create", "-t", "blue", "--subnet=10.1.2.0/24", "web"],
            ["net", "create", "-t", "red", "--subnet=10.1.2.0/24", "db"],
            ]);

        foreach (var (network, id) in new[] { ("web.blue", "ab12b1ue0001"), ("db.red", "ab12ed000002"), ("db.red", "cdef0003red0") })
        {
            var lease = await _server.Control.AllocateAddressAsync(network, null);
            await _server.Control.PutEndpointAsync(new EndpointOper { EndpointId = id, HomingHost = "h1", Network = network, IpAddress = [lease.Address, string.Empty], ContainerName = "c-" + id });
        }
    }

    /// <summary>Everything as the admin sees it: what a refused request must leave unchanged.</summary>
    public async Task<string> StateAsync()
    {
        var nets = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls", "-a");
        var tenants = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "tenant", "ls");
        var global = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "global", "inspect");
        return nets.Stdout + tenants.Stdout + global.Stdout;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// netmaster with TLS and bearer tokens, driven by netctl (--tls-ca, --token) and raw HTTPS:
/// admin tokens do everything, missing or wrong tokens get 401, tenant-scoped tokens see and
/// change only their tenant.
/// </summary>
public sealed class SecureNetMasterTests(SecureNetMasterFixture fixture) : IClassFixture<SecureNetMasterFixture>
{
    private SecureNetMaster Server => fixture.Server;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Netctl_with_the_ca_and_an_admin_token_creates_and_lists_networks_over_https()
    {
        Assert.StartsWith("https://127.0.0.1:", Server.Url, StringComparison.Ordinal);
        var create = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "create", "-s", "10.9.0.0/24", "tls-net");
        Assert.Equal((0, "Creating network default:tls-net\n", string.Empty), (create.ExitCode, create.Stdout, create.Stderr));

        var ls = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls");
        Assert.Equal(0, ls.ExitCode);
        Assert.Equal(
            "Tenant   Network     Nw Type  Encap type  Packet tag  Subnet       Gateway  IPv6Subnet  IPv6Gateway  Cfgd Tag\n"
            + "------   -------     -------  ----------  ----------  -------      ------   ----------  -----------  ---------\n"
            + "default  contiv-net  data     vxlan       0           10.1.2.0/24\n"
            + "default  tls-net     data     vxlan       0           10.9.0.0/24\n",
            ls.Stdout);

        var all = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls", "-a", "-q");
        Assert.Equal("web\ncontiv-net\ntls-net\ndb\n", all.Stdout);
        Assert.Equal("default\nblue\nred\n", (await Server.NetCtlAsync(SecureNetMaster.AdminToken, "tenant", "ls", "-q")).Stdout);

        var rm = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "rm", "tls-net");
        Assert.Equal((0, string.Empty), (rm.ExitCode, rm.Stderr));
    }

    [Fact]
    public async Task Netctl_reads_the_token_and_ca_from_the_environment_names_it_documents()
    {
        // The option defaults come from CONTIV_TOKEN / CONTIV_TLS_CA; passing them explicitly is the
        // same code path, so check the flags' help names the variables.
        var help = await NetMasterServer.RunNetCtlAsync(Server.Url, "--help");
        Assert.Contains("CONTIV_TOKEN", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("CONTIV_TLS_CA", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("--tls-ca", help.Stdout, StringComparison.Ordinal);
    }

    public static TheoryData<string?, string> MissingOrWrongTokens => new()
    {
        { null, "Error: authentication required: this netmaster needs a bearer token (netctl --token or CONTIV_TOKEN)\n" },
        { "not-a-valid-token-0000000000000000", "Error: invalid token: netmaster does not accept this bearer token\n" },
        { SecureNetMaster.AdminToken + "x", "Error: invalid token: netmaster does not accept this bearer token\n" },
        { SecureNetMaster.AdminToken[..^1], "Error: invalid token: netmaster does not accept this bearer token\n" },
    };

    [Theory]
    [MemberData(nameof(MissingOrWrongTokens))]
    public async Task A_missing_or_wrong_token_is_refused_with_one_error_line(string? token, string expected)
    {
        var before = await fixture.StateAsync();
        foreach (var args in new[] { new[] { "net", "ls" }, ["net", "create", "-s", "10.9.1.0/24", "nope"], ["tenant", "rm", "red"], ["global", "set", "--fwd-mode", "routing"], ["version"] })
        {
            var run = await Server.NetCtlAsync(token, args);
            Assert.Equal(1, run.ExitCode);
            Assert.Equal(expected, run.Stderr);
        }

        Assert.Equal(before, await fixture.StateAsync());
    }

    [Theory]
    [InlineData("GET", "/api/v1/networks/")]
    [InlineData("GET", "/api/v1/tenants/blue/")]
    [InlineData("POST", "/api/v1/tenants/green/")]
    [InlineData("DELETE", "/api/v1/networks/red:db/")]
    [InlineData("GET", "/api/v1/inspect/globals/global/")]
    [InlineData("GET", "/version")]
    [InlineData("GET", "/no/such/path")]
    public async Task Rest_requests_without_a_valid_token_get_401_with_a_json_error(string method, string path)
    {
        foreach (var authorization in new[] { null, "Bearer", "Bearer wrong-token-123456789abcdef", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + SecureNetMaster.AdminToken)), SecureNetMaster.AdminToken })
        {
            using var http = Server.Http(authorization);
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("{}", Encoding.UTF8, "application/json") : null };
            using var response = await http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("Bearer realm=\"netmaster\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.Equal(["error"], body.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Matches("^(authentication required|invalid token): [^\n]+$", body.RootElement.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Health_stays_open_and_version_needs_a_token()
    {
        using var anonymous = Server.Http(null);
        using (var health = await anonymous.GetAsync("/health", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.StartsWith("{\"status\":\"Healthy\"", await health.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using (var version = await anonymous.GetAsync("/version", Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, version.StatusCode);
        }

        foreach (var token in new[] { SecureNetMaster.AdminToken, SecureNetMaster.BlueToken })
        {
            using var http = Server.HttpWithToken(token);
            using var version = await http.GetAsync("/version", Ct);
            Assert.Equal(HttpStatusCode.OK, version.StatusCode);
        }

        var run = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "version");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Server Version:", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scoped_token_sees_only_its_tenant_in_lists()
    {
        Assert.Equal("blue\n", (await Server.NetCtlAsync(SecureNetMaster.BlueToken, "tenant", "ls", "-q")).Stdout);
        Assert.Equal("web\n", (await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "ls", "-a", "-q")).Stdout);
        Assert.Equal("web\n", (await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "ls", "-t", "blue", "-q")).Stdout);
        Assert.Equal("db\n", (await Server.NetCtlAsync(SecureNetMaster.RedToken, "net", "ls", "-a", "-q")).Stdout);

        using var http = Server.HttpWithToken(SecureNetMaster.BlueToken);
        using (var networks = JsonDocument.Parse(await http.GetStringAsync("/api/v1/networks/", Ct)))
        {
            Assert.Equal(["blue:web"], networks.RootElement.EnumerateArray().Select(n => n.GetProperty("key").GetString()));
        }

        using (var tenants = JsonDocument.Parse(await http.GetStringAsync("/api/v1/tenants/", Ct)))
        {
            Assert.Equal(["blue"], tenants.RootElement.EnumerateArray().Select(t => t.GetProperty("tenantName").GetString()));
        }

        using (var own = JsonDocument.Parse(await http.GetStringAsync("/api/v1/networks/?tenant=blue", Ct)))
        {
            Assert.Equal(["blue:web"], own.RootElement.EnumerateArray().Select(n => n.GetProperty("key").GetString()));
        }

        using var inspect = JsonDocument.Parse((await Server.NetCtlAsync(SecureNetMaster.BlueToken, "tenant", "inspect", "blue")).Stdout);
        Assert.Equal(1, inspect.RootElement.GetProperty("Oper").GetProperty("networks").GetInt32());
    }

    public static TheoryData<string[], string> ScopedRefusals => new()
    {
        { ["net", "inspect", "-t", "red", "db"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant red\n" },
        { ["net", "rm", "-t", "red", "db"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant red\n" },
        { ["net", "create", "-t", "red", "-s", "10.9.2.0/24", "sneaky"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant red\n" },
        { ["net", "inspect", "contiv-net"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant default\n" },
        { ["net", "rm", "-t", "red", "does-not-exist"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant red\n" },
        { ["net", "ls", "-t", "red"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant red\n" },
        { ["net", "ls"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant default\n" },
        { ["tenant", "inspect", "red"], "Error: forbidden: the token is scoped to tenant blue and cannot access tenant red\n" },
        { ["tenant", "create", "green"], "Error: forbidden: the token is scoped to tenant blue; creating a tenant needs an admin token\n" },
        { ["tenant", "rm", "red"], "Error: forbidden: the token is scoped to tenant blue; deleting a tenant needs an admin token\n" },
        { ["tenant", "rm", "blue"], "Error: forbidden: the token is scoped to tenant blue; deleting a tenant needs an admin token\n" },
        { ["global", "set", "--fwd-mode", "routing"], "Error: forbidden: the token is scoped to tenant blue; changing global settings needs an admin token\n" },
        { ["global", "set", "--vxlan-range", "1-20"], "Error: forbidden: the token is scoped to tenant blue; changing global settings needs an admin token\n" },
        { ["endpoint", "inspect", "ab12ed000002"], "Error: endpoint ab12ed000002 not found\n" },
        { ["endpoint", "inspect", "cdef"], "Error: endpoint cdef not found\n" },
    };

    [Theory]
    [MemberData(nameof(ScopedRefusals))]
    public async Task A_scoped_token_cannot_touch_another_tenant_or_global_settings(string[] args, string expected)
    {
        var before = await fixture.StateAsync();
        var run = await Server.NetCtlAsync(SecureNetMaster.BlueToken, args);
        Assert.Equal((1, expected), (run.ExitCode, run.Stderr));
        Assert.Equal(before, await fixture.StateAsync());
    }

    public static TheoryData<string, string, string?, HttpStatusCode> ScopedRest => new()
    {
        { "GET", "/api/v1/networks/red:db/", null, HttpStatusCode.Forbidden },
        { "GET", "/api/v1/networks/red:nope/", null, HttpStatusCode.Forbidden },
        { "GET", "/api/v1/networks/?tenant=red", null, HttpStatusCode.Forbidden },
        { "GET", "/api/v1/inspect/networks/red:db/", null, HttpStatusCode.Forbidden },
        { "GET", "/api/v1/inspect/networks/red%3Adb/", null, HttpStatusCode.Forbidden },
        { "DELETE", "/api/v1/networks/red:db/", null, HttpStatusCode.Forbidden },
        { "PUT", "/api/v1/networks/red:db/", """{"subnet":"10.1.2.0/24"}""", HttpStatusCode.Forbidden },
        { "POST", "/api/v1/networks/red:x/", """{"subnet":"10.9.3.0/24"}""", HttpStatusCode.Forbidden },
        { "POST", "/api/v1/networks/red%3Ax/", """{"subnet":"10.9.3.0/24"}""", HttpStatusCode.Forbidden },
        { "GET", "/api/v1/tenants/red/", null, HttpStatusCode.Forbidden },
        { "GET", "/api/v1/inspect/tenants/red/", null, HttpStatusCode.Forbidden },
        { "POST", "/api/v1/tenants/green/", """{"tenantName":"green"}""", HttpStatusCode.Forbidden },
        { "DELETE", "/api/v1/tenants/red/", null, HttpStatusCode.Forbidden },
        { "POST", "/api/v1/globals/global/", """{"fwdMode":"routing"}""", HttpStatusCode.Forbidden },
        { "PUT", "/api/v1/globals/global/", """{"fwdMode":"routing"}""", HttpStatusCode.Forbidden },
        { "GET", "/api/v1/inspect/endpoints/ab12ed000002/", null, HttpStatusCode.NotFound },

        // Its own tenant and global settings (read) are fine.
        { "GET", "/api/v1/networks/blue:web/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/inspect/networks/blue:web/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/tenants/blue/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/globals/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/globals/global/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/inspect/globals/global/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/inspect/endpoints/ab12b1ue0001/", null, HttpStatusCode.OK },
        { "GET", "/api/v1/networks/blue:nope/", null, HttpStatusCode.NotFound },
        { "PUT", "/api/v1/networks/blue:web/", """{"subnet":"10.1.2.0/24"}""", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(ScopedRest))]
    public async Task Scoped_rest_requests_get_403_for_other_tenants_and_global_writes(string method, string path, string? body, HttpStatusCode status)
    {
        var before = await fixture.StateAsync();
        using var http = Server.HttpWithToken(SecureNetMaster.BlueToken);
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(status, response.StatusCode);
        if (status == HttpStatusCode.Forbidden)
        {
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.StartsWith("forbidden: the token is scoped to tenant blue", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await fixture.StateAsync());
    }

    [Fact]
    public async Task A_scoped_token_inspects_its_endpoints_and_prefixes_count_only_its_tenant()
    {
        // ab12 is the prefix of a blue and a red endpoint: for blue it is unique, for admin ambiguous.
        var blue = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "endpoint", "inspect", "ab12");
        Assert.Equal(0, blue.ExitCode);
        using (var doc = JsonDocument.Parse(blue.Stdout))
        {
            Assert.Equal("ab12b1ue0001", doc.RootElement.GetProperty("Oper").GetProperty("endpointID").GetString());
        }

        var admin = await Server.NetCtlAsync(SecureNetMaster.AdminToken, "endpoint", "inspect", "ab12");
        Assert.Equal((1, "Error: endpoint id ab12 is ambiguous (2 matches)\n"), (admin.ExitCode, admin.Stderr));

        var red = await Server.NetCtlAsync(SecureNetMaster.RedToken, "endpoint", "inspect", "ab12");
        using (var doc = JsonDocument.Parse(red.Stdout))
        {
            Assert.Equal("ab12ed000002", doc.RootElement.GetProperty("Oper").GetProperty("endpointID").GetString());
        }
    }

    [Fact]
    public async Task A_scoped_token_manages_networks_of_its_own_tenant()
    {
        var create = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "create", "-t", "blue", "-s", "10.9.4.0/24", "-g", "10.9.4.1", "api");
        Assert.Equal((0, "Creating network blue:api\n", string.Empty), (create.ExitCode, create.Stdout, create.Stderr));

        var inspect = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "inspect", "-t", "blue", "api");
        Assert.Equal(0, inspect.ExitCode);
        Assert.Equal("api\nweb\n", string.Concat((await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "ls", "-t", "blue", "-q")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).Select(l => l + "\n")));

        // Red cannot see or remove it; the admin sees it.
        var redRm = await Server.NetCtlAsync(SecureNetMaster.RedToken, "net", "rm", "-t", "blue", "api");
        Assert.Equal((1, "Error: forbidden: the token is scoped to tenant red and cannot access tenant blue\n"), (redRm.ExitCode, redRm.Stderr));
        Assert.Contains("api", (await Server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls", "-a", "-q")).Stdout, StringComparison.Ordinal);

        var global = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "global", "info");
        Assert.Equal(0, global.ExitCode);
        Assert.Contains("Forward mode: bridge", global.Stdout, StringComparison.Ordinal);

        var rm = await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "rm", "-t", "blue", "api");
        Assert.Equal((0, "Deleting network blue:api\n", string.Empty), (rm.ExitCode, rm.Stdout, rm.Stderr));
    }

    [Fact]
    public async Task Refusals_are_logged_with_method_path_and_remote_address_but_no_token()
    {
        const string Wrong = "wr0ng-token-feedfacecafebeef0123";
        await Server.NetCtlAsync(null, "net", "ls", "-a");
        await Server.NetCtlAsync(Wrong, "tenant", "ls");
        await Server.NetCtlAsync(SecureNetMaster.BlueToken, "net", "inspect", "-t", "red", "db");

        var lines = Server.Logs.Lines.Where(l => l.Contains(TokenAuthentication.LogCategory, StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^Warning [^:]+: 401 GET /api/v1/networks/ from 127\.0\.0\.1:\d+: no token \|"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^Warning [^:]+: 401 GET /api/v1/tenants/ from 127\.0\.0\.1:\d+: unknown token \|"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^Warning [^:]+: 403 GET /api/v1/inspect/networks/red:db/ from 127\.0\.0\.1:\d+ with token of tenant blue \(line 3\): forbidden: "));
        SecretAssert.NoSecrets(Server.Logs.Text, Wrong, SecureNetMaster.AdminToken, SecureNetMaster.BlueToken, SecureNetMaster.RedToken);
    }
}
