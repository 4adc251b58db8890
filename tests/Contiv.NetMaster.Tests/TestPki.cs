using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Contiv.NetMaster.Tests;

/// <summary>A certificate and its key as PEM text, made in the test with <see cref="CertificateRequest"/>.</summary>
public sealed record PemCertificate(string CertificatePem, string KeyPem)
{
    /// <summary>Writes <c>NAME.crt</c> and <c>NAME.key</c> (mode 600) into <paramref name="directory"/>.</summary>
    public (string CertFile, string KeyFile) WriteTo(string directory, string name)
    {
        var cert = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        File.WriteAllText(cert, CertificatePem);
        File.WriteAllText(key, KeyPem);
        TestPki.OwnerOnly(key);
        return (cert, key);
    }
}

/// <summary>Self-signed server certificates and a small CA for the TLS tests (loopback names only).</summary>
public static class TestPki
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    /// <summary>The addresses the tests serve on: 127.0.0.1, 127.0.0.2, ::1 and localhost.</summary>
    public static IReadOnlyList<IPAddress> LoopbackAddresses { get; } = [IPAddress.Loopback, IPAddress.Parse("127.0.0.2"), IPAddress.IPv6Loopback];

    /// <summary>A self-signed server certificate (its own trust anchor: netctl --tls-ca takes it as is).</summary>
    public static PemCertificate SelfSigned(string commonName = "netmaster", IEnumerable<IPAddress>? addresses = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = ServerRequest(commonName, key, addresses ?? LoopbackAddresses);
        using var certificate = request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5), notAfter ?? DateTimeOffset.UtcNow.AddDays(1));
        return new PemCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A root CA (key kept for issuing) and a server certificate it issued.</summary>
    public static (PemCertificate Ca, PemCertificate Server) CaAndServer(string caName = "Contiv test CA")
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = ServerRequest("netmaster", serverKey, LoopbackAddresses);
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        return (new PemCertificate(ca.ExportCertificatePem(), caKey.ExportPkcs8PrivateKeyPem()), new PemCertificate(server.ExportCertificatePem(), serverKey.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>chmod 600, as secrets should be (netmaster warns otherwise).</summary>
    public static void OwnerOnly(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static CertificateRequest ServerRequest(string commonName, ECDsa key, IEnumerable<IPAddress> addresses)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuthentication], false));
        return request;
    }
}
