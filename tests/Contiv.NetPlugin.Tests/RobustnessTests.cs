using System.Net;
using System.Text;
using System.Text.Json;
using Contiv.Model;
using Contiv.TestSupport;
using Xunit;
using B = Contiv.NetPlugin.Tests.DockerBodies;

namespace Contiv.NetPlugin.Tests;

/// <summary>
/// Whatever arrives on the socket, on every call the server maps: the reply is JSON with the plugin
/// content type, a refusal carries a non-empty Err, nothing is a 500, the server keeps serving and
/// the store is exactly as before. Random inputs use fixed seeds, so a failure reproduces.
/// </summary>
public sealed class RobustnessTests : IAsyncLifetime
{
    /// <summary>Every call PluginServer.Map registers today; the test fails when one is added without being listed here.</summary>
    private static readonly string[] KnownPaths =
    [
        "/IpamDriver.GetCapabilities", "/IpamDriver.GetDefaultAddressSpaces", "/IpamDriver.ReleaseAddress", "/IpamDriver.ReleasePool",
        "/IpamDriver.RequestAddress", "/IpamDriver.RequestPool", "/NetworkDriver.AllocateNetwork", "/NetworkDriver.CreateEndpoint",
        "/NetworkDriver.CreateNetwork", "/NetworkDriver.DeleteEndpoint", "/NetworkDriver.DeleteNetwork", "/NetworkDriver.DiscoverDelete",
        "/NetworkDriver.DiscoverNew", "/NetworkDriver.EndpointOperInfo", "/NetworkDriver.FreeNetwork", "/NetworkDriver.GetCapabilities",
        "/NetworkDriver.Join", "/NetworkDriver.Leave", "/NetworkDriver.ProgramExternalConnectivity", "/NetworkDriver.RevokeExternalConnectivity",
        "/Plugin.Activate",
    ];

    /// <summary>Calls that take no request (Docker sends an empty body): blank, null and {} are fine for them.</summary>
    private static readonly HashSet<string> NoRequest =
    [
        "/Plugin.Activate", "/NetworkDriver.GetCapabilities", "/IpamDriver.GetCapabilities", "/IpamDriver.GetDefaultAddressSpaces",
        "/NetworkDriver.DiscoverNew", "/NetworkDriver.DiscoverDelete",
    ];

    private const string UnknownNetwork = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    private const string UnknownEndpoint = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    private static readonly string[] FieldNames =
    [
        "NetworkID", "EndpointID", "PoolID", "Address", "Pool", "SubPool", "AddressSpace", "Options", "Interface", "IPv4Data", "IPv6Data",
        "V6", "SandboxKey", "DiscoveryType", "DiscoveryData", "AddressIPv6", "MacAddress", "Gateway", "com.docker.network.generic",
        "RequestAddressType", "tenant", "network", "encap", "pkt-tag", "Err", "networkid",
    ];

    /// <summary>Near misses of real values (never the real ids or subnet, so no call may change the store).</summary>
    private static readonly string[] Interesting =
    [
        string.Empty, " ", "|", "/", ".", ":", "a|b/c", "||/", "nope.default|10.1.2.0/24", "contiv-net.nope|10.1.2.0/24", "contiv-net.default|",
        "contiv-net.default", "10.1.2.0/25", "10.1.2.0/33", "10.1.2.1/24", "10.1.2.1", "10.1.9.0/24", "300.1.2.3", "::1", "2001:db8::/64",
        "com.docker.network.gateway", "vlan", "vxlan", "4095", "-1", "99999999999", "nope", "a b", "x/y", "default", UnknownNetwork,
        UnknownEndpoint, "\u0000", "\ud83d\udca5", "..", "../../etc/passwd", "%2F", "\n", new string('a', 5000), "null", "{}", "[]",
    ];

    private readonly TempDirectory _directory = TempDirectory.Create("cnp-");
    private PluginHarness? _plugin;
    private string _poolId = string.Empty;

