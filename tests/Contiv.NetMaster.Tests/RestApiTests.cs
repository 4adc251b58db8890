using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// netmaster's REST API called directly: Contiv's paths (trailing slash optional), list endpoints,
/// and every refusal as a 4xx status with a one-line <c>{"error": "..."}</c> body.
/// </summary>
public sealed class RestApiTests(NetMasterFixture fixture) : IClassFixture<NetMasterFixture>
{
    private HttpClient Http => fixture.Server.Http;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, string Body, string? MediaType)> SendAsync(string method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : Json(body) };
        using var response = await Http.SendAsync(request, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct), response.Content.Headers.ContentType?.MediaType);
    }

    private static void AssertErrorBody(string body, string? mediaType, string fragment)
    {
        Assert.Equal("application/json", mediaType);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        Assert.Equal(["error"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        var message = doc.RootElement.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.DoesNotContain('\n', message);
        Assert.Contains(fragment, message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string?, HttpStatusCode, string> Refusals => new()
    {
        // 400: the request itself is wrong.
        { "PUT", "/api/v1/networks/default:contiv-net/", """{"tenantName":"default","networkName":"contiv-net","subnet":"10.9.9.0/24","encap":"vxlan"}""", HttpStatusCode.BadRequest, "Cant change network parameters" },
        { "PUT", "/api/v1/networks/default:contiv-net", """{"subnet":"10.1.2.0/24"}""", HttpStatusCode.BadRequest, "Cant change network parameters" },
        { "POST", "/api/v1/networks/default:n1/", """{"subnet":"10.1.2.0/33"}""", HttpStatusCode.BadRequest, "prefix length must be between" },
        { "POST", "/api/v1/networks/default:n1/", """{"subnet":"10.1.9.0/24","gateway":"10.1.8.1"}""", HttpStatusCode.BadRequest, "gateway 10.1.8.1 is not inside subnet 10.1.9.0/24" },
        { "POST", "/api/v1/networks/default:n1/", """{"subnet":"10.1.9.0/24","ipv6Gateway":"2001:db8::1"}""", HttpStatusCode.BadRequest, "an IPv6 gateway needs an IPv6 subnet" },
        { "POST", "/api/v1/networks/default:n1/", """{"subnet":"10.1.9.0/24","encap":"vlan","pktTag":4095}""", HttpStatusCode.BadRequest, "outside the configured vlan range" },
        { "POST", "/api/v1/networks/default:n1/", """{"subnet":"10.1.9.0/24","pktTag":-5}""", HttpStatusCode.BadRequest, "must be positive" },
        { "POST", "/api/v1/networks/default:n1/", """{"tenantName":"blue","networkName":"n1","subnet":"10.1.9.0/24"}""", HttpStatusCode.BadRequest, "does not match" },
        { "POST", "/api/v1/networks/default:n1/", """{"networkName":"n2","subnet":"10.1.9.0/24"}""", HttpStatusCode.BadRequest, "does not match" },
        { "POST", "/api/v1/networks/default:a%2Fb/", """{"subnet":"10.1.9.0/24"}""", HttpStatusCode.BadRequest, "invalid network name" },
        { "POST", "/api/v1/networks/default:a%20b/", """{"subnet":"10.1.9.0/24"}""", HttpStatusCode.BadRequest, "invalid network name \"a b\"" },
        { "POST", "/api/v1/networks/nocolon/", """{"subnet":"10.1.9.0/24"}""", HttpStatusCode.BadRequest, "expected TENANT:NETWORK" },
        { "GET", "/api/v1/networks/nocolon/", null, HttpStatusCode.BadRequest, "expected TENANT:NETWORK" },
        { "POST", "/api/v1/tenants/a%20b/", """{}""", HttpStatusCode.BadRequest, "invalid tenant name \"a b\"" },
        { "POST", "/api/v1/tenants/t1/", """{"tenantName":"t2"}""", HttpStatusCode.BadRequest, "does not match" },
        { "DELETE", "/api/v1/tenants/default/", null, HttpStatusCode.BadRequest, "the default tenant cannot be deleted" },
        { "POST", "/api/v1/globals/global/", """{"fwdMode":"bogus"}""", HttpStatusCode.BadRequest, "invalid fwd-mode" },

        // 404: a named object does not exist.
        { "GET", "/api/v1/tenants/nope/", null, HttpStatusCode.NotFound, "tenant nope does not exist" },
        { "DELETE", "/api/v1/tenants/nope", null, HttpStatusCode.NotFound, "tenant nope does not exist" },
        { "GET", "/api/v1/networks/default:nope/", null, HttpStatusCode.NotFound, "network default:nope does not exist" },
        { "DELETE", "/api/v1/networks/default:nope/", null, HttpStatusCode.NotFound, "network default:nope does not exist" },
        { "POST", "/api/v1/networks/nope:n1/", """{"subnet":"10.1.9.0/24"}""", HttpStatusCode.NotFound, "tenant nope does not exist" },
        { "GET", "/api/v1/inspect/networks/default:nope/", null, HttpStatusCode.NotFound, "network default:nope does not exist" },
        { "GET", "/api/v1/inspect/tenants/nope/", null, HttpStatusCode.NotFound, "tenant nope does not exist" },
        { "GET", "/api/v1/inspect/endpoints/abcdef/", null, HttpStatusCode.NotFound, "endpoint abcdef not found" },

        // 409: clashes with existing state.
        { "POST", "/api/v1/networks/default:contiv-net/", """{"subnet":"10.1.2.0/24"}""", HttpStatusCode.Conflict, "network default:contiv-net already exists" },
        { "POST", "/api/v1/networks/default:n1/", """{"subnet":"10.1.9.0/24","encap":"vlan","pktTag":112}""", HttpStatusCode.Conflict, "pkt-tag 112 is already used" },
        { "POST", "/api/v1/tenants/blue/", """{"tenantName":"blue"}""", HttpStatusCode.Conflict, "tenant blue already exists" },
        { "DELETE", "/api/v1/tenants/blue/", null, HttpStatusCode.Conflict, "tenant blue has 1 network(s)" },
        { "POST", "/api/v1/globals/global/", """{"vlans":"1-100"}""", HttpStatusCode.Conflict, "excludes vlan 112" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refusals_have_the_right_status_and_a_json_error_body(string method, string path, string? body, HttpStatusCode status, string fragment)
    {
        var before = await fixture.StateAsync();
        var (actual, text, mediaType) = await SendAsync(method, path, body);
        Assert.Equal(status, actual);
        AssertErrorBody(text, mediaType, fragment);
        Assert.Equal(before, await fixture.StateAsync());
    }

    [Theory]
    [InlineData("/api/v1/tenants")]
    [InlineData("/api/v1/tenants/blue")]
    [InlineData("/api/v1/networks")]
    [InlineData("/api/v1/networks/blue:contiv-net")]
    [InlineData("/api/v1/globals")]
    [InlineData("/api/v1/globals/global")]
    [InlineData("/api/v1/inspect/networks/default:contiv-vlan")]
    [InlineData("/api/v1/inspect/tenants/blue")]
    [InlineData("/api/v1/inspect/globals/global")]
    public async Task The_trailing_slash_is_optional(string path)
    {
        var without = await SendAsync("GET", path);
        var with = await SendAsync("GET", path + "/");
        Assert.Equal(HttpStatusCode.OK, without.Status);
        Assert.Equal("application/json", without.MediaType);
        Assert.Equal(without, with);
    }

    [Fact]
    public async Task List_endpoints_return_json_arrays()
    {
        using var networks = JsonDocument.Parse((await SendAsync("GET", "/api/v1/networks/")).Body);
        Assert.Equal(
            ["blue:contiv-net", "default:contiv-net", "default:contiv-vlan"],
            networks.RootElement.EnumerateArray().Select(n => n.GetProperty("key").GetString()).Order(StringComparer.Ordinal));
        var vlan = networks.RootElement.EnumerateArray().Single(n => n.GetProperty("key").GetString() == "default:contiv-vlan");
        Assert.Equal(112, vlan.GetProperty("pktTag").GetInt32());
        Assert.Equal("vlan", vlan.GetProperty("encap").GetString());

        using var tenants = JsonDocument.Parse((await SendAsync("GET", "/api/v1/tenants/")).Body);
        Assert.Equal(["default", "blue"], tenants.RootElement.EnumerateArray().Select(t => t.GetProperty("tenantName").GetString()));

        using var globals = JsonDocument.Parse((await SendAsync("GET", "/api/v1/globals/")).Body);
        var global = Assert.Single(globals.RootElement.EnumerateArray());
        Assert.Equal("global", global.GetProperty("name").GetString());
        Assert.Equal("1-4094", global.GetProperty("vlans").GetString());

        using var tenant = JsonDocument.Parse((await SendAsync("GET", "/api/v1/inspect/tenants/blue/")).Body);
        Assert.Equal(1, tenant.RootElement.GetProperty("Oper").GetProperty("networks").GetInt32());
    }

    [Fact]
    public async Task Health_and_version_answer()
    {
        var health = await SendAsync("GET", "/health");
        Assert.Equal((HttpStatusCode.OK, "application/json"), (health.Status, health.MediaType));
        using (var body = JsonDocument.Parse(health.Body))
        {
            Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        }

        using var version = JsonDocument.Parse((await SendAsync("GET", "/version")).Body);
        Assert.Equal(["Version", "GitCommit", "BuildTime"], version.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("{", "application/json")]
    [InlineData("[]", "application/json")]
    [InlineData("""{"pktTag":"x"}""", "application/json")]
    [InlineData("", "application/json")]
    [InlineData("""{"subnet":"10.1.9.0/24"}""", "text/plain")]
    public async Task Malformed_bodies_get_a_json_error_too(string body, string contentType)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await Http.PostAsync("/api/v1/networks/default:n1/", content, Ct);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, response.StatusCode.ToString());
        AssertErrorBody(await response.Content.ReadAsStringAsync(Ct), response.Content.Headers.ContentType?.MediaType, string.Empty);
    }
}

/// <summary>REST calls that change state, each on its own netmaster.</summary>
public sealed class RestApiMutationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Create_read_and_delete_through_rest_match_what_netctl_shows()
    {
        await using var server = await NetMasterServer.StartAsync();
        var http = server.Http;

        using var created = await http.PostAsync(
            "/api/v1/tenants/red",
            new StringContent("""{"tenantName":"red"}""", Encoding.UTF8, "application/json"),
            Ct);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);

        // Name fields may be left out of the body: the URL key supplies them.
        using var net = await http.PostAsync(
            "/api/v1/networks/red:web/",
            new StringContent("""{"subnet":"10.20.0.0/16","gateway":"10.20.0.1","encap":"VLAN","pktTag":300,"nwType":"Data"}""", Encoding.UTF8, "application/json"),
            Ct);
        Assert.Equal(HttpStatusCode.OK, net.StatusCode);
        using (var body = JsonDocument.Parse(await net.Content.ReadAsStringAsync(Ct)))
        {
            var root = body.RootElement;
            Assert.Equal("red:web", root.GetProperty("key").GetString());
            Assert.Equal("vlan", root.GetProperty("encap").GetString());
            Assert.Equal("data", root.GetProperty("nwType").GetString());
            Assert.Equal("red", root.GetProperty("links").GetProperty("Tenant").GetProperty("key").GetString());
        }

        var ls = await server.NetCtlAsync("net", "ls", "-t", "red");
        Assert.Equal(
            "Tenant  Network  Nw Type  Encap type  Packet tag  Subnet        Gateway    IPv6Subnet  IPv6Gateway  Cfgd Tag\n"
            + "------  -------  -------  ----------  ----------  -------       ------     ----------  -----------  ---------\n"
            + "red     web      data     vlan        300         10.20.0.0/16  10.20.0.1\n",
            ls.Stdout);

        using var inspect = JsonDocument.Parse(await http.GetStringAsync("/api/v1/inspect/networks/red:web/", Ct));
        Assert.Equal("10.20.0.2-10.20.255.254", inspect.RootElement.GetProperty("Oper").GetProperty("availableIPAddresses").GetString());

        using (var del = await http.DeleteAsync("/api/v1/networks/red:web/", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        }

        using (var again = await http.DeleteAsync("/api/v1/networks/red:web/", Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        using (var tenant = await http.DeleteAsync("/api/v1/tenants/red/", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, tenant.StatusCode);
        }

        Assert.Equal("default\n", (await server.NetCtlAsync("tenant", "ls", "-q")).Stdout);
    }

    [Fact]
    public async Task A_network_with_endpoints_cannot_be_deleted_and_its_tag_is_freed_afterwards()
    {
        await using var server = await NetMasterServer.StartAsync();
        Assert.Equal(0, (await server.NetCtlAsync("net", "create", "-s", "10.1.2.0/24", "contiv-net")).ExitCode);
        var lease = await server.Control.AllocateAddressAsync("contiv-net.default", null, Ct);
        await server.Control.PutEndpointAsync(
            new Contiv.Model.EndpointOper { EndpointId = "ep1", HomingHost = "h1", Network = "contiv-net.default", IpAddress = [lease.Address, string.Empty], ContainerName = "c1" },
            Ct);

        var refused = await server.NetCtlAsync("net", "rm", "contiv-net");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("Error: network default:contiv-net has 1 active endpoint(s) (c1); remove the containers first\n", refused.Stderr);

        await server.Control.DeleteEndpointAsync("contiv-net.default", "ep1", Ct);
        await server.Control.ReleaseAddressAsync("contiv-net.default", lease.Address, Ct);
        Assert.Equal(0, (await server.NetCtlAsync("net", "rm", "contiv-net")).ExitCode);

        // VNI 1 is free again.
        Assert.Equal(0, (await server.NetCtlAsync("net", "create", "-s", "10.1.4.0/24", "other")).ExitCode);
        using var doc = JsonDocument.Parse((await server.NetCtlAsync("net", "inspect", "other")).Stdout);
        Assert.Equal(1, doc.RootElement.GetProperty("Oper").GetProperty("externalPktTag").GetInt32());
    }
}
