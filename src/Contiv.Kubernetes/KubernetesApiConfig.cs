using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Contiv.Kubernetes;

/// <summary>
/// A kubeconfig or in-cluster configuration that cannot be used: missing file, unreadable YAML,
/// unknown context, no server, unreadable certificate. Thrown when the label source is built, so
/// netplugin fails at start rather than at the first pod.
/// </summary>
public sealed class KubernetesConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Where the API server is and how to prove who we are: what a kubeconfig context or a pod's
/// service account comes down to. <see cref="ReadTokenAsync"/> rereads a token file on every call
/// (cheap, and such tokens are rotated by the kubelet).
/// </summary>
internal sealed record KubernetesApiConfig(
    Uri Server,
    X509Certificate2Collection? CertificateAuthorities,
    bool InsecureSkipTlsVerify,
    X509Certificate2? ClientCertificate,
    string? Token,
    string? TokenFile)
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public async ValueTask<string?> ReadTokenAsync(CancellationToken ct) =>
        TokenFile is null ? Token : (await File.ReadAllTextAsync(TokenFile, ct).ConfigureAwait(false)).Trim();

    /// <summary>
    /// The context's cluster and user, as kubectl reads them: certificate-authority(-data),
    /// insecure-skip-tls-verify, token / tokenFile, client-certificate / client-key (-data); file
    /// paths relative to the kubeconfig's folder. Credential plugins (exec, auth-provider) are not run.
    /// </summary>
    public static KubernetesApiConfig FromKubeconfig(string path, string? context)
    {
        if (!File.Exists(path))
        {
            throw new KubernetesConfigException($"kubeconfig {path}: file not found");
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        try
        {
            var yaml = new YamlStream();
            using (var reader = File.OpenText(path))
            {
                yaml.Load(reader);
            }
            if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            {
                throw new KubernetesConfigException($"kubeconfig {path}: not a kubeconfig (no top-level mapping)");
            }
            var contextName = context ?? Scalar(root, "current-context");
            if (string.IsNullOrEmpty(contextName))
            {
                throw new KubernetesConfigException($"kubeconfig {path}: no current-context and none given");
            }
            var contextEntry = Named(root, "contexts", "context", contextName)
                ?? throw new KubernetesConfigException($"kubeconfig {path}: context {contextName} not found");
            var clusterName = Scalar(contextEntry, "cluster")
                ?? throw new KubernetesConfigException($"kubeconfig {path}: context {contextName} names no cluster");
            var cluster = Named(root, "clusters", "cluster", clusterName)
                ?? throw new KubernetesConfigException($"kubeconfig {path}: cluster {clusterName} not found");
            var server = Scalar(cluster, "server");
            if (string.IsNullOrWhiteSpace(server) || !Uri.TryCreate(server, UriKind.Absolute, out var serverUri)
                || serverUri.Scheme is not ("https" or "http"))
            {
                throw new KubernetesConfigException($"kubeconfig {path}: cluster {clusterName} has no usable server ({server ?? "none"})");
            }
            var userName = Scalar(contextEntry, "user");
            var user = userName is null ? null
                : Named(root, "users", "user", userName) ?? throw new KubernetesConfigException($"kubeconfig {path}: user {userName} not found");
            if (user is not null && (user.Children.ContainsKey("exec") || user.Children.ContainsKey("auth-provider")))
            {
                throw new KubernetesConfigException($"kubeconfig {path}: user {userName} needs a credential plugin (exec/auth-provider), which netplugin does not run; use a token, tokenFile or client certificate");
            }

            string? tokenFile = null;
            if (user is not null && Scalar(user, "token") is null && Scalar(user, "tokenFile") is { Length: > 0 } tokenPath)
            {
                tokenFile = Path.Combine(folder, tokenPath);
                if (!File.Exists(tokenFile))
                {
                    throw new KubernetesConfigException($"kubeconfig {path}: tokenFile {tokenFile} not found");
                }
            }
            return new KubernetesApiConfig(
                serverUri,
                Pem(cluster, "certificate-authority", folder) is { } ca ? LoadCertificates(ca) : null,
                string.Equals(Scalar(cluster, "insecure-skip-tls-verify"), "true", StringComparison.OrdinalIgnoreCase),
                user is not null && Pem(user, "client-certificate", folder) is { } certificate && Pem(user, "client-key", folder) is { } key
                    ? LoadClientCertificate(certificate, key) : null,
                user is null ? null : Scalar(user, "token"),
                tokenFile);
        }
        catch (YamlException e)
        {
            throw new KubernetesConfigException($"kubeconfig {path}: not a readable kubeconfig (line {e.Start.Line}: {OneLine(e.Message)})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or CryptographicException
            // YamlDotNet's scanner throws this, not a YamlException, on some truncated input.
            or InvalidOperationException)
        {
            throw new KubernetesConfigException($"kubeconfig {path}: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// The pod's own service account, the way client-go's rest.InClusterConfig reads it: the API
    /// server's service address from the environment, the rotated token file, the cluster CA.
    /// </summary>
    public static KubernetesApiConfig FromInCluster(string? host, string? port, string serviceAccountDirectory)
    {
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubernetesConfigException("in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
        }
        var tokenPath = Path.Combine(serviceAccountDirectory, "token");
        var caPath = Path.Combine(serviceAccountDirectory, "ca.crt");
        foreach (var required in new[] { tokenPath, caPath })
        {
            if (!File.Exists(required))
            {
                throw new KubernetesConfigException($"in-cluster config: {required} not found (is the service account token mounted?)");
            }
        }
        try
        {
            // UriBuilder brackets an IPv6 service address, which KUBERNETES_SERVICE_HOST gives bare.
            var server = new UriBuilder("https", host, int.Parse(port, CultureInfo.InvariantCulture)).Uri;
            return new KubernetesApiConfig(server, LoadCertificates(File.ReadAllText(caPath)), false, null, null, tokenPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException or CryptographicException
            or ArgumentException or KubernetesConfigException)
        {
            throw new KubernetesConfigException($"in-cluster config ({serviceAccountDirectory}, {host}:{port}): {OneLine(e.Message)}", e);
        }
    }

    private static string? Scalar(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(key, out var node) && node is YamlScalarNode { Value: { } value } ? value : null;

    /// <summary>The inner mapping (e.g. "cluster") of the entry called <paramref name="name"/> in a list (e.g. "clusters").</summary>
    private static YamlMappingNode? Named(YamlMappingNode root, string list, string inner, string name)
    {
        if (!root.Children.TryGetValue(list, out var node) || node is not YamlSequenceNode entries)
        {
            return null;
        }
        return entries.OfType<YamlMappingNode>()
            .Where(e => Scalar(e, "name") == name)
            .Select(e => e.Children.TryGetValue(inner, out var details) ? details as YamlMappingNode : null)
            .FirstOrDefault(details => details is not null);
    }

    /// <summary>PEM text from "KEY-data" (base64 of the PEM) or the file "KEY" names; -data wins, as in kubectl.</summary>
    private static string? Pem(YamlMappingNode map, string key, string folder) =>
        Scalar(map, key + "-data") is { Length: > 0 } data ? Encoding.UTF8.GetString(Convert.FromBase64String(data))
        : Scalar(map, key) is { Length: > 0 } file ? File.ReadAllText(Path.Combine(folder, file))
        : null;

    private static X509Certificate2Collection LoadCertificates(string pem)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPem(pem);
        return certificates.Count > 0 ? certificates : throw new KubernetesConfigException("certificate authority holds no certificate");
    }

    private static X509Certificate2 LoadClientCertificate(string certificatePem, string keyPem)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        // Through PKCS#12: a certificate with an ephemeral key cannot be sent as a TLS client certificate everywhere.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
