using System.Text;

namespace Contiv.Kubernetes.Tests;

/// <summary>A folder for a test's kubeconfig, token and CA files, removed afterwards.</summary>
internal sealed class TestFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("contiv-kapi-").FullName;

    public string Write(string name, string text)
    {
        var file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, text);
        return file;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Kubeconfig files as kubeadm and kubectl write them, with the fields a test varies.</summary>
internal static class Kubeconfigs
{
    public static string Write(TestFolder folder, string server, string? caData = null, string? token = null, string? tokenFile = null,
        string? clientCertificateData = null, string? clientKeyData = null, bool insecureSkipTlsVerify = false, string currentContext = "contiv@cluster")
    {
        var text = new StringBuilder()
            .AppendLine("apiVersion: v1")
            .AppendLine("kind: Config")
            .AppendLine("clusters:")
            .AppendLine("- name: cluster")
            .AppendLine("  cluster:")
            .AppendLine($"    server: {server}");
        if (caData is not null)
        {
            text.AppendLine($"    certificate-authority-data: {caData}");
        }
        if (insecureSkipTlsVerify)
        {
            text.AppendLine("    insecure-skip-tls-verify: true");
        }
        text.AppendLine("contexts:")
            .AppendLine("- name: contiv@cluster")
            .AppendLine("  context:")
            .AppendLine("    cluster: cluster")
            .AppendLine("    user: contiv")
            .AppendLine($"current-context: {currentContext}")
            .AppendLine("users:")
            .AppendLine("- name: contiv")
            .AppendLine("  user:");
        if (token is not null)
        {
            text.AppendLine($"    token: {token}");
        }
        if (tokenFile is not null)
        {
            text.AppendLine($"    tokenFile: {tokenFile}");
        }
        if (clientCertificateData is not null)
        {
            text.AppendLine($"    client-certificate-data: {clientCertificateData}");
        }
        if (clientKeyData is not null)
        {
            text.AppendLine($"    client-key-data: {clientKeyData}");
        }
        return folder.Write("kubeconfig", text.ToString());
    }
}
