using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Contiv.TestSupport;

/// <summary>
/// A throw-away CA and the PEM files an etcd cluster with client-certificate authentication needs:
/// a member certificate for 127.0.0.1 and a client certificate, both signed by the CA.
/// </summary>
public sealed record EtcdTlsFiles(string CaFile, string MemberCertificateFile, string MemberKeyFile, string ClientCertificateFile, string ClientKeyFile)
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>The store URL parameters that use these files (etcdctl's --cacert, --cert, --key).</summary>
    public string UrlParameters =>
        $"cacert={Uri.EscapeDataString(CaFile)}&cert={Uri.EscapeDataString(ClientCertificateFile)}&key={Uri.EscapeDataString(ClientKeyFile)}";

    public static EtcdTlsFiles Create(string directory)
    {
        Directory.CreateDirectory(directory);
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(2);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=contiv-test-etcd-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);

        var files = new EtcdTlsFiles(
            Path.Combine(directory, "ca.pem"),
            Path.Combine(directory, "member.pem"),
            Path.Combine(directory, "member-key.pem"),
            Path.Combine(directory, "client.pem"),
            Path.Combine(directory, "client-key.pem"));
        File.WriteAllText(files.CaFile, ca.ExportCertificatePem());
        Issue(ca, "CN=127.0.0.1", [ServerAuthentication, ClientAuthentication], files.MemberCertificateFile, files.MemberKeyFile, notBefore, notAfter);
        Issue(ca, "CN=contiv", [ClientAuthentication], files.ClientCertificateFile, files.ClientKeyFile, notBefore, notAfter);
        return files;
    }

    /// <summary>The client certificate with its key, for test code that talks TLS to the members itself.</summary>
    public X509Certificate2 LoadClientCertificate() => X509Certificate2.CreateFromPemFile(ClientCertificateFile, ClientKeyFile);

    public X509Certificate2Collection LoadAuthorities()
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(CaFile);
        return authorities;
    }

    private static void Issue(X509Certificate2 ca, string subject, Oid[] usages, string certificateFile, string keyFile, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usageOids = new OidCollection();
        foreach (var usage in usages)
        {
            usageOids.Add(usage);
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usageOids, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var certificate = request.Create(ca, notBefore, notAfter, RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
