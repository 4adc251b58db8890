using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using Contiv.Cni;
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
/// on a node that can reach the API server. Plain HttpClient (TLS against the cluster CA, bearer
/// token or client certificate) and only the pod's metadata.labels deserialised: a full Kubernetes
/// client library adds ~19 MB to the native netplugin for this one GET. Wrapped in a short,
/// bounded retry because a CNI ADD is waiting.
/// </summary>
public sealed class KubernetesApiPodLabelSource : IPodLabelSource, IDisposable
{
    private readonly KubernetesApiConfig _config;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _pipeline;

    private KubernetesApiPodLabelSource(KubernetesApiConfig config, KubernetesApiOptions? options)
    {
        var limits = options ?? new KubernetesApiOptions();
        _config = config;
        Server = config.Server.ToString().TrimEnd('/');
        var handler = new SocketsHttpHandler { ConnectTimeout = limits.AttemptTimeout, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => IsTrusted(config, certificate, chain, errors);
        if (config.ClientCertificate is { } clientCertificate)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        // Polly owns the time limits; HttpClient's own (100 s) must not be the one that fires.
        // The trailing slash keeps a server's path prefix (e.g. a proxy's /k8s/clusters/x) when the pod path is added.
        _http = new HttpClient(handler) { BaseAddress = new Uri(Server + "/"), Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        // The API server's audit log names the caller by this.
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("contiv-netplugin", null));
        _pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(limits.TotalTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                // A TLS failure (untrusted or mismatched certificate) will not pass on a second try.
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(e => e.InnerException is not AuthenticationException)
                    .Handle<SocketException>()
                    .Handle<IOException>()
                    .Handle<TimeoutRejectedException>()
                    .Handle<ApiStatusException>(e => e.StatusCode is HttpStatusCode.TooManyRequests || (int)e.StatusCode >= 500),
                MaxRetryAttempts = limits.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = limits.RetryDelay,
                UseJitter = true,
            })
            .AddTimeout(limits.AttemptTimeout)
            .Build();
    }

    /// <summary>From a kubeconfig file (its current-context, or <paramref name="context"/>).</summary>
    /// <exception cref="KubernetesConfigException">The file is missing, unreadable or incomplete.</exception>
    public static KubernetesApiPodLabelSource FromKubeconfig(string path, string? context = null, KubernetesApiOptions? options = null) =>
        new(KubernetesApiConfig.FromKubeconfig(path, context), options);

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
        new(KubernetesApiConfig.FromInCluster(host, port, serviceAccountDirectory), options);

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
        var path = $"api/v1/namespaces/{Uri.EscapeDataString(pod.Namespace)}/pods/{Uri.EscapeDataString(pod.Name)}";
        try
        {
            var found = await _pipeline.ExecuteAsync(async t => await GetPodAsync(path, t).ConfigureAwait(false), ct).ConfigureAwait(false);
            return found is null ? null : found.Metadata?.Labels ?? new Dictionary<string, string>();
        }
        catch (ApiStatusException e)
        {
            throw Failure(pod, $"{(int)e.StatusCode} {e.StatusCode}{(e.StatusMessage is { } message ? $": {message}" : "")}", e);
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

    public void Dispose() => _http.Dispose();

    /// <summary>The pod's metadata; null when the API server answers 404.</summary>
    private async Task<PodObject?> GetPodAsync(string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (await _config.ReadTokenAsync(ct).ConfigureAwait(false) is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            throw new ApiStatusException(response.StatusCode, StatusMessage(body));
        }
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(stream, KubernetesApiJson.Default.PodObject, ct).ConfigureAwait(false)
            ?? throw new JsonException("the answer is JSON null");
    }

    private static bool IsTrusted(KubernetesApiConfig config, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (config.InsecureSkipTlsVerify)
        {
            return true;
        }
        if (config.CertificateAuthorities is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return errors == SslPolicyErrors.None;
        }
        // Trust the kubeconfig's (or service account's) CA and nothing else, as client-go does.
        using var customChain = new X509Chain();
        customChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        customChain.ChainPolicy.CustomTrustStore.AddRange(config.CertificateAuthorities);
        customChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // Intermediates the server sent with its certificate.
            foreach (var element in chain.ChainElements)
            {
                customChain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        return customChain.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }

    private PodLabelSourceException Failure(PodReference pod, string reason, Exception inner) =>
        new($"kubernetes api {Server}: get pod {pod.Namespace}/{pod.Name}: {reason}", inner);

    /// <summary>
    /// The message of the API server's Status object (e.g. pods "x" is forbidden: User "y" cannot get
    /// resource...), or null when the body is not one.
    /// </summary>
    private static string? StatusMessage(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, KubernetesApiJson.Default.ApiStatus)?.Message is { Length: > 0 } message
                ? message.ReplaceLineEndings(" ").Trim() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;
}

/// <summary>A non-2xx, non-404 answer, carried through the retry so 5xx/429 can be told from 4xx.</summary>
internal sealed class ApiStatusException(HttpStatusCode statusCode, string? statusMessage) : Exception($"{(int)statusCode} {statusCode}")
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    public string? StatusMessage { get; } = statusMessage;
}

/// <summary>The part of a v1 Pod read here.</summary>
internal sealed record PodObject(PodMetadata? Metadata);

internal sealed record PodMetadata(Dictionary<string, string>? Labels);

/// <summary>The part of a v1 Status (the API server's error body) quoted in errors.</summary>
internal sealed record ApiStatus(string? Message, string? Reason, int? Code);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PodObject))]
[JsonSerializable(typeof(ApiStatus))]
internal sealed partial class KubernetesApiJson : JsonSerializerContext;
