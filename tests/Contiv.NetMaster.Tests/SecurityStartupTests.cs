using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// Which listen/TLS/token configurations netmaster accepts. Refusals happen before anything is
/// bound (no test here ever serves on a non-loopback address), with one line saying what to give.
/// </summary>
public sealed class SecurityStartupTests : IDisposable
{
    private readonly TempDirectory _directory = TempDirectory.Create("contiv-nmsec-");
    private readonly string _cert;
    private readonly string _key;
    private readonly string _tokens;

    public SecurityStartupTests()
    {
        (_cert, _key) = TestPki.SelfSigned().WriteTo(_directory.Path, "server");
        _tokens = _directory.Combine("tokens");
        File.WriteAllText(_tokens, SecureNetMaster.DefaultTokenFile);
        TestPki.OwnerOnly(_tokens);
    }

    public void Dispose() => _directory.Dispose();

    private NetMasterOptions Options(string listen, bool tls, bool tokens) => new()
    {
        ListenUrl = listen,
        ClusterStore = "embedded://" + _directory.Combine("store"),
        TlsCertFile = tls ? _cert : null,
        TlsKeyFile = tls ? _key : null,
        TokenFile = tokens ? _tokens : null,
    };

    public static TheoryData<string, string> NonLoopback => new()
    {
        { "0.0.0.0:9999", "0.0.0.0" },
        { ":9999", "0.0.0.0" },
        { "http://0.0.0.0:0", "0.0.0.0" },
        { "[::]:0", "::" },
        { "*:9999", "*" },
        { "http://+:9999", "+" },
        { "10.1.2.3:9999", "10.1.2.3" },
        { "192.168.1.1:9999", "192.168.1.1" },
        { "netmaster.example:9999", "netmaster.example" },
        { "localhost.example:9999", "localhost.example" },
        { "[::ffff:10.0.0.1]:9999", "::ffff:10.0.0.1" },
        { "127.0.0.1:9999;0.0.0.0:9998", "0.0.0.0" },
        { "http://unix:/run/contiv/netmaster.sock", "unix" },
    };

