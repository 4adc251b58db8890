using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text.Json;
using Contiv.Cni;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Contiv.Kubernetes;

/// <summary>How long a label lookup may take: a CNI ADD is waiting on it.</summary>
public sealed record KubernetesApiOptions
{
    /// <summary>One request's limit.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>All attempts together, retry delays included.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after the first attempt, on connection failures, 5xx, 429 and attempt timeouts.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The first retry's delay; later ones double (with jitter).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// Pod labels from the Kubernetes API server (GET /api/v1/namespaces/{ns}/pods/{name}), as
/// netplugin's contivk8s support reads io.contiv.tenant / io.contiv.network / io.contiv.net-group
/// on a node that can reach the API server. Requests go through KubernetesClient (TLS against the
/// cluster CA, bearer token or client certificate) wrapped in a short bounded retry.
/// </summary>
public sealed class KubernetesApiPodLabelSource : IPodLabelSource, IDisposable
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> AcceptJson =
        new Dictionary<string, IReadOnlyList<string>> { ["Accept"] = ["application/json"] };

    private readonly k8s.Kubernetes _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly KubernetesApiOptions _options;

    private KubernetesApiPodLabelSource(KubernetesClientConfiguration config, KubernetesApiOptions? options, string origin)
    {
        _options = options ?? new KubernetesApiOptions();
        // Polly owns the time limits; the client's own (100 s by default) must not be the one that fires.
        config.HttpClientTimeout = Timeout.InfiniteTimeSpan;
        // API servers speak HTTP/2 over TLS, but a plain-HTTP endpoint (kubectl proxy, a test) does
        // not upgrade, so let the client settle on HTTP/1.1 where that is all there is.
        config.DisableHttp2 = !config.Host.StartsWith("https:", StringComparison.OrdinalIgnoreCase);
        // The API server's audit log names the caller by this.
        config.UserAgent = "contiv-netplugin";
        Server = config.Host.TrimEnd('/');
        try
        {
            _client = new k8s.Kubernetes(config);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or IOException or ArgumentException
            or k8s.Exceptions.KubeConfigException)
        {
            throw new KubernetesConfigException($"{origin}: client certificate, key or server unusable: {e.Message}", e);
        }
        _pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(_options.TotalTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                // A TLS failure (untrusted or mismatched certificate) will not pass on a second try.
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(e => e.InnerException is not AuthenticationException)
                    .Handle<SocketException>().Handle<IOException>()
                    .Handle<TimeoutRejectedException>()
                    .Handle<HttpOperationException>(e => IsTransient(e.Response?.StatusCode)),
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = _options.RetryDelay,
                UseJitter = true,
            })
            .AddTimeout(_options.AttemptTimeout)
            .Build();
    }

    /// <summary>From a kubeconfig file (its current-context, or <paramref name="context"/>).</summary>
    /// <exception cref="KubernetesConfigException">The file is missing, unreadable or incomplete.</exception>
    public static KubernetesApiPodLabelSource FromKubeconfig(string path, string? context = null, KubernetesApiOptions? options = null) =>
        new(KubernetesApiConfig.FromKubeconfig(path, context), options, $"kubeconfig {path}");

    /// <summary>
    /// From the pod's own service account (netplugin as a DaemonSet): KUBERNETES_SERVICE_HOST/PORT and
    /// the token and CA under <paramref name="serviceAccountDirectory"/>.
    /// </summary>
    /// <exception cref="KubernetesConfigException">Not in a cluster, or the service account is not mounted.</exception>
    public static KubernetesApiPodLabelSource FromInCluster(string serviceAccountDirectory = KubernetesApiConfig.ServiceAccountDirectory,
        KubernetesApiOptions? options = null) =>
        FromInCluster(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"), Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT"),
            serviceAccountDirectory, options);

    /// <summary>In-cluster config with the service address given, not read from the environment (tests).</summary>
    internal static KubernetesApiPodLabelSource FromInCluster(string? host, string? port, string serviceAccountDirectory, KubernetesApiOptions? options) =>
        new(KubernetesApiConfig.FromInCluster(host, port, serviceAccountDirectory), options, $"in-cluster config {serviceAccountDirectory}");

    /// <summary>
    /// What netplugin uses: the kubeconfig when one is given (--k8s-config), else the in-cluster
    /// service account when KUBERNETES_SERVICE_HOST is set, else null (no API server known).
    /// </summary>
    public static KubernetesApiPodLabelSource? FromEnvironment(string? kubeconfigPath, KubernetesApiOptions? options = null) =>
        !string.IsNullOrEmpty(kubeconfigPath) ? FromKubeconfig(kubeconfigPath, options: options)
        : !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")) ? FromInCluster(options: options)
        : null;

    public string Name => "kubernetes api";

    /// <summary>The API server's address, as errors name it.</summary>
    public string Server { get; }

    public async Task<IReadOnlyDictionary<string, string>?> FindLabelsAsync(PodReference pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (string.IsNullOrEmpty(pod.Namespace) || string.IsNullOrEmpty(pod.Name))
        {
            // Not a Kubernetes pod (e.g. `ctr run --cni`): there is nothing to ask the API server.
            return null;
        }
        try
        {
            var found = await _pipeline.ExecuteAsync(async (t) =>
            {
                using var response = await _client.CoreV1.ReadNamespacedPodWithHttpMessagesAsync(pod.Name, pod.Namespace,
                    customHeaders: AcceptJson, cancellationToken: t).ConfigureAwait(false);
                return response.Body;
            }, ct).ConfigureAwait(false);
            return found?.Metadata?.Labels is { } labels ? new Dictionary<string, string>(labels) : new Dictionary<string, string>();
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e)
        {
            throw Failure(pod, $"{Describe(e.Response?.StatusCode)}{StatusMessage(e.Response?.Content)}", e);
        }
        catch (TimeoutRejectedException e) when (!ct.IsCancellationRequested)
        {
            throw Failure(pod, $"no answer within {e.Timeout.TotalSeconds:0.#}s", e);
        }
        catch (HttpRequestException e)
        {
            throw Failure(pod, $"unreachable: {Innermost(e).Message}", e);
        }
        catch (JsonException e)
        {
            throw Failure(pod, $"unreadable pod object: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw Failure(pod, $"connection failed: {Innermost(e).Message}", e);
        }
    }

    public void Dispose() => _client.Dispose();

    private static bool IsTransient(HttpStatusCode? status) => status is HttpStatusCode.TooManyRequests || (int?)status >= 500;

    private PodLabelSourceException Failure(PodReference pod, string reason, Exception inner) =>
        new($"kubernetes api {Server}: get pod {pod.Namespace}/{pod.Name}: {reason}", inner);

    private static string Describe(HttpStatusCode? status) => status is { } code ? $"{(int)code} {code}" : "no status";

    /// <summary>
    /// ": message" from the API server's Status object (e.g. pods "x" is forbidden: User "y" cannot get
    /// resource...), or nothing when the body is not one.
    /// </summary>
    private static string StatusMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "";
        }
        try
        {
            var status = KubernetesJson.Deserialize<V1Status>(body);
            return string.IsNullOrWhiteSpace(status?.Message) ? "" : $": {OneLine(status.Message)}";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;
}
