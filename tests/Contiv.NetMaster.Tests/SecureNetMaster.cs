using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Contiv.ControlPlane;
using Contiv.State;
using Contiv.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// The real netmaster, in process, serving HTTPS with a test certificate and bearer tokens on a free
/// port of a loopback address (127.0.0.0/8 only), over an embedded store in a temp directory, with
/// every log event captured. netctl runs in process with <c>--tls-ca</c> and <c>--token</c>.
/// </summary>
public sealed class SecureNetMaster : IAsyncDisposable
{
    public const string AdminToken = "adm1n-7f3c9a1e5b2d4c6a8e0f1a2b3c4d5e6f";
    public const string BlueToken = "blu3-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    public const string RedToken = "r3d-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

    /// <summary>Admin token on line 2, blue's on line 3, red's on line 4 (with a comment and a blank line around).</summary>
    public static readonly string DefaultTokenFile = $"# netmaster tokens\n{AdminToken}\n{BlueToken} blue\n   {RedToken}\tred  \n\n";

    private readonly TempDirectory _directory;
    private WebApplication? _app;

    private SecureNetMaster(TempDirectory directory)
    {
        _directory = directory;
    }

    public string Url { get; private set; } = string.Empty;

    /// <summary>The PEM file netctl trusts (the self-signed server certificate unless a CA was given).</summary>
    public string CaFile { get; private set; } = string.Empty;

    public string TokenFile { get; private set; } = string.Empty;

    public string Directory => _directory.Path;

    public LogCapture Logs { get; } = new();

    /// <summary>The server's own control plane, to play netplugin's part (endpoints).</summary>
    public ContivControl Control => _app!.Services.GetRequiredService<ContivControl>();

    /// <summary>
    /// Starts netmaster on <paramref name="host"/> (a 127.0.0.0/8 address) with TLS and tokens.
    /// <paramref name="server"/> defaults to a fresh self-signed certificate, which is also the CA
    /// file unless <paramref name="trusted"/> is given.
    /// </summary>
    public static async Task<SecureNetMaster> StartAsync(string host = "127.0.0.1", PemCertificate? server = null, PemCertificate? trusted = null, string? tokenFile = null)
    {
        var instance = new SecureNetMaster(TempDirectory.Create("contiv-nmtls-"));
        try
        {
            server ??= TestPki.SelfSigned();
            var (cert, key) = server.WriteTo(instance.Directory, "server");
            instance.CaFile = trusted is null ? cert : trusted.WriteTo(instance.Directory, "ca").CertFile;
            instance.TokenFile = Path.Combine(instance.Directory, "tokens");
            await File.WriteAllTextAsync(instance.TokenFile, tokenFile ?? DefaultTokenFile);
            TestPki.OwnerOnly(instance.TokenFile);

            System.IO.Directory.CreateDirectory(Path.Combine(instance.Directory, "store"));
            instance._app = await NetMasterHost.BuildAsync(
                new NetMasterOptions
                {
                    ListenUrl = $"{host}:0",
                    ClusterStore = "embedded://" + Path.Combine(instance.Directory, "store"),
                    TlsCertFile = cert,
                    TlsKeyFile = key,
                    TokenFile = instance.TokenFile,
                },
                instance.Logs.AddTo);
            await instance._app.StartAsync();
            instance.Url = instance._app.Urls.Single(u => u.StartsWith($"https://{host}:", StringComparison.Ordinal));
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>netctl against this netmaster with its CA file and, when given, a token.</summary>
    public Task<NetCtlRun> NetCtlAsync(string? token, params string[] args) =>
        NetMasterServer.RunNetCtlAsync(Url, [.. TlsArgs(token), .. args]);

    public string[] TlsArgs(string? token) => token is null ? ["--tls-ca", CaFile] : ["--tls-ca", CaFile, "--token", token];

    /// <summary>An HTTP client that trusts <see cref="CaFile"/> and sends <paramref name="authorization"/> as is.</summary>
    public HttpClient Http(string? authorization)
    {
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(CaFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(certificate);
            return chain.Build(leaf);
        };
        var http = new HttpClient(handler) { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(10) };
        if (authorization is not null)
        {
            http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        return http;
    }

    /// <summary><see cref="Http"/> with <c>Authorization: Bearer TOKEN</c>.</summary>
    public HttpClient HttpWithToken(string? token) => Http(token is null ? null : new AuthenticationHeaderValue("Bearer", token).ToString());

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            var store = _app.Services.GetRequiredService<IKeyValueStore>();
            await _app.StopAsync();
            await _app.DisposeAsync();
            await store.DisposeAsync();
            _app = null;
        }

        _directory.Dispose();
    }
}
