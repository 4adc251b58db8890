using System.Security.Cryptography;
using k8s;
using k8s.Authentication;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Contiv.Kubernetes;

/// <summary>
/// A kubeconfig or in-cluster configuration that cannot be used: missing file, unreadable YAML,
/// unknown context, no server. Thrown when the label source is built, so netplugin fails at start
/// rather than at the first pod.
/// </summary>
public sealed class KubernetesConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Turns a kubeconfig file or a pod's service account into KubernetesClient's configuration. The
/// package's own loader does the parsing (clusters, users, contexts, certificate files and -data,
/// insecure-skip-tls-verify); this adds what its AOT build leaves out (a user's <c>tokenFile</c>)
/// and gives every failure one exception type that names the file.
/// </summary>
internal static class KubernetesApiConfig
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public static KubernetesClientConfiguration FromKubeconfig(string path, string? context)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new KubernetesConfigException($"kubeconfig {path}: file not found");
        }
        try
        {
            var kubeconfig = KubernetesClientConfiguration.LoadKubeConfig(file, useRelativePaths: true);
            var contextName = context ?? kubeconfig.CurrentContext;
            if (string.IsNullOrEmpty(contextName))
            {
                throw new KubernetesConfigException($"kubeconfig {path}: no current-context and none given");
            }
            var tokenFile = FindUserTokenFile(file, kubeconfig, contextName);
            if (tokenFile is not null)
            {
                // The package's loader rejects a user whose only credential is a tokenFile: give it a
                // placeholder token to pass, then replace it with a provider that rereads the file
                // (such tokens are rotated, like a service account's).
                var user = FindUser(kubeconfig, contextName)!;
                user.UserCredentials ??= new UserCredentials();
                user.UserCredentials.Token ??= "from-token-file";
            }
            var config = KubernetesClientConfiguration.BuildConfigFromConfigObject(kubeconfig, contextName);
            if (tokenFile is not null && config.AccessToken == "from-token-file")
            {
                config.AccessToken = null;
                config.TokenProvider = new TokenFileAuth(tokenFile);
            }
            return config;
        }
        catch (KubeConfigException e)
        {
            throw new KubernetesConfigException($"kubeconfig {path}: {e.Message}", e);
        }
        catch (YamlException e)
        {
            throw new KubernetesConfigException($"kubeconfig {path}: not a readable kubeconfig (line {e.Start.Line}: {e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this, not a YamlException, on some truncated input.
            throw new KubernetesConfigException($"kubeconfig {path}: not a readable kubeconfig ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or CryptographicException)
        {
            throw new KubernetesConfigException($"kubeconfig {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The pod's own service account, the way client-go's rest.InClusterConfig reads it: the API
    /// server's service address from the environment, the rotated token file, the cluster CA.
    /// </summary>
    public static KubernetesClientConfiguration FromInCluster(string? host, string? port, string serviceAccountDirectory)
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
            var caCertificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            caCertificates.ImportFromPemFile(caPath);
            if (caCertificates.Count == 0)
            {
                throw new KubernetesConfigException($"in-cluster config: {caPath} holds no certificate");
            }
            return new KubernetesClientConfiguration
            {
                // UriBuilder brackets an IPv6 service address, as KUBERNETES_SERVICE_HOST gives it bare.
                Host = new UriBuilder("https", host, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)).Uri.ToString(),
                TokenProvider = new TokenFileAuth(tokenPath),
                SslCaCerts = caCertificates,
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException or CryptographicException
            or ArgumentException)
        {
            throw new KubernetesConfigException($"in-cluster config ({serviceAccountDirectory}, {host}:{port}): {e.Message}", e);
        }
    }

    private static User? FindUser(K8SConfiguration kubeconfig, string contextName)
    {
        var userName = kubeconfig.Contexts?.FirstOrDefault(c => string.Equals(c.Name, contextName, StringComparison.OrdinalIgnoreCase))?.ContextDetails?.User;
        return userName is null ? null : kubeconfig.Users?.FirstOrDefault(u => string.Equals(u.Name, userName, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The context's user's <c>tokenFile</c> (absolute, or relative to the kubeconfig's folder), read
    /// from the YAML tree because the package's AOT models have no member for it.
    /// </summary>
    private static string? FindUserTokenFile(FileInfo file, K8SConfiguration kubeconfig, string contextName)
    {
        var user = FindUser(kubeconfig, contextName);
        if (user is null || !string.IsNullOrWhiteSpace(user.UserCredentials?.Token))
        {
            return null;
        }
        using var reader = file.OpenText();
        var yaml = new YamlStream();
        yaml.Load(reader);
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue("users", out var users) || users is not YamlSequenceNode userList)
        {
            return null;
        }
        foreach (var entry in userList.OfType<YamlMappingNode>())
        {
            if (entry.Children.TryGetValue("name", out var name) && name is YamlScalarNode { Value: { } value }
                && string.Equals(value, user.Name, StringComparison.OrdinalIgnoreCase)
                && entry.Children.TryGetValue("user", out var details) && details is YamlMappingNode detailMap
                && detailMap.Children.TryGetValue("tokenFile", out var tokenFile) && tokenFile is YamlScalarNode { Value: { Length: > 0 } tokenPath })
            {
                var fullPath = Path.IsPathRooted(tokenPath) ? tokenPath : Path.Combine(file.DirectoryName ?? ".", tokenPath);
                return File.Exists(fullPath) ? fullPath : throw new KubernetesConfigException($"kubeconfig {file.FullName}: tokenFile {fullPath} not found");
            }
        }
        return null;
    }
}
