using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// No secret reaches a log: not the Authorization header, not a token (right or wrong), not the
/// token file. Checked at Trace level for every category (ASP.NET's own request logging included),
/// in process with every structured value captured, and on the real program's console.
/// </summary>
public sealed class SecretLoggingTests
{
    private const string WrongToken = "wr0ng-5ecret-77aa88bb99cc00dd11ee";
    private const string BasicPassword = "basic-5ecret-0f1e2d3c4b5a69788796";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every kind of request: accepted, refused (401, 403), malformed, as netctl and raw.</summary>
    private static async Task ExerciseAsync(string url, Func<string?, string[], Task<NetCtlRun>> netctl, Func<string?, HttpClient> http)
    {
        await netctl(SecureNetMaster.AdminToken, ["tenant", "create", "blue"]);
        await netctl(SecureNetMaster.AdminToken, ["net", "create", "-s", "10.1.2.0/24", "contiv-net"]);
        await netctl(SecureNetMaster.BlueToken, ["net", "create", "-t", "blue", "-s", "10.1.2.0/24", "web"]);
        await netctl(SecureNetMaster.BlueToken, ["net", "inspect", "contiv-net"]);
        await netctl(SecureNetMaster.BlueToken, ["global", "set", "--fwd-mode", "routing"]);
        await netctl(SecureNetMaster.RedToken, ["net", "ls", "-a"]);
        await netctl(null, ["net", "ls"]);
        await netctl(WrongToken, ["tenant", "ls"]);
        await netctl(SecureNetMaster.AdminToken, ["net", "create", "-t", "nope", "-s", "10.1.2.0/24", "x"]);

        foreach (var authorization in new[]
        {
            "Bearer " + WrongToken,
            "bearer " + SecureNetMaster.AdminToken,
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + BasicPassword)),
            SecureNetMaster.BlueToken,
            "Bearer " + SecureNetMaster.AdminToken,
        })
        {
            using var client = http(authorization);
            using (await client.GetAsync("/api/v1/networks/", Ct))
            {
            }

            using (await client.PostAsync("/api/v1/networks/default:bad/", new StringContent("{not json", Encoding.UTF8, "application/json"), Ct))
            {
            }

            using (await client.GetAsync("/no/such/" + Uri.EscapeDataString("line\nbreak"), Ct))
            {
            }

            // The operations endpoints: /metrics needs an admin token, /health none.
            using (await client.GetAsync("/metrics", Ct))
            {
            }

            using (await client.GetAsync("/health", Ct))
            {
            }
        }

        // The last request, so its 401 line marks the end of the log.
        using var last = http(null);
        using var end = await last.GetAsync("/end-of-test", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, end.StatusCode);
        Assert.NotEmpty(url);
    }

    private static void AssertNoSecrets(string log, string tokenFile)
    {
        SecretAssert.NoSecrets(log, WrongToken, BasicPassword, SecureNetMaster.AdminToken, SecureNetMaster.BlueToken, SecureNetMaster.RedToken);
        foreach (var line in File.ReadAllLines(tokenFile).Where(l => l.Trim().Length > 0 && !l.StartsWith('#')))
        {
            Assert.DoesNotContain(line.Trim(), log, StringComparison.Ordinal);
        }

        // What is logged instead: who was refused, never with what.
        Assert.Matches(new Regex(@"401 GET /api/v1/networks/ from 127\.0\.0\.1:\d+: unknown token"), log);
        Assert.Matches(new Regex(@"401 GET /api/v1/networks/ from 127\.0\.0\.1:\d+: not a bearer token"), log);
        Assert.Matches(new Regex(@"401 GET /api/v1/networks/ from 127\.0\.0\.1:\d+: no token"), log);
        Assert.Matches(new Regex(@"403 POST /api/v1/globals/global/ from 127\.0\.0\.1:\d+ with token of tenant blue \(line 3\): forbidden"), log);
        Assert.Matches(new Regex(@"401 GET /no/such/line%0Abreak from 127\.0\.0\.1:\d+"), log);
    }

    [Fact]
    public async Task In_process_logs_at_trace_level_hold_no_token_header_or_token_file_line()
    {
        await using var server = await SecureNetMaster.StartAsync();
        await ExerciseAsync(server.Url, (token, args) => server.NetCtlAsync(token, args), server.Http);

        var log = server.Logs.Text;
        Assert.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", log, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Lines, l => l.StartsWith("Trace ", StringComparison.Ordinal) || l.StartsWith("Debug ", StringComparison.Ordinal));
        AssertNoSecrets(log, server.TokenFile);
    }

    [Fact]
    public async Task The_netmaster_programs_console_at_trace_level_holds_no_token_header_or_token_file_line()
    {
        using var directory = TempDirectory.Create("contiv-nmlog-");
        var (cert, key) = TestPki.SelfSigned().WriteTo(directory.Path, "server");
        var tokens = directory.Combine("tokens");
        await File.WriteAllTextAsync(tokens, SecureNetMaster.DefaultTokenFile, Ct);
        TestPki.OwnerOnly(tokens);
        Directory.CreateDirectory(directory.Combine("store"));

        await using var netmaster = DotNetHost.StartAssembly(
            DotNetHost.BesideTests("Contiv.NetMaster.dll"),
            ["--listen-url", "127.0.0.1:0", "--cluster-store", "embedded://" + directory.Combine("store"), "--tls-cert", cert, "--tls-key", key, "--token-file", tokens],
            new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Trace", ["Logging__Console__LogLevel__Default"] = "Trace" });

        string? url = null;
        while (url is null)
        {
            var line = await netmaster.ReadLineAsync(TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException("netmaster exited: " + netmaster.StandardError);
            url = Regex.Match(line, @"Now listening on: (https://127\.0\.0\.1:\d+)") is { Success: true } m ? m.Groups[1].Value : null;
        }

        using var serverCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(cert, Ct));
        var thumbprint = serverCertificate.GetCertHashString();
        var trusted = directory.Combine("server.crt");
        Task<NetCtlRun> NetCtl(string? token, string[] args) =>
            NetMasterServer.RunNetCtlAsync(url, [.. token is null ? new[] { "--tls-ca", trusted } : ["--tls-ca", trusted, "--token", token], .. args]);
        HttpClient Http(string? authorization)
        {
            var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString() == thumbprint;
            var client = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
            if (authorization is not null)
            {
                client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
            }

            return client;
        }

        await ExerciseAsync(url, NetCtl, Http);

        // The console logger writes from a queue: wait for the last request's line.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!netmaster.StandardOutput.Contains("401 GET /end-of-test", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }

        var log = netmaster.StandardOutput + netmaster.StandardError;
        Assert.Contains("dbug:", log, StringComparison.Ordinal);
        Assert.Contains("Request starting HTTP/", log, StringComparison.Ordinal);
        AssertNoSecrets(log, tokens);
    }
}
