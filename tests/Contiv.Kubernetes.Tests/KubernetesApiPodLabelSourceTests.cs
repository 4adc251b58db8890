using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Contiv.Cni;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Contiv.Kubernetes.Tests;

public sealed class KubernetesApiPodLabelSourceTests
{
    private const string Token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImNvbnRpdiJ9.contiv-netplugin.signature";

    private static readonly PodReference SeedPod = new("default", "contiv-c1", "4f2a9c81d0e3");

    /// <summary>Short limits so failure tests end fast; the defaults are a few seconds.</summary>
    private static readonly KubernetesApiOptions FastOptions = new()
    {
        AttemptTimeout = TimeSpan.FromMilliseconds(500),
        TotalTimeout = TimeSpan.FromSeconds(2),
        MaxRetries = 2,
        RetryDelay = TimeSpan.FromMilliseconds(20),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reads_the_seed_pods_labels_over_https_trusting_the_certificate_authority_data()
    {
        using var serverCertificate = TestCertificates.CreateServer();
        await using var server = await FakeApiServer.StartAsync(serverCertificate);
        using var folder = new TestFolder();
        var kubeconfig = Kubeconfigs.Write(folder, server.Url, caData: TestCertificates.ToData(serverCertificate.ExportCertificatePem()), token: Token);
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(kubeconfig);

        var labels = await source.FindLabelsAsync(SeedPod, Ct);

        Assert.Equal(new Dictionary<string, string>
        {
            ["io.contiv.tenant"] = "default",
            ["io.contiv.network"] = "contiv-net",
            ["k8s-app"] = "contiv-c1",
        }, labels);
        var request = Assert.Single(server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/api/v1/namespaces/default/pods/contiv-c1", request.Path);
        Assert.Equal("application/json", request.Accept);
        Assert.Equal($"Bearer {Token}", request.Authorization);
        Assert.Equal("contiv-netplugin", request.UserAgent);
        Assert.Equal("kubernetes api", source.Name);
    }

    [Fact]
    public async Task Reads_labels_over_plain_http()
    {
        await using var server = await FakeApiServer.StartAsync();
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token));

        var labels = await source.FindLabelsAsync(SeedPod, Ct);

        Assert.Equal("contiv-net", labels?["io.contiv.network"]);
        Assert.Equal($"Bearer {Token}", Assert.Single(server.Requests).Authorization);
    }

    [Fact]
    public async Task Presents_the_kubeconfigs_client_certificate()
    {
        using var serverCertificate = TestCertificates.CreateServer();
        await using var server = await FakeApiServer.StartAsync(serverCertificate, requireClientCertificate: true);
        var (clientCertificate, certificatePem, keyPem) = TestCertificates.CreateClient();
        using var _ = clientCertificate;
        using var folder = new TestFolder();
        var kubeconfig = Kubeconfigs.Write(folder, server.Url, caData: TestCertificates.ToData(serverCertificate.ExportCertificatePem()),
            clientCertificateData: TestCertificates.ToData(certificatePem), clientKeyData: TestCertificates.ToData(keyPem));
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(kubeconfig);

        var labels = await source.FindLabelsAsync(SeedPod, Ct);

        Assert.Equal("default", labels?["io.contiv.tenant"]);
        var request = Assert.Single(server.Requests);
        Assert.Equal(clientCertificate.Thumbprint, request.ClientCertificateThumbprint);
        Assert.Equal("", request.Authorization);
    }

