using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Contiv.NetMaster;

/// <summary>
/// What netmaster serves with: the URLs to bind, the TLS certificate (or none) and the tokens (or
/// none), checked before anything is bound. The rule: loopback may be served as configured;
/// anything else (a non-loopback address, 0.0.0.0, ::, *, a host name, a Unix socket) needs TLS
/// and a token file, or netmaster refuses to start.
/// </summary>
public sealed class NetMasterSecurity : IDisposable
{
    private NetMasterSecurity(IReadOnlyList<string> urls, X509Certificate2? certificate, X509Certificate2Collection chain, TokenStore? tokens, IReadOnlyList<string> warnings)
    {
        Urls = urls;
        Certificate = certificate;
        Chain = chain;
        Tokens = tokens;
        Warnings = warnings;
    }

    /// <summary>Kestrel URLs, http:// or https:// (never both).</summary>
    public IReadOnlyList<string> Urls { get; }

    /// <summary>The server certificate with its private key; null for plain HTTP (loopback only).</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>Intermediate certificates sent after <see cref="Certificate"/>.</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>Accepted tokens; null when none are configured (loopback only: everyone is admin).</summary>
    public TokenStore? Tokens { get; }

    /// <summary>Things to fix that do not stop netmaster (logged at startup).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Checks the options and loads the certificate and tokens.</summary>
    /// <exception cref="NetMasterConfigurationException">The configuration is refused; the message says why and what to give.</exception>
    public static NetMasterSecurity Create(NetMasterOptions options)
    {
        var certFile = NullIfEmpty(options.TlsCertFile);
        var keyFile = NullIfEmpty(options.TlsKeyFile);
        var tokenFile = NullIfEmpty(options.TokenFile);
        if ((certFile is null) != (keyFile is null))
        {
            throw new NetMasterConfigurationException("--tls-cert and --tls-key go together: give both PEM files or neither");
        }

        var tls = certFile is not null;
        var urls = options.ListenUrl.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(listen => NetMasterHost.ToUrl(listen, tls)).ToList();
        if (urls.Count == 0)
        {
            throw new NetMasterConfigurationException("--listen-url is empty");
        }

        foreach (var url in urls)
        {
            var (scheme, host) = SplitUrl(url);
            if (scheme == "https" && !tls)
            {
                throw new NetMasterConfigurationException($"--listen-url {url} is https: give the certificate with --tls-cert and --tls-key");
            }

            if (scheme == "http" && tls)
            {
                throw new NetMasterConfigurationException($"--listen-url {url} is plain http but --tls-cert/--tls-key are given: use https://HOST:PORT or HOST:PORT");
            }

            if (scheme is not ("http" or "https"))
            {
                throw new NetMasterConfigurationException($"--listen-url {url}: only http:// and https:// are served");
            }

            if (!IsLoopbackHost(host) && (!tls || tokenFile is null))
            {
                var missing = string.Join(" and ", new[] { tls ? null : "TLS (--tls-cert, --tls-key)", tokenFile is null ? "bearer tokens (--token-file)" : null }.OfType<string>());
                throw new NetMasterConfigurationException(
                    $"refusing to listen on {(host.Length == 0 ? url : host)}, which is not a loopback address, without {missing}: "
                    + "the API controls the whole cluster's networking; give them, or listen on 127.0.0.1");
            }
        }

        var warnings = new List<string>();
        var tokens = tokenFile is null ? null : TokenStore.Load(tokenFile);
        if (tokenFile is not null)
        {
            WarnIfShared(tokenFile, "--token-file", warnings);
        }

        if (!tls)
        {
            return new NetMasterSecurity(urls, null, [], tokens, warnings);
        }

        WarnIfShared(keyFile!, "--tls-key", warnings);
        var (certificate, chain) = LoadCertificate(certFile!, keyFile!);
        var now = DateTime.Now;
        if (now > certificate.NotAfter || now < certificate.NotBefore)
        {
            warnings.Add($"the --tls-cert certificate is valid only from {certificate.NotBefore:u} to {certificate.NotAfter:u}: clients will refuse it");
        }

        return new NetMasterSecurity(urls, certificate, chain, tokens, warnings);
    }

    /// <summary>True for 127.0.0.0/8, ::1 (also IPv4-mapped) and <c>localhost</c>; false for everything else, including names and wildcards.</summary>
    public static bool IsLoopbackHost(string host)
    {
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // Kestrel parses the host with the same IPAddress.TryParse, so "127.1" means the same to both.
        return IPAddress.TryParse(host, out var address)
            && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }

    /// <summary>Scheme and host of a Kestrel URL (<c>http://[::1]:9999</c> gives <c>::1</c>; <c>*</c> and <c>+</c> stay as they are).</summary>
    public static (string Scheme, string Host) SplitUrl(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? string.Empty : url[..schemeEnd].ToLowerInvariant();
        var rest = schemeEnd < 0 ? url : url[(schemeEnd + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        rest = slash < 0 ? rest : rest[..slash];
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            return (scheme, close < 0 ? rest : rest[1..close]);
        }

        var colon = rest.LastIndexOf(':');
        return (scheme, colon < 0 ? rest : rest[..colon]);
    }

    public void Dispose()
    {
        Certificate?.Dispose();
        foreach (var certificate in Chain)
        {
            certificate.Dispose();
        }
    }

    private static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadCertificate(string certFile, string keyFile)
    {
        X509Certificate2 certificate;
        var all = new X509Certificate2Collection();
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            all.ImportFromPemFile(certFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            // The message names the files and the problem, never key material.
            throw new NetMasterConfigurationException($"cannot load the TLS certificate from --tls-cert {certFile} and --tls-key {keyFile}: {e.Message}");
        }

        var chain = new X509Certificate2Collection();
        foreach (var other in all)
        {
            if (other.Thumbprint == certificate.Thumbprint)
            {
                other.Dispose();
            }
            else
            {
                chain.Add(other);
            }
        }

        return (certificate, chain);
    }

    private static void WarnIfShared(string path, string flag, List<string> warnings)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                warnings.Add($"{flag} {path} can be read or written by other users (mode {Convert.ToString((int)mode, 8)}): chmod 600 it");
            }
        }
        catch (IOException)
        {
            // Reading it fails (or failed) with a clearer message elsewhere.
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
