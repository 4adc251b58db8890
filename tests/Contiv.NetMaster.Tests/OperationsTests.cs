using System.Net;
using System.Text.Json;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// Metrics listen to meters by name, process-wide: tests that count exactly run alone (after the
/// parallel ones, whose servers are disposed by then).
/// </summary>
[CollectionDefinition(nameof(ExactMetrics), DisableParallelization = true)]
public sealed class ExactMetrics;

/// <summary>netmaster's request log line, /metrics and /health.</summary>
[Collection(nameof(ExactMetrics))]
public sealed class OperationsTests
{
    private const string Requests = "contiv_netmaster_requests_total";
    private const string Duration = "contiv_netmaster_request_duration_seconds";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_count_rest_calls_by_route_and_outcome_with_latency_histograms()
    {
        await using var server = await NetMasterServer.StartAsync();
        Assert.Equal(0, (await server.NetCtlAsync("net", "create", "--subnet=10.1.2.0/24", "contiv-net")).ExitCode);
        Assert.Equal(0, (await server.NetCtlAsync("net", "inspect", "contiv-net")).ExitCode);
        Assert.NotEqual(0, (await server.NetCtlAsync("net", "inspect", "nope")).ExitCode);
        using (await server.Http.GetAsync("/api/v1/no/such/path/", Ct))
        {
        }

        var metrics = await ScrapeAsync(server.Http);
        Assert.Equal(1, metrics.Value(Requests, "call=POST /api/v1/networks/{key}/", "outcome=ok"));
        Assert.Equal(1, metrics.Value(Requests, "call=GET /api/v1/inspect/networks/{key}/", "outcome=ok"));
        Assert.Equal(1, metrics.Value(Requests, "call=GET /api/v1/inspect/networks/{key}/", "outcome=refused"));
        Assert.Equal(1, metrics.Value(Requests, "call=unmatched", "outcome=refused"));
        Assert.DoesNotContain("no/such", metrics.Text, StringComparison.Ordinal);

        var buckets = metrics.Find(Duration + "_bucket", "call=POST /api/v1/networks/{key}/", "outcome=ok");
        Assert.Equal(Telemetry.RequestMetrics.DurationBuckets.Count + 1, buckets.Count);
        Assert.Equal(1, buckets.Single(b => b.Labels["le"] == "+Inf").Value);
        Assert.Equal(1, metrics.Value(Duration + "_count", "call=POST /api/v1/networks/{key}/", "outcome=ok"));
    }

    [Fact]
    public async Task Every_rest_call_logs_one_line_with_route_status_tenant_network_outcome_and_duration()
    {
        var logs = new LogCapture();
        await using var server = await NetMasterServer.StartAsync(configureLogging: logs.AddTo);
        Assert.Equal(0, (await server.NetCtlAsync("tenant", "create", "blue")).ExitCode);
        Assert.Equal(0, (await server.NetCtlAsync("net", "create", "-t", "blue", "--subnet=10.1.2.0/24", "contiv-net")).ExitCode);
        Assert.NotEqual(0, (await server.NetCtlAsync("net", "inspect", "-t", "blue", "nope")).ExitCode);

        var lines = logs.Lines.Where(l => l.Contains(" request[", StringComparison.Ordinal)).ToList();
        Assert.Collection(
            lines,
            l => Assert.Matches(@"^Information request\[1\]: POST /api/v1/tenants/\{tenant\}/ 200 ok in \d+\.\d ms request=\S+ tenant=blue network=- from=127\.0\.0\.1:\d+ \|", l),
            l => Assert.Matches(@"^Information request\[1\]: POST /api/v1/networks/\{key\}/ 200 ok in \d+\.\d ms request=\S+ tenant=blue network=contiv-net from=", l),
            l => Assert.Matches(@"^Warning request\[2\]: GET /api/v1/inspect/networks/\{key\}/ 404 refused in \d+\.\d ms request=\S+ tenant=blue network=nope from=\S+: network blue:nope does not exist \|", l));
        Assert.Contains("DurationMs=", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_503_with_the_reason_while_redis_is_down_and_store_errors_are_counted()
    {
        await using var redis = await RedisServer.StartOrSkipAsync();
        var logs = new LogCapture();
        await using var server = await NetMasterServer.StartAsync(clusterStore: redis.UrlWithPrefix("obs-nm/"), configureLogging: logs.AddTo);
        using (var healthy = await server.Http.GetAsync("/health", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        }

        await redis.StopAsync();
        using (var down = await server.Http.GetAsync("/health", Ct))
        {
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "application/json"), (down.StatusCode, down.Content.Headers.ContentType?.MediaType));
            using var body = JsonDocument.Parse(await down.Content.ReadAsStringAsync(Ct));
            Assert.Equal("Unhealthy", body.RootElement.GetProperty("status").GetString());
            Assert.Contains(redis.Url, body.RootElement.GetProperty("checks").GetProperty("store").GetProperty("description").GetString(), StringComparison.Ordinal);
        }

        Assert.Contains(logs.Lines, l => l.StartsWith("Error request[2]: GET /health 503 failed", StringComparison.Ordinal) && l.Contains(": store: state store unavailable: ", StringComparison.Ordinal));

        using (var list = await server.Http.GetAsync("/api/v1/networks/", Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, list.StatusCode);
        }

        var metrics = await ScrapeAsync(server.Http);
        Assert.Equal(1, metrics.Value("contiv_netmaster_store_errors_total", "source=request", "kind=unavailable"));
        Assert.Equal(1, metrics.Value(Requests, "call=GET /api/v1/networks/", "outcome=failed"));
        Assert.Equal(1, metrics.Value(Requests, "call=GET /health", "outcome=failed"));
    }

    [Fact]
    public async Task With_tokens_metrics_needs_an_admin_token_and_health_none()
    {
        await using var server = await SecureNetMaster.StartAsync();
        using (var anonymous = server.HttpWithToken(null))
        {
            using var health = await anonymous.GetAsync("/health", Ct);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            using var metrics = await anonymous.GetAsync("/metrics", Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
        }

        using (var blue = server.HttpWithToken(SecureNetMaster.BlueToken))
        {
            using var metrics = await blue.GetAsync("/metrics", Ct);
            Assert.Equal(HttpStatusCode.Forbidden, metrics.StatusCode);
            Assert.Contains("reading /metrics needs an admin token", await metrics.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using var admin = server.HttpWithToken(SecureNetMaster.AdminToken);
        var scraped = await ScrapeAsync(admin);
        Assert.Equal(2, scraped.Value(Requests, "call=GET /metrics", "outcome=refused"));
        Assert.Equal(1, scraped.Value(Requests, "call=GET /health", "outcome=ok"));
        Assert.DoesNotContain(SecureNetMaster.AdminToken, server.Logs.Text, StringComparison.Ordinal);
    }

    private static async Task<PrometheusText> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync(Ct));
    }
}