    [Fact]
    public async Task Sends_the_token_read_from_the_kubeconfigs_token_file()
    {
        await using var server = await FakeApiServer.StartAsync();
        using var folder = new TestFolder();
        folder.Write("netplugin.token", Token + "\n");
        // Relative to the kubeconfig's folder, as kubectl resolves it.
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, tokenFile: "netplugin.token"));

        Assert.NotNull(await source.FindLabelsAsync(SeedPod, Ct));
        Assert.Equal($"Bearer {Token}", Assert.Single(server.Requests).Authorization);
    }

    [Fact]
    public async Task Skips_verification_when_the_kubeconfig_says_insecure_skip_tls_verify()
    {
        using var serverCertificate = TestCertificates.CreateServer();
        await using var server = await FakeApiServer.StartAsync(serverCertificate);
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token, insecureSkipTlsVerify: true));

        Assert.NotNull(await source.FindLabelsAsync(SeedPod, Ct));
    }

    [Fact]
    public async Task Refuses_a_server_certificate_the_certificate_authority_did_not_issue()
    {
        using var serverCertificate = TestCertificates.CreateServer();
        using var otherAuthority = TestCertificates.CreateServer("CN=some-other-ca");
        await using var server = await FakeApiServer.StartAsync(serverCertificate);
        using var folder = new TestFolder();
        var kubeconfig = Kubeconfigs.Write(folder, server.Url, caData: TestCertificates.ToData(otherAuthority.ExportCertificatePem()), token: Token);
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(kubeconfig, options: FastOptions);

        var error = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        Assert.Contains(source.Server, error.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Reads_certificate_files_named_relative_to_the_kubeconfig_and_keeps_the_servers_path()
    {
        using var serverCertificate = TestCertificates.CreateServer();
        await using var server = await FakeApiServer.StartAsync(serverCertificate, requireClientCertificate: true);
        server.Respond = (context, _) => context.Request.Path == "/k8s/clusters/c-7x2/api/v1/namespaces/default/pods/contiv-c1"
            ? FakeApiServer.ServeAsync(context, 200, "pod-contiv-c1.json")
            : FakeApiServer.ServeAsync(context, 404, "status-404-pod-not-found.json");
        var (clientCertificate, certificatePem, keyPem) = TestCertificates.CreateClient();
        using var _ = clientCertificate;
        using var folder = new TestFolder();
        Directory.CreateDirectory(Path.Combine(folder.Path, "pki"));
        folder.Write("pki/ca.crt", serverCertificate.ExportCertificatePem());
        folder.Write("pki/netplugin.crt", certificatePem);
        folder.Write("pki/netplugin.key", keyPem);
        var kubeconfig = folder.Write("kubeconfig", $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: rancher
              cluster:
                server: {server.Url}/k8s/clusters/c-7x2
                certificate-authority: pki/ca.crt
            contexts:
            - name: node
              context: {"{"}cluster: rancher, user: netplugin{"}"}
            current-context: node
            users:
            - name: netplugin
              user:
                client-certificate: pki/netplugin.crt
                client-key: pki/netplugin.key
            """);
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(kubeconfig);

        Assert.Equal("contiv-net", (await source.FindLabelsAsync(SeedPod, Ct))?["io.contiv.network"]);
        Assert.Equal(clientCertificate.Thumbprint, Assert.Single(server.Requests).ClientCertificateThumbprint);
    }

    [Fact]
    public async Task Reads_in_cluster_config_from_the_service_account_folder()
    {
        using var serverCertificate = TestCertificates.CreateServer();
        await using var server = await FakeApiServer.StartAsync(serverCertificate);
        using var serviceAccount = new TestFolder();
        serviceAccount.Write("token", Token);
        serviceAccount.Write("ca.crt", serverCertificate.ExportCertificatePem());
        serviceAccount.Write("namespace", "kube-system");
        var port = new Uri(server.Url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var source = KubernetesApiPodLabelSource.FromInCluster("127.0.0.1", port, serviceAccount.Path, options: null);

        var labels = await source.FindLabelsAsync(SeedPod, Ct);

        Assert.Equal("contiv-c1", labels?["k8s-app"]);
        Assert.Equal($"Bearer {Token}", Assert.Single(server.Requests).Authorization);
        Assert.Equal($"https://127.0.0.1:{port}", source.Server);
    }

    [Fact]
    public async Task A_pod_the_api_server_does_not_know_is_null()
    {
        await using var server = await FakeApiServer.StartAsync();
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token));

        Assert.Null(await source.FindLabelsAsync(new PodReference("default", "contiv-c9", null), Ct));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task A_pod_without_labels_has_an_empty_dictionary()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, _) => context.Response.WriteAsync("""{"kind":"Pod","apiVersion":"v1","metadata":{"name":"bare","namespace":"default"}}""");
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token));

        var labels = await source.FindLabelsAsync(new PodReference("default", "bare", null), Ct);

        Assert.NotNull(labels);
        Assert.Empty(labels);
    }

    [Theory]
    [InlineData(null, "contiv-c1")]
    [InlineData("default", null)]
    [InlineData("", "")]
    public async Task A_pod_reference_without_namespace_or_name_is_null_without_asking(string? podNamespace, string? name)
    {
        await using var server = await FakeApiServer.StartAsync();
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token));

        Assert.Null(await source.FindLabelsAsync(new PodReference(podNamespace, name, "4f2a9c81d0e3"), Ct));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Forbidden_is_an_error_quoting_the_status_message_and_is_not_retried()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, _) => FakeApiServer.ServeAsync(context, 403, "status-403-forbidden.json");
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token), options: FastOptions);

        var error = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        Assert.Equal($"kubernetes api {source.Server}: get pod default/contiv-c1: 403 Forbidden: pods \"contiv-c1\" is forbidden: "
            + "User \"system:serviceaccount:kube-system:contiv-netplugin\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\"",
            error.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task A_server_error_is_retried_a_bounded_number_of_times_then_quoted()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, _) => FakeApiServer.ServeAsync(context, 500, "status-500-etcd.json");
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token), options: FastOptions);

        var error = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        Assert.EndsWith("get pod default/contiv-c1: 500 InternalServerError: etcdserver: request timed out", error.Message, StringComparison.Ordinal);
        Assert.Equal(1 + FastOptions.MaxRetries, server.Requests.Count);
    }

    [Fact]
    public async Task Too_many_requests_then_success_returns_the_labels()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, index) =>
        {
            if (index == 0)
            {
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "1";
                return context.Response.WriteAsync("""{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","code":429}""");
            }
            return FakeApiServer.ServeRecordedPodsAsync(context);
        };
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token), options: FastOptions);

        Assert.Equal("default", (await source.FindLabelsAsync(SeedPod, Ct))?["io.contiv.tenant"]);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task An_unreadable_pod_object_is_an_error()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, _) => context.Response.WriteAsync("""{"kind":"Pod","metadata":{"labels":["not","a","map"]}}""");
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token), options: FastOptions);

        var error = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        Assert.Contains("unreadable pod object", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Connection_refused_is_an_error_within_the_time_cap()
    {
        // A port that was free a moment ago: nothing listens there now.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var folder = new TestFolder();
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, $"http://127.0.0.1:{port}", token: Token), options: FastOptions);
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, FastOptions.TotalTimeout + TimeSpan.FromSeconds(1));
        Assert.StartsWith($"kubernetes api http://127.0.0.1:{port}: get pod default/contiv-c1: unreachable: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("refused", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_server_that_never_answers_is_an_error_at_the_total_cap()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, _) => Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        using var folder = new TestFolder();
        var options = FastOptions with { AttemptTimeout = TimeSpan.FromSeconds(10), TotalTimeout = TimeSpan.FromSeconds(1) };
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token), options: options);
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3));
        Assert.EndsWith("no answer within 1s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slow_attempts_are_retried_but_the_total_cap_bounds_them()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Respond = (context, _) => Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        using var folder = new TestFolder();
        var options = FastOptions with { AttemptTimeout = TimeSpan.FromMilliseconds(300), TotalTimeout = TimeSpan.FromSeconds(5), MaxRetries = 2 };
        using var source = KubernetesApiPodLabelSource.FromKubeconfig(Kubeconfigs.Write(folder, server.Url, token: Token), options: options);
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(SeedPod, Ct));

        // Three attempts of 0.3 s and two short delays: well under the 5 s cap.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.85), TimeSpan.FromSeconds(3));
        Assert.Equal(3, server.Requests.Count);
    }
}
