using Xunit;

namespace Contiv.Kubernetes.Tests;

public sealed class KubernetesConfigTests
{
    [Fact]
    public void A_missing_kubeconfig_is_an_error_naming_the_file()
    {
        using var folder = new TestFolder();
        var path = Path.Combine(folder.Path, "absent.conf");

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));

        Assert.Equal($"kubeconfig {path}: file not found", error.Message);
    }

    [Theory]
    [InlineData("apiVersion: v1\nclusters:\n- name: [unclosed\n  cluster: {server: \n")]
    [InlineData("apiVersion: v1\nclusters: 5\ncurrent-context: x\n")]
    [InlineData("\t- not yaml at all: [\n")]
    public void Malformed_yaml_is_an_error_naming_the_file(string text)
    {
        using var folder = new TestFolder();
        var path = folder.Write("kubeconfig", text);

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));

        Assert.StartsWith($"kubeconfig {path}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_current_context_is_an_error()
    {
        using var folder = new TestFolder();
        var path = Kubeconfigs.Write(folder, "https://127.0.0.1:6443", token: "t", currentContext: "elsewhere");

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));

        Assert.Contains("elsewhere", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_context_given_explicitly_overrides_the_current_context()
    {
        using var folder = new TestFolder();
        var path = Kubeconfigs.Write(folder, "https://127.0.0.1:6443", token: "t", currentContext: "elsewhere");

        using var source = KubernetesApiPodLabelSource.FromKubeconfig(path, context: "contiv@cluster");

        Assert.Equal("https://127.0.0.1:6443", source.Server);
    }

    [Fact]
    public void A_kubeconfig_without_a_server_is_an_error()
    {
        using var folder = new TestFolder();
        var path = Kubeconfigs.Write(folder, "\"\"", token: "t");

        Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));
    }

    [Fact]
    public void A_user_needing_a_credential_plugin_is_an_error_saying_so()
    {
        using var folder = new TestFolder();
        var path = folder.Write("kubeconfig", """
            apiVersion: v1
            clusters:
            - name: eks
              cluster: {server: "https://127.0.0.1:6443"}
            contexts:
            - name: eks
              context: {cluster: eks, user: aws}
            current-context: eks
            users:
            - name: aws
              user:
                exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token]}
            """);

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));

        Assert.Contains("credential plugin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_token_file_is_an_error_naming_it()
    {
        using var folder = new TestFolder();
        var path = Kubeconfigs.Write(folder, "https://127.0.0.1:6443", tokenFile: "gone.token");

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));

        Assert.Contains("gone.token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_client_key_is_an_error_at_construction()
    {
        using var folder = new TestFolder();
        var (certificate, certificatePem, _) = TestCertificates.CreateClient();
        using var _ = certificate;
        var path = Kubeconfigs.Write(folder, "https://127.0.0.1:6443", clientCertificateData: TestCertificates.ToData(certificatePem),
            clientKeyData: TestCertificates.ToData("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"));

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromKubeconfig(path));

        Assert.StartsWith($"kubeconfig {path}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void In_cluster_without_the_service_environment_is_an_error()
    {
        using var folder = new TestFolder();

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromInCluster(null, null, folder.Path, null));

        Assert.Contains("KUBERNETES_SERVICE_HOST", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void In_cluster_without_a_mounted_token_is_an_error_naming_the_file()
    {
        using var folder = new TestFolder();

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesApiPodLabelSource.FromInCluster("10.96.0.1", "443", folder.Path, null));

        Assert.Contains(Path.Combine(folder.Path, "token"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_environment_uses_the_kubeconfig_when_one_is_given()
    {
        using var folder = new TestFolder();
        var path = Kubeconfigs.Write(folder, "https://127.0.0.1:6443", token: "t");

        using var source = KubernetesApiPodLabelSource.FromEnvironment(path);

        Assert.Equal("https://127.0.0.1:6443", source?.Server);
    }

    [Fact]
    public void From_environment_outside_a_cluster_without_a_kubeconfig_is_null()
    {
        Assert.SkipWhen(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is { Length: > 0 }, "this process runs in a Kubernetes pod");

        Assert.Null(KubernetesApiPodLabelSource.FromEnvironment(null));
    }
}
