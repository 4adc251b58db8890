using System.Net;
using System.Text.RegularExpressions;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// netctl against an HTTPS netmaster: which certificates it trusts (--tls-ca, never silently the
/// system's CAs instead) and one clear error line for every TLS or scheme mistake.
/// </summary>
public sealed class NetCtlTlsTests
{
    private static readonly Regex OneLine = new("^Error: [^\n]+\n$");

    private static NetCtlRun AssertFails(NetCtlRun run, string fragment)
    {
        Assert.Equal(1, run.ExitCode);
        Assert.Matches(OneLine, run.Stderr);
        Assert.Contains(fragment, run.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.Stdout);
        return run;
    }

    [Fact]
    public async Task Without_tls_ca_a_self_signed_netmaster_is_refused_and_the_error_says_to_pass_it()
    {
        await using var server = await SecureNetMaster.StartAsync();
        var run = await NetMasterServer.RunNetCtlAsync(server.Url, "--token", SecureNetMaster.AdminToken, "tenant", "ls");
        AssertFails(run, $"Error: TLS: the certificate of netmaster at {server.Url} is not accepted: not trusted by the system's CAs: ");
        Assert.EndsWith("; pass --tls-ca FILE with the CA (or self-signed certificate) to trust\n", run.Stderr, StringComparison.Ordinal);
        SecretAssert.NoSecrets(run.Stderr, SecureNetMaster.AdminToken);
    }