    [Theory]
    [MemberData(nameof(NonLoopback))]
    public async Task Non_loopback_addresses_without_tls_and_tokens_are_refused_before_binding(string listen, string host)
    {
        var none = await Assert.ThrowsAsync<NetMasterConfigurationException>(() => NetMasterHost.BuildAsync(Options(listen, tls: false, tokens: false), TestContext.Current.CancellationToken));
        Assert.StartsWith($"refusing to listen on {host}, which is not a loopback address, without TLS (--tls-cert, --tls-key) and bearer tokens (--token-file)", none.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', none.Message);

        var tlsOnly = await Assert.ThrowsAsync<NetMasterConfigurationException>(() => NetMasterHost.BuildAsync(Options(listen, tls: true, tokens: false), TestContext.Current.CancellationToken));
        Assert.Contains(listen.StartsWith("http://", StringComparison.Ordinal) ? "is plain http but --tls-cert/--tls-key are given" : "without bearer tokens (--token-file)", tlsOnly.Message, StringComparison.Ordinal);

        var tokensOnly = await Assert.ThrowsAsync<NetMasterConfigurationException>(() => NetMasterHost.BuildAsync(Options(listen, tls: false, tokens: true), TestContext.Current.CancellationToken));
        Assert.Contains("without TLS (--tls-cert, --tls-key):", tokensOnly.Message, StringComparison.Ordinal);

        // Nothing was opened either: the store directory was never created.
        Assert.False(Directory.Exists(_directory.Combine("store")));
    }

    [Theory]
    [InlineData("0.0.0.0:9999", "https://0.0.0.0:9999")]
    [InlineData(":9999", "https://0.0.0.0:9999")]
    [InlineData("[::]:9999", "https://[::]:9999")]
    [InlineData("https://10.1.2.3:9999", "https://10.1.2.3:9999")]
    public void Non_loopback_addresses_with_tls_and_tokens_are_accepted(string listen, string url)
    {
        // Checked without building the server: nothing listens on these addresses in tests.
        using var security = NetMasterSecurity.Create(Options(listen, tls: true, tokens: true));
        Assert.Equal([url], security.Urls);
        Assert.NotNull(security.Certificate);
        Assert.True(security.Certificate.HasPrivateKey);
        Assert.Equal(3, security.Tokens!.Count);
        Assert.Empty(security.Warnings);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.2")]
    [InlineData("127.255.255.254")]
    [InlineData("127.1")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("LOCALHOST")]
    public void Loopback_hosts(string host) => Assert.True(NetMasterSecurity.IsLoopbackHost(host));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("*")]
    [InlineData("+")]
    [InlineData("")]
    [InlineData("128.0.0.1")]
    [InlineData("localhost.")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("::2")]
    public void Not_loopback_hosts(string host) => Assert.False(NetMasterSecurity.IsLoopbackHost(host));

    [Theory]
    [InlineData("127.0.0.1:9999", false, false, "http://127.0.0.1:9999")]
    [InlineData("127.0.0.2:9999", false, true, "http://127.0.0.2:9999")]
    [InlineData("localhost:9999", true, false, "https://localhost:9999")]
    [InlineData("[::1]:9999", true, true, "https://[::1]:9999")]
    [InlineData("https://127.0.0.1:9999", true, true, "https://127.0.0.1:9999")]
    public void Loopback_may_go_without_tls_or_tokens(string listen, bool tls, bool tokens, string url)
    {
        using var security = NetMasterSecurity.Create(Options(listen, tls, tokens));
        Assert.Equal([url], security.Urls);
        Assert.Equal(tls, security.Certificate is not null);
        Assert.Equal(tokens, security.Tokens is not null);
    }

    [Fact]
    public void Tls_options_must_agree_with_the_url_and_each_other()
    {
        Assert.Equal(
            "--listen-url https://127.0.0.1:9999 is https: give the certificate with --tls-cert and --tls-key",
            Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("https://127.0.0.1:9999", false, false))).Message);
        Assert.Equal(
            "--listen-url http://127.0.0.1:9999 is plain http but --tls-cert/--tls-key are given: use https://HOST:PORT or HOST:PORT",
            Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("http://127.0.0.1:9999", true, false))).Message);
        Assert.Equal(
            "--tls-cert and --tls-key go together: give both PEM files or neither",
            Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("127.0.0.1:9999", false, false) with { TlsCertFile = _cert })).Message);
        Assert.Equal(
            "--tls-cert and --tls-key go together: give both PEM files or neither",
            Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("127.0.0.1:9999", false, false) with { TlsKeyFile = _key })).Message);
    }

    [Fact]
    public void Unreadable_or_mismatched_certificate_files_are_refused_with_their_names()
    {
        var other = TestPki.SelfSigned("other").WriteTo(_directory.Path, "other");
        var garbage = _directory.Combine("garbage.pem");
        File.WriteAllText(garbage, "not a certificate\n");
        foreach (var (cert, key) in new[] { (_cert, other.KeyFile), (garbage, _key), (_cert, garbage), (_directory.Combine("missing.crt"), _key) })
        {
            var error = Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("127.0.0.1:9999", true, false) with { TlsCertFile = cert, TlsKeyFile = key }));
            Assert.StartsWith($"cannot load the TLS certificate from --tls-cert {cert} and --tls-key {key}: ", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("PRIVATE KEY", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void An_expired_certificate_or_shared_secret_files_only_warn()
    {
        var expired = TestPki.SelfSigned(notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1)).WriteTo(_directory.Path, "expired");
        File.SetUnixFileMode(_tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using var security = NetMasterSecurity.Create(Options("127.0.0.1:9999", true, true) with { TlsCertFile = expired.CertFile, TlsKeyFile = expired.KeyFile });
        Assert.Equal(2, security.Warnings.Count);
        Assert.Equal($"--token-file {_tokens} can be read or written by other users (mode 644): chmod 600 it", security.Warnings[0]);
        Assert.Matches("^the --tls-cert certificate is valid only from .* to .*: clients will refuse it$", security.Warnings[1]);
    }

    public static TheoryData<string, string> BadTokenFiles => new()
    {
        { "short-token\n", "line 1: the token is shorter than 16 characters" },
        { "# c\n\nsecret-token-0123456789 blue extra\n", "line 3: expected TOKEN or TOKEN TENANT, found 3 fields" },
        { "secret-token-0123456789 bad.tenant\n", "line 1: the tenant name is invalid (letters, digits, '-' and '_')" },
        { "blue secret-token-0123456789\n", "line 1: the token is shorter than 16 characters" },
        { "secret-token-0123456789\nsecret-token-0123456789 blue\n", "line 2: the same token appears on an earlier line" },
        { "secret-token-0123456789\u00e9\n", "line 1: the token must be printable ASCII (it travels in an HTTP header)" },
        { "# only a comment\n\n", "holds no tokens (lines: TOKEN for admin, TOKEN TENANT for one tenant)" },
        { string.Empty, "holds no tokens (lines: TOKEN for admin, TOKEN TENANT for one tenant)" },
    };

    [Theory]
    [MemberData(nameof(BadTokenFiles))]
    public void Bad_token_files_are_refused_naming_the_line_never_its_content(string content, string problem)
    {
        File.WriteAllText(_tokens, content);
        var error = Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("127.0.0.1:9999", false, true)));
        Assert.StartsWith($"--token-file {_tokens} ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short-token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_token_file_is_refused()
    {
        var missing = _directory.Combine("nope");
        var error = Assert.Throws<NetMasterConfigurationException>(() => NetMasterSecurity.Create(Options("127.0.0.1:9999", false, false) with { TokenFile = missing }));
        Assert.StartsWith($"cannot read --token-file {missing}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_netmaster_program_exits_with_one_line_when_asked_for_0_0_0_0_without_tls_and_tokens()
    {
        // A store that cannot open either: should the check ever be skipped, netmaster fails before
        // Kestrel binds, so this test never serves on 0.0.0.0 (and the message tells which check fired).
        await using var netmaster = DotNetHost.StartAssembly(
            DotNetHost.BesideTests("Contiv.NetMaster.dll"),
            ["--listen-url", "0.0.0.0:0", "--cluster-store", "embedded:///dev/null/contiv"],
            new Dictionary<string, string> { ["CONTIV_NETMASTER_TOKEN_FILE"] = string.Empty, ["CONTIV_NETMASTER_TLS_CERT"] = string.Empty, ["CONTIV_NETMASTER_TLS_KEY"] = string.Empty });
        Assert.Equal(2, await netmaster.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Matches(
            new Regex("^netmaster: refusing to listen on 0\\.0\\.0\\.0, which is not a loopback address, without TLS \\(--tls-cert, --tls-key\\) and bearer tokens \\(--token-file\\): [^\n]+ or listen on 127\\.0\\.0\\.1\n$"),
            netmaster.StandardError.ReplaceLineEndings("\n"));
        Assert.Equal(string.Empty, netmaster.StandardOutput);
    }
}
