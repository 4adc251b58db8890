using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Contiv.Model;
using Contiv.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit;
using B = Contiv.NetPlugin.Tests.DockerBodies;

namespace Contiv.NetPlugin.Tests;

/// <summary>
/// Metrics listen to meters by name, process-wide: tests that count exactly run alone (after the
/// parallel ones, whose servers are disposed by then).
/// </summary>
[CollectionDefinition(nameof(ExactMetrics), DisableParallelization = true)]
public sealed class ExactMetrics;

/// <summary>netplugin's request log line, /metrics and /health on the plugin socket.</summary>
[Collection(nameof(ExactMetrics))]
public sealed class OperationsTests
{
    private const string Requests = "contiv_netplugin_requests_total";
    private const string Duration = "contiv_netplugin_request_duration_seconds";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_count_calls_by_outcome_with_latency_histograms_addresses_and_joined_endpoints()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await StartWithNetworkAsync(directory);
        await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()));
        await plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
        await plugin.OkAsync("/NetworkDriver.Join", B.Join());
        await plugin.ErrAsync("/NetworkDriver.Join", B.Join(endpointId: B.EndpointId2), "was not created");
        Assert.Equal(HttpStatusCode.BadRequest, (await plugin.PostAsync("/NetworkDriver.Join", "{")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await plugin.PostAsync("/NetworkDriver.Bogus", "{}")).Status);

        var metrics = await ScrapeAsync(plugin);
        Assert.Equal(1, metrics.Value(Requests, "call=NetworkDriver.Join", "outcome=ok"));
        Assert.Equal(1, metrics.Value(Requests, "call=NetworkDriver.Join", "outcome=refused"));
        Assert.Equal(1, metrics.Value(Requests, "call=NetworkDriver.Join", "outcome=invalid"));
        Assert.Equal(1, metrics.Value(Requests, "call=unknown", "outcome=unknown"));
        Assert.Equal(2, metrics.Value(Requests, "call=IpamDriver.RequestAddress", "outcome=ok"));
        Assert.Empty(metrics.Find(Requests, "call=NetworkDriver.Bogus"));

        // A histogram per call and outcome: cumulative buckets ending in +Inf = count, and a sum.
        var buckets = metrics.Find(Duration + "_bucket", "call=NetworkDriver.Join", "outcome=ok");
        Assert.Equal(RequestBuckets + 1, buckets.Count);
        Assert.Equal(buckets.Select(b => b.Value).Order(), buckets.Select(b => b.Value));
        Assert.Equal(1, buckets.Single(b => b.Labels["le"] == "+Inf").Value);
        Assert.Equal(1, metrics.Value(Duration + "_count", "call=NetworkDriver.Join", "outcome=ok"));
        Assert.InRange(metrics.Value(Duration + "_sum", "call=NetworkDriver.Join", "outcome=ok"), double.Epsilon, 10);

        // The gateway request allocates nothing; the container's address does.
        Assert.Equal(1, metrics.Value("contiv_netplugin_ipam_allocations_total", "network=contiv-net.default"));
        Assert.Equal(1, metrics.Value("contiv_netplugin_endpoints_joined"));

        await plugin.OkAsync("/NetworkDriver.Leave", B.Endpoint());
        await plugin.OkAsync("/NetworkDriver.DeleteEndpoint", B.Endpoint());
        await plugin.OkAsync("/IpamDriver.ReleaseAddress", B.ReleaseAddress(B.PoolId(), "10.1.2.1"));
        metrics = await ScrapeAsync(plugin);
        Assert.Equal(0, metrics.Value("contiv_netplugin_endpoints_joined"));
        Assert.Equal(1, metrics.Value("contiv_netplugin_ipam_releases_total", "network=contiv-net.default"));
        Assert.Equal(0, metrics.Value("contiv_netplugin_datapath_errors_total"));
    }

    [Fact]
    public async Task A_datapath_failure_is_counted_by_operation_and_logged_with_its_exception()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await StartWithNetworkAsync(directory);
        await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()));
        plugin.Datapath.FailNextCreateEndpoint = new IOException("netlink: File exists");
        await plugin.ErrAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"), "File exists");

        var metrics = await ScrapeAsync(plugin);
        Assert.Equal(1, metrics.Value("contiv_netplugin_datapath_errors_total", "operation=CreateEndpoint"));
        Assert.Equal(1, metrics.Value(Requests, "call=NetworkDriver.CreateEndpoint", "outcome=failed"));

        var line = Assert.Single(plugin.Logs.Events, e => e.Category == "plugin" && Equals(e.Values["Call"], "NetworkDriver.CreateEndpoint"));
        Assert.Equal((LogLevel.Error, "failed", B.EndpointId), (line.Level, line.Values["Outcome"], line.Values["EndpointId"]));
        Assert.IsType<IOException>(line.Exception);
    }

    [Fact]
    public async Task Every_call_logs_one_line_with_request_id_call_ids_outcome_and_duration()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await StartWithNetworkAsync(directory);
        await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()));
        await plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
        await plugin.OkAsync("/NetworkDriver.Join", B.Join());
        await plugin.ErrAsync("/NetworkDriver.Join", B.Join(endpointId: B.EndpointId2), "was not created");
        await plugin.PostAsync("/NetworkDriver.Join", "{");

        var lines = plugin.Logs.Events.Where(e => e.Category == PluginRequestLog.Category).ToList();
        Assert.Equal(
            ["IpamDriver.RequestPool", "IpamDriver.RequestAddress", "NetworkDriver.CreateNetwork", "IpamDriver.RequestAddress", "NetworkDriver.CreateEndpoint",
             "NetworkDriver.Join", "NetworkDriver.Join", "NetworkDriver.Join"],
            lines.Select(l => l.Values["Call"]));
        Assert.Equal(lines.Count, lines.Select(l => l.Values["RequestId"]).Distinct().Count());

        var pool = lines[0];
        Assert.Equal(("ok", B.PoolId(), "-"), (pool.Values["Outcome"], pool.Values["PoolId"], pool.Values["NetworkId"]));

        var join = lines[5];
        Assert.Equal((LogLevel.Information, 1, "ok"), (join.Level, join.EventId.Id, join.Values["Outcome"]));
        Assert.Equal((B.DockerNetworkId, B.EndpointId, "-"), (join.Values["NetworkId"], join.Values["EndpointId"], join.Values["PoolId"]));
        Assert.IsType<double>(join.Values["DurationMs"]);
        Assert.Matches(@"^NetworkDriver\.Join ok in \d+\.\d ms request=\S+ network=" + B.DockerNetworkId + " endpoint=" + B.EndpointId + " pool=-$", join.Message);

        var refused = lines[6];
        Assert.Equal((LogLevel.Warning, 2, "refused", B.EndpointId2), (refused.Level, refused.EventId.Id, refused.Values["Outcome"], refused.Values["EndpointId"]));
        Assert.EndsWith(": endpoint " + B.EndpointId2[..12] + " was not created on network contiv-net.default", refused.Message, StringComparison.Ordinal);

        var invalid = lines[7];
        Assert.Equal(("invalid", "-"), (invalid.Values["Outcome"], invalid.Values["EndpointId"]));
        Assert.Contains("invalid request", (string)invalid.Values["Error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_script_reads_the_request_lines()
    {
        using var directory = TempDirectory.Create("cnp-");
        await using (var plugin = await StartWithNetworkAsync(directory))
        {
            await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(B.PoolId()));
            await plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint("10.1.2.1/24"));
            await plugin.OkAsync("/NetworkDriver.Join", B.Join());
            await plugin.ErrAsync("/NetworkDriver.Join", B.Join(endpointId: B.EndpointId2), "was not created");

            // As netplugin's text console prints them (NetPluginHost: simple console, one line, UTC).
            var lines = plugin.Logs.Events.Where(e => e.Category == PluginRequestLog.Category)
                .Select(e => $"2026-01-01T00:00:00.000Z {(e.Level == LogLevel.Information ? "info" : "warn")}: {e.Category}[{e.EventId.Id}] {e.Message}");
            Directory.CreateDirectory(directory.Combine("h1"));
            await File.WriteAllLinesAsync(directory.Combine("h1/netplugin.log"), lines, Ct);
            var expected = plugin.Logs.Events.Where(e => e.Category == PluginRequestLog.Category && Equals(e.Values["Outcome"], "ok")
                    && e.Values["Call"] is "NetworkDriver.Join" or "NetworkDriver.CreateEndpoint")
                .Sum(e => Math.Round((double)e.Values["DurationMs"]!, 1));

            var bench = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "scripts", "bench.sh"), Ct);
            var function = Regex.Match(bench, @"^plugin_ms_since\(\) \{.*?^\}$", RegexOptions.Multiline | RegexOptions.Singleline).Value;
            Assert.NotEmpty(function);
            await using var run = ChildProcess.Start("bash", ["-c", function + "\nplugin_ms_since h1 0 NetworkDriver.Join NetworkDriver.CreateEndpoint"], new Dictionary<string, string> { ["LAB_DIR"] = directory.Path });
            Assert.Equal(0, await run.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(expected, double.Parse(run.StandardOutput, System.Globalization.CultureInfo.InvariantCulture), 1);
        }
    }

    [Fact]
    public async Task Health_is_200_with_the_store_and_503_with_the_reason_while_redis_is_down()
    {
        await using var redis = await RedisServer.StartOrSkipAsync();
        using var directory = TempDirectory.Create("cnp-");
        await using var plugin = await PluginHarness.StartAsync(directory, storeUrl: redis.UrlWithPrefix("obs-health/"));

        var healthy = await plugin.GetAsync("/health");
        Assert.Equal((HttpStatusCode.OK, "application/json"), (healthy.Status, healthy.ContentType));
        Assert.Equal("Healthy", healthy.Json.GetProperty("status").GetString());
        Assert.Equal("Healthy", healthy.Json.GetProperty("checks").GetProperty("store").GetProperty("status").GetString());

        await redis.StopAsync();
        var down = await plugin.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("Unhealthy", down.Json.GetProperty("status").GetString());
        var reason = down.Json.GetProperty("checks").GetProperty("store").GetProperty("description").GetString();
        Assert.Contains(redis.Url, reason, StringComparison.Ordinal);

        // A call during the outage is refused and counted as a store error.
        await plugin.ErrAsync("/IpamDriver.RequestPool", B.RequestPool(), redis.Url);
        var metrics = await ScrapeAsync(plugin);
        Assert.Equal(1, metrics.Value("contiv_netplugin_store_errors_total", "source=request", "kind=unavailable"));
        Assert.Equal(1, metrics.Value(Requests, "call=IpamDriver.RequestPool", "outcome=refused"));

        await redis.StartAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        PluginReply again;
        do
        {
            again = await plugin.GetAsync("/health");
        }
        while (again.Status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, again.Status);
    }

    [Theory]
    [InlineData("127.0.0.1:9701", false, "127.0.0.1:9701")]
    [InlineData("[::1]:9701", false, "[::1]:9701")]
    [InlineData("0.0.0.0:9701", true, "0.0.0.0:9701")]
    [InlineData("10.0.0.5:9701", true, "10.0.0.5:9701")]
    [InlineData("off", false, null)]
    [InlineData("", false, null)]
    [InlineData(null, false, null)]
    public void Metrics_listen_accepts_loopback_and_elsewhere_only_when_allowed(string? value, bool allowRemote, string? expected) =>
        Assert.Equal(expected, PluginOperations.ParseMetricsListen(value, allowRemote)?.ToString());

    [Theory]
    [InlineData("0.0.0.0:9701", "not a loopback address")]
    [InlineData("10.0.0.5:9701", "--metrics-allow-remote")]
    [InlineData("127.0.0.1", "not ADDRESS:PORT")]
    [InlineData("localhost:9701", "not ADDRESS:PORT")]
    [InlineData("127.0.0.1:99999", "not ADDRESS:PORT")]
    public void Metrics_listen_refuses_bad_and_remote_addresses(string value, string fragment) =>
        Assert.Contains(fragment, Assert.Throws<ArgumentException>(() => PluginOperations.ParseMetricsListen(value, allowRemote: false)).Message, StringComparison.Ordinal);

    [Fact]
    public async Task The_real_host_serves_metrics_and_health_over_tcp_and_nothing_else_there()
    {
        using var directory = TempDirectory.Create("cnp-");
        var options = new PluginOptions
        {
            SocketPath = directory.Combine("netplugin.sock"),
            HostName = "obs-h1",
            ClusterStore = "embedded://" + directory.Combine("state"),
            DockerEndpoint = "unix://" + directory.Combine("no-docker.sock"),
            StateDir = directory.Combine("run"),
            MetricsListen = new IPEndPoint(IPAddress.Loopback, 0),
        };
        await using var app = await NetPluginHost.BuildAsync(options, Ct);
        await app.StartAsync(Ct);
        try
        {
            var url = app.Urls.Single(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };

            var metrics = PrometheusText.Parse(await http.GetStringAsync("/metrics", Ct));
            Assert.Contains(metrics.Samples, s => s.Name == "target_info" && s.Labels["service_name"] == "netplugin");

            // No Docker engine here: the store is fine (200), the host agent is not (Degraded, with why).
            using var health = await http.GetAsync("/health", Ct);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            using var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync(Ct));
            Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("store").GetProperty("status").GetString());
            Assert.True(body.RootElement.GetProperty("checks").TryGetProperty("reconcile", out _));

            // The plugin API stays on the root-only socket.
            using var join = await http.PostAsync("/NetworkDriver.Join", new StringContent(B.Join()), Ct);
            Assert.Equal(HttpStatusCode.NotFound, join.StatusCode);
            using var activate = await http.PostAsync("/Plugin.Activate", new StringContent(string.Empty), Ct);
            Assert.Equal(HttpStatusCode.NotFound, activate.StatusCode);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    private static int RequestBuckets => Telemetry.RequestMetrics.DurationBuckets.Count;

    private static async Task<PluginHarness> StartWithNetworkAsync(TempDirectory directory)
    {
        var plugin = await PluginHarness.StartAsync(directory);
        await plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
        await plugin.OkAsync("/IpamDriver.RequestPool", B.RequestPool());
        await plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestGateway(B.PoolId()));
        await plugin.OkAsync("/NetworkDriver.CreateNetwork", B.CreateNetwork());
        return plugin;
    }

    private static async Task<PrometheusText> ScrapeAsync(PluginHarness plugin)
    {
        var reply = await plugin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("text/plain", reply.ContentType, StringComparison.Ordinal);
        return PrometheusText.Parse(reply.Body);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "scripts", "bench.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("scripts/bench.sh not found above " + AppContext.BaseDirectory);
    }
}