    [Fact]
    public async Task Another_ca_is_not_trusted()
    {
        await using var server = await SecureNetMaster.StartAsync();
        var other = TestPki.SelfSigned("someone else").WriteTo(server.Directory, "other");
        var run = await NetMasterServer.RunNetCtlAsync(server.Url, "--tls-ca", other.CertFile, "--token", SecureNetMaster.AdminToken, "net", "ls");
        AssertFails(run, $"Error: TLS: the certificate of netmaster at {server.Url} is not accepted: not issued by a CA in --tls-ca: ");
        Assert.EndsWith($" (trusted: --tls-ca {other.CertFile})\n", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_for_another_address_is_refused()
    {
        // Issued for 127.0.0.2 only, served on 127.0.0.1.
        await using var server = await SecureNetMaster.StartAsync(server: TestPki.SelfSigned("netmaster-2", [IPAddress.Parse("127.0.0.2")]));
        var run = await server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls");
        AssertFails(run, $"Error: TLS: the certificate of netmaster at {server.Url} is not accepted: the certificate (CN=netmaster-2) is not issued for the host in --netmaster");
    }

    [Fact]
    public async Task An_expired_certificate_is_refused()
    {
        await using var server = await SecureNetMaster.StartAsync(server: TestPki.SelfSigned(notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1)));
        AssertFails(await server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls"), "not issued by a CA in --tls-ca: ");
        Assert.Contains(server.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("the --tls-cert certificate is valid only from", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_certificate_issued_by_a_ca_is_trusted_through_the_ca_on_127_0_0_2()
    {
        var (ca, leaf) = TestPki.CaAndServer();
        await using var server = await SecureNetMaster.StartAsync(host: "127.0.0.2", server: leaf, trusted: ca);
        Assert.StartsWith("https://127.0.0.2:", server.Url, StringComparison.Ordinal);
        var create = await server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "create", "-s", "10.1.2.0/24", "contiv-net");
        Assert.Equal((0, string.Empty), (create.ExitCode, create.Stderr));
        Assert.Equal("contiv-net\n", (await server.NetCtlAsync(SecureNetMaster.AdminToken, "net", "ls", "-q")).Stdout);

        // The CA's certificate is the trust anchor, not the server's own (which then is refused).
        var leafOnly = leaf.WriteTo(server.Directory, "leaf-only");
        var run = await NetMasterServer.RunNetCtlAsync(server.Url, "--tls-ca", leafOnly.CertFile, "--token", SecureNetMaster.AdminToken, "net", "ls");
        AssertFails(run, "not issued by a CA in --tls-ca");
    }

    [Fact]
    public async Task Plain_http_to_an_https_netmaster_says_to_use_https()
    {
        await using var server = await SecureNetMaster.StartAsync();
        var http = "http://" + server.Url["https://".Length..];
        var run = await NetMasterServer.RunNetCtlAsync(http, "--token", SecureNetMaster.AdminToken, "net", "ls");
        AssertFails(run, $"Error: netmaster at {http} closed the connection without an HTTP answer: if it serves HTTPS, use --netmaster https://...");
    }

    [Fact]
    public async Task Https_to_a_plain_http_netmaster_is_a_tls_handshake_error()
    {
        await using var server = await NetMasterServer.StartAsync();
        var https = "https://" + server.Url["http://".Length..];
        var run = await NetMasterServer.RunNetCtlAsync(https, "net", "ls");
        AssertFails(run, $"Error: TLS handshake with netmaster at {https} failed: ");
        Assert.EndsWith("(if it serves plain http, use --netmaster http://...)\n", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://192.0.2.10:9999")]
    [InlineData("192.0.2.10:9999")]
    [InlineData("http://netmaster.example:9999")]
    public async Task A_token_is_never_sent_over_plain_http_to_another_host(string url)
    {
        // Refused before any connection is made (192.0.2.0/24 is TEST-NET-1: nothing is contacted).
        var run = await NetMasterServer.RunNetCtlAsync(url, "--token", SecureNetMaster.AdminToken, "net", "ls");
        AssertFails(run, $"Error: refusing to send the token over plain http to {new Uri(url.Contains("://", StringComparison.Ordinal) ? url : "http://" + url).Host}: use --netmaster https://");
        SecretAssert.NoSecrets(run.Stderr, SecureNetMaster.AdminToken);
    }

    [Fact]
    public async Task An_unreadable_or_empty_ca_file_is_one_line()
    {
        using var directory = TempDirectory.Create("contiv-ca-");
        var missing = directory.Combine("missing.pem");
        AssertFails(await NetMasterServer.RunNetCtlAsync("https://127.0.0.1:1", "--tls-ca", missing, "net", "ls"), $"Error: cannot read --tls-ca {missing}: ");

        var empty = directory.Combine("empty.pem");
        await File.WriteAllTextAsync(empty, "nothing here\n", TestContext.Current.CancellationToken);
        AssertFails(await NetMasterServer.RunNetCtlAsync("https://127.0.0.1:1", "--tls-ca", empty, "net", "ls"), $"Error: --tls-ca {empty} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }

    [Fact]
    public async Task The_netctl_program_takes_the_token_and_ca_from_CONTIV_TOKEN_and_CONTIV_TLS_CA()
    {
        await using var server = await SecureNetMaster.StartAsync();
        var netctl = DotNetHost.BesideTests("Contiv.NetCtl.dll");
        var environment = new Dictionary<string, string> { ["NETMASTER"] = server.Url, ["CONTIV_TOKEN"] = SecureNetMaster.BlueToken, ["CONTIV_TLS_CA"] = server.CaFile };

        await using (var create = DotNetHost.StartAssembly(netctl, ["net", "create", "-t", "blue", "-s", "10.1.2.0/24", "web"], environment))
        {
            // Tenant blue does not exist yet and a blue token cannot create it.
            Assert.Equal(1, await create.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal("Error: tenant blue does not exist\n", create.StandardError.ReplaceLineEndings("\n"));
        }

        Assert.Equal(0, (await server.NetCtlAsync(SecureNetMaster.AdminToken, "tenant", "create", "blue")).ExitCode);
        await using (var create = DotNetHost.StartAssembly(netctl, ["net", "create", "-t", "blue", "-s", "10.1.2.0/24", "web"], environment))
        {
            Assert.Equal(0, await create.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        await using var ls = DotNetHost.StartAssembly(netctl, ["net", "ls", "-a", "-q"], environment);
        Assert.Equal(0, await ls.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("web\n", ls.StandardOutput.ReplaceLineEndings("\n"));

        await using var global = DotNetHost.StartAssembly(netctl, ["global", "set", "--fwd-mode", "routing"], environment);
        Assert.Equal(1, await global.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("Error: forbidden: the token is scoped to tenant blue; changing global settings needs an admin token\n", global.StandardError.ReplaceLineEndings("\n"));
    }
}