    private PluginHarness Plugin => _plugin!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _plugin = await PluginHarness.StartAsync(_directory);
        await Plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);

        // A network with one running container (10.1.2.1) while the abuse happens.
        _poolId = (await Plugin.OkAsync("/IpamDriver.RequestPool", B.RequestPool())).GetProperty("PoolID").GetString()!;
        await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestGateway(_poolId));
        await Plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
        await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(_poolId));
        await Plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
        await Plugin.OkAsync("/NetworkDriver.Join", B.Join());
    }

    public async ValueTask DisposeAsync()
    {
        if (_plugin is not null)
        {
            await _plugin.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public void The_mapped_calls_are_the_known_ones()
    {
        Assert.Equal(KnownPaths.Order(StringComparer.Ordinal), Plugin.MappedPaths());
    }

    public static TheoryData<string> Paths => new(KnownPaths);

    /// <summary>Hand-written malformed bodies: bad syntax, wrong shapes, wrong types, odd encodings.</summary>
    private static IEnumerable<(string Name, byte[] Body)> MalformedBodies()
    {
        string[] texts =
        [
            "{", "}", "{\"NetworkID\":", "[]", "[1,2]", "\"x\"", "42", "true", "null", " null ", "{}", "{ }",
            "{\"NetworkID\": 5}", "{\"NetworkID\": null}", "{\"NetworkID\": \"\"}", "{\"NetworkID\": {}}", "{\"NetworkID\": []}", "{\"NetworkID\": true}",
            "{\"EndpointID\": 5}", "{\"PoolID\": 5}", "{\"PoolID\": \"\"}", "{\"PoolID\": null, \"Address\": null}", "{\"Address\": 7}",
            "{\"Options\": 5}", "{\"Options\": {\"a\": 1}}", "{\"Options\": []}", "{\"Options\": {\"com.docker.network.generic\": 5}}",
            "{\"Interface\": 5}", "{\"Interface\": {\"Address\": 5}}", "{\"Interface\": []}",
            "{\"IPv4Data\": {}}", "{\"IPv4Data\": [null]}", "{\"IPv4Data\": [5]}", "{\"IPv4Data\": [{\"Pool\": 5}]}",
            "{\"V6\": \"yes\"}", "{\"V6\": 1}", "{\"V6\": null}", "{\"DiscoveryType\": \"x\"}", "{\"DiscoveryType\": 1e400}", "{\"DiscoveryType\": 99999999999}",
            "{\"DiscoveryType\": \"7\"}", "{\"NetworkID\":\"a\",\"NetworkID\":\"b\"}", "{\"NetworkID\": \"\\u0000\"}", "{\"NetworkID\": \"\\ud800\"}",
            "{/* comment */}", "{\"NetworkID\":\"x\",}", "{'NetworkID':'x'}", "{NetworkID: \"x\"}", "{\"networkid\": \"x\"}", "NaN", "{\"V6\": NaN}",
            "{\"NetworkID\": \"" + UnknownNetwork + "\"} trailing", "{}{}", "\u00EF\u00BB\u00BF{}",
            "{\"Options\":" + new string('[', 5000) + new string(']', 5000) + "}",
            "{\"Options\":{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 201) + "}",
        ];
        foreach (var text in texts)
        {
            yield return (text.Length > 60 ? text[..60] + "..." : text, Encoding.UTF8.GetBytes(text));
        }

        yield return ("BOM + {}", [0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}']);
        yield return ("invalid UTF-8 in a string", [.. "{\"NetworkID\": \""u8, 0xFF, 0xFE, 0xC0, .. "\"}"u8]);
        yield return ("UTF-16", Encoding.Unicode.GetBytes("{\"NetworkID\": \"x\"}"));
        yield return ("NUL bytes", new byte[64]);
    }

    /// <summary>Well-formed bodies naming ids, pools and addresses that do not exist.</summary>
    private static IEnumerable<(string Name, string Body)> UnknownIds()
    {
        yield return ("unknown network", B.Network(UnknownNetwork));
        yield return ("unknown endpoint", B.Endpoint(B.DockerNetworkId, UnknownEndpoint));
        yield return ("unknown network and endpoint", B.Endpoint(UnknownNetwork, UnknownEndpoint));
        yield return ("create endpoint on unknown network", B.CreateEndpoint("10.1.2.9/24", UnknownNetwork, UnknownEndpoint));
        yield return ("join unknown", B.Join(UnknownNetwork, UnknownEndpoint));
        yield return ("pool of unknown network", B.RequestAddress("nope.default|10.1.2.0/24"));
        yield return ("pool of unknown tenant", B.RequestAddress("contiv-net.nope|10.1.2.0/24"));
        yield return ("garbage pool", B.RequestAddress("garbage"));
        yield return ("release in unknown pool", B.ReleaseAddress("nope.default|10.1.2.0/24", "10.1.2.1"));
        yield return ("release garbage pool", B.ReleaseAddress("garbage", "10.1.2.1"));
        yield return ("release pool garbage", B.ReleasePool("garbage"));
        yield return ("request pool for unknown network", B.RequestPool(network: "nope"));
        yield return ("request pool for unknown tenant", B.RequestPool(tenant: "nope"));
        yield return ("request pool with another subnet", B.RequestPool(pool: "10.1.9.0/24"));
        yield return ("create network for unknown tenant", B.CreateNetwork(UnknownNetwork, tenant: "nope", tag: 77));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task Malformed_bodies_and_unknown_ids_get_json_refusals_and_change_nothing(string path)
    {
        var before = await Plugin.StoreSnapshotAsync();
        var failures = new List<string>();
        foreach (var (name, body) in MalformedBodies())
        {
            var reply = await Plugin.PostBytesAsync(path, body);
            Check(failures, $"{path} <- {name}", reply, mustRefuse: !NoRequest.Contains(path) && !IsJsonObject(body));
        }

        // (DeleteNetwork of the live network id would legitimately unbind it, so that one body is left out there.)
        foreach (var (name, body) in UnknownIds().Where(c => !(path == "/NetworkDriver.DeleteNetwork" && c.Body.Contains(B.DockerNetworkId, StringComparison.Ordinal))))
        {
            Check(failures, $"{path} <- {name}", await Plugin.PostAsync(path, body), mustRefuse: false);
        }

        // Blank and null bodies: fine for calls without a request, refused with 400 for the others.
        foreach (var body in new[] { string.Empty, "null", "\n" })
        {
            var reply = await Plugin.PostAsync(path, body);
            Check(failures, $"{path} <- '{body}'", reply, mustRefuse: !NoRequest.Contains(path));
            if (!NoRequest.Contains(path) && reply.Status != HttpStatusCode.BadRequest)
            {
                failures.Add($"{path} <- '{body}': expected 400, got {reply}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await Plugin.StoreSnapshotAsync());
        await FinalHappyPathAsync();
    }

    [Fact]
    public async Task Random_bytes_and_random_json_get_json_replies_and_change_nothing()
    {
        var before = await Plugin.StoreSnapshotAsync();
        var random = new Random(20261123);
        var failures = new List<string>();
        var (handlerRefusals, parseRefusals) = (0, 0);
        for (var i = 0; i < 400; i++)
        {
            var path = KnownPaths[random.Next(KnownPaths.Length)];
            var body = RandomBytes(random);
            Check(failures, $"case {i}: {path} <- bytes {Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 40)))}", await Plugin.PostBytesAsync(path, body), mustRefuse: false);
        }

        for (var i = 0; i < 400; i++)
        {
            var path = KnownPaths[random.Next(KnownPaths.Length)];
            var body = RandomJsonBody(random);
            var reply = await Plugin.PostAsync(path, body);
            Check(failures, $"json case {i}: {path} <- {(body.Length > 300 ? body[..300] : body)}", reply, mustRefuse: false);
            handlerRefusals += reply.Status == HttpStatusCode.OK && reply.Body.StartsWith("{\"Err\"", StringComparison.Ordinal) ? 1 : 0;
            parseRefusals += reply.Status == HttpStatusCode.BadRequest ? 1 : 0;
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await Plugin.StoreSnapshotAsync());

        // The random JSON got past parsing often enough to exercise the handlers' own checks.
        Assert.True(handlerRefusals >= 100, $"only {handlerRefusals} random bodies reached a handler's refusal");
        Assert.True(parseRefusals >= 50, $"only {parseRefusals} random bodies were refused as unreadable");
        await FinalHappyPathAsync();
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task Two_megabyte_bodies_are_refused_with_json(string path)
    {
        var before = await Plugin.StoreSnapshotAsync();
        var failures = new List<string>();
        var big = Encoding.UTF8.GetBytes("{\"NetworkID\": \"" + new string('a', 2 << 20) + "\"}");
        foreach (var chunked in new[] { false, true })
        {
            var reply = await Plugin.RawPostAsync(path, big, chunked);
            Check(failures, $"{path} <- 2 MB (chunked: {chunked})", reply, mustRefuse: true);
            if (reply.Status != HttpStatusCode.BadRequest)
            {
                failures.Add($"{path} <- 2 MB (chunked: {chunked}): expected 400, got {(int)reply.Status}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await Plugin.StoreSnapshotAsync());
        await FinalHappyPathAsync();
    }

    [Fact]
    public async Task Without_kestrels_limit_the_plugin_still_refuses_big_bodies_itself()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await PluginHarness.StartAsync(directory, productionBodyLimit: false);
        var failures = new List<string>();
        var big = Encoding.UTF8.GetBytes("{\"PoolID\": \"" + new string('a', 2 << 20) + "\"}");
        foreach (var chunked in new[] { false, true })
        {
            var reply = await plugin.RawPostAsync("/IpamDriver.RequestAddress", big, chunked);
            Check(failures, $"2 MB (chunked: {chunked})", reply, mustRefuse: true);
            Assert.Contains("byte limit", reply.Err, StringComparison.Ordinal);
        }

        // Just under the limit is read (and refused for its content, not its size).
        var padded = "{\"PoolID\": \"garbage\"" + new string(' ', (int)PluginServer.MaxBodyBytes - 30) + "}";
        var ok = await plugin.PostAsync("/IpamDriver.RequestAddress", padded);
        Check(failures, "just under the limit", ok, mustRefuse: true);
        Assert.Contains("unknown pool id", ok.Err, StringComparison.Ordinal);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Repeated_and_out_of_order_calls_are_idempotent_or_refused()
    {
        var spec = new NetworkDatapathSpec("contiv-net.default", "vxlan", 1);

        // Join before CreateEndpoint; CreateEndpoint on a network Docker never created with us.
        await Plugin.ErrAsync("/NetworkDriver.Join", B.Join(endpointId: B.EndpointId2), "endpoint 5e1b0c2a7d9f was not created on network contiv-net.default");
        await Plugin.ErrAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.9/24", UnknownNetwork, B.EndpointId2), "network ffffffffffff is not known to netplugin");
        await Plugin.ErrAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint(string.Empty, endpointId: B.EndpointId2), "has no IPv4 address");
        await Plugin.ErrAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2/24", endpointId: B.EndpointId2), "invalid endpoint address");

        // ReleaseAddress with a garbage PoolID, an address outside the pool, an address never handed out.
        await Plugin.ErrAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress("garbage", "10.1.2.1"), "unknown pool id \"garbage\"");
        await Plugin.ErrAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(_poolId, "10.1.3.1"), "is not inside subnet 10.1.2.0/24");
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(_poolId, "10.1.2.77"));

        // RequestPool refusals.
        await Plugin.ErrAsync("/IpamDriver.RequestPool", """{"AddressSpace": "contiv-local", "Pool": "", "Options": {}, "V6": false}""", "a subnet is required");
        await Plugin.ErrAsync("/IpamDriver.RequestPool", """{"AddressSpace": "contiv-local", "Pool": "10.1.2.0/24", "SubPool": "10.1.2.128/25", "Options": {}, "V6": false}""", "--ip-range is not supported");
        await Plugin.ErrAsync("/IpamDriver.RequestPool", """{"AddressSpace": "contiv-local", "Pool": "2001:db8::/64", "Options": {}, "V6": true}""", "IPv6 pools are not supported");
        await Plugin.ErrAsync("/IpamDriver.RequestPool", B.RequestPool(pool: "10.1.9.0/24"), "subnet 10.1.9.0/24 does not match network default:contiv-net, whose subnet is 10.1.2.0/24");

        // Repeats: CreateNetwork, Join, Leave, DeleteEndpoint, DeleteNetwork, ReleasePool are idempotent.
        await Plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
        var join1 = await Plugin.OkAsync("/NetworkDriver.Join", B.Join());
        var join2 = await Plugin.OkAsync("/NetworkDriver.Join", B.Join());
        Assert.Equal(JsonSerializer.Serialize(join1), JsonSerializer.Serialize(join2));
        await Plugin.OkAsync("/NetworkDriver.Leave", B.Endpoint());
        await Plugin.OkAsync("/NetworkDriver.Leave", B.Endpoint());
        await Plugin.OkAsync("/NetworkDriver.DeleteEndpoint", B.Endpoint());
        await Plugin.OkAsync("/NetworkDriver.DeleteEndpoint", B.Endpoint());
        Assert.Empty(await Plugin.Control.ListEndpointsAsync("contiv-net.default", Ct));
        await Plugin.ErrAsync("/NetworkDriver.Join", B.Join(), "was not created");
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(_poolId, "10.1.2.1"));
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(_poolId, "10.1.2.1"));
        await Plugin.OkAsync("/IpamDriver.ReleasePool", B.ReleasePool(_poolId));
        await Plugin.OkAsync("/IpamDriver.ReleasePool", B.ReleasePool(_poolId));
        await Plugin.OkAsync("/NetworkDriver.DeleteNetwork", B.Network());
        await Plugin.OkAsync("/NetworkDriver.DeleteNetwork", B.Network());
        await Plugin.ErrAsync("/NetworkDriver.Join", B.Join(), "is not known to netplugin");
        Assert.Equal(
            [new DatapathCall("DeleteEndpoint", spec, B.EndpointId), new DatapathCall("DeleteEndpoint", spec, B.EndpointId), new DatapathCall("RemoveNetwork", spec)],
            Plugin.Datapath.Calls.Where(c => c.Operation is "DeleteEndpoint" or "RemoveNetwork"));

        // Nothing leaked: every address is free again and the network can be used from scratch.
        var inspect = await Plugin.Control.InspectNetworkAsync("default", "contiv-net", Ct);
        Assert.Equal((null, "10.1.2.1-10.1.2.254", 0), (inspect.Oper.AllocatedIpAddresses, inspect.Oper.AvailableIpAddresses, inspect.Oper.NumEndpoints));
        await Plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
        Assert.Equal("10.1.2.1/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(_poolId))).GetProperty("Address").GetString());
    }

    /// <summary>A second container comes and goes on the abused network exactly as on a fresh one.</summary>
    private async Task FinalHappyPathAsync()
    {
        var before = await Plugin.StoreSnapshotAsync();
        Assert.Equal("10.1.2.2/24", (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(_poolId))).GetProperty("Address").GetString());
        var created = await Plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.2/24", endpointId: B.EndpointId2));
        Assert.Equal("02:02:0a:01:02:02", created.GetProperty("Interface").GetProperty("MacAddress").GetString());
        await Plugin.OkAsync("/NetworkDriver.Join", B.Join(endpointId: B.EndpointId2));
        var inspect = await Plugin.Control.InspectNetworkAsync("default", "contiv-net", Ct);
        Assert.Equal(("10.1.2.1-10.1.2.2", 2), (inspect.Oper.AllocatedIpAddresses, inspect.Oper.NumEndpoints));
        Assert.Equal([B.EndpointId, B.EndpointId2], inspect.Oper.Endpoints!.Select(e => e.EndpointId).Order(StringComparer.Ordinal).Reverse());
        await Plugin.OkAsync("/NetworkDriver.Leave", B.Endpoint(endpointId: B.EndpointId2));
        await Plugin.OkAsync("/NetworkDriver.DeleteEndpoint", B.Endpoint(endpointId: B.EndpointId2));
        await Plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(_poolId, "10.1.2.2"));
        Assert.Equal(before, await Plugin.StoreSnapshotAsync());
    }

    /// <summary>Whether the body is one well-formed JSON object (anything else must be refused by every call that reads a request).</summary>
    private static bool IsJsonObject(byte[] body)
    {
        try
        {
            // A UTF-8 byte order mark is skipped, as System.Text.Json's stream deserializer does.
            using var doc = JsonDocument.Parse(body.AsMemory(body.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0));
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The protocol's promises for any reply; <paramref name="mustRefuse"/>: this input cannot be a success.</summary>
    private static void Check(List<string> failures, string what, PluginReply reply, bool mustRefuse)
    {
        if (reply.Status is not (HttpStatusCode.OK or HttpStatusCode.BadRequest))
        {
            failures.Add($"{what}: status {(int)reply.Status}: {reply.Body}");
        }

        if (reply.ContentType != PluginServer.ContentType)
        {
            failures.Add($"{what}: content type {reply.ContentType ?? "(none)"}");
        }

        JsonElement json;
        try
        {
            json = reply.Json;
        }
        catch (JsonException)
        {
            failures.Add($"{what}: body is not JSON: {reply.Body}");
            return;
        }

        if (json.ValueKind != JsonValueKind.Object)
        {
            failures.Add($"{what}: body is not a JSON object: {reply.Body}");
            return;
        }

        var hasErr = json.TryGetProperty("Err", out var err);
        if (hasErr && (err.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(err.GetString())))
        {
            failures.Add($"{what}: empty Err: {reply.Body}");
        }

        if ((reply.Status != HttpStatusCode.OK || mustRefuse) && !hasErr)
        {
            failures.Add($"{what}: a refusal without Err: {(int)reply.Status} {reply.Body}");
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var body = new byte[random.Next(0, 400)];
        random.NextBytes(body);
        switch (random.Next(4))
        {
            case 0 when body.Length > 0:
                body[0] = (byte)'{';
                break;
            case 1:
                body = [.. "{\"NetworkID\": \""u8, .. body];
                break;
            case 2:
                // Printable noise, which is closer to JSON than raw bytes.
                const string alphabet = "{}[]\":,0123456789.-eE tfnrul\\abc";
                for (var i = 0; i < body.Length; i++)
                {
                    body[i] = (byte)alphabet[random.Next(alphabet.Length)];
                }

                break;
        }

        return body;
    }

    private static string RandomJsonBody(Random random)
    {
        if (random.Next(10) == 0)
        {
            return RandomValue(random, 2);
        }

        var fields = Enumerable.Range(0, random.Next(0, 7))
            .Select(_ => $"{JsonSerializer.Serialize(FieldNames[random.Next(FieldNames.Length)])}: {RandomValue(random, 3)}");
        return "{" + string.Join(", ", fields) + "}";
    }

    private static string RandomValue(Random random, int depth)
    {
        switch (random.Next(depth > 0 ? 9 : 6))
        {
            case 0:
            case 1:
                return JsonSerializer.Serialize(Interesting[random.Next(Interesting.Length)]);
            case 2:
                return JsonSerializer.Serialize(new string(Enumerable.Range(0, random.Next(0, 30)).Select(_ => (char)random.Next(1, 0xD7FF)).ToArray()));
            case 3:
                return random.Next(4) switch
                {
                    0 => random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    1 => (-random.Next()).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    2 => "1e400",
                    _ => "3.25",
                };
            case 4:
                return random.Next(2) == 0 ? "true" : "false";
            case 5:
                return "null";
            case 6:
            case 7:
                var fields = Enumerable.Range(0, random.Next(0, 4))
                    .Select(_ => $"{JsonSerializer.Serialize(random.Next(2) == 0 ? FieldNames[random.Next(FieldNames.Length)] : Interesting[random.Next(Interesting.Length)])}: {RandomValue(random, depth - 1)}");
                return "{" + string.Join(", ", fields) + "}";
            default:
                return "[" + string.Join(", ", Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomValue(random, depth - 1))) + "]";
        }
    }
}
