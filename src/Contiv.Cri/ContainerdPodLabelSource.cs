using Contiv.Cni;
using Contiv.Cri.Containerd.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Polly;
using Polly.Retry;

namespace Contiv.Cri;

/// <summary>
/// A pod's labels from containerd's own record of the pod's sandbox container (containers API,
/// namespace k8s.io), which containerd's CRI plugin writes with the pod's labels before it runs the
/// CNI ADD. CRI's PodSandboxStatus does not know the sandbox until RunPodSandbox has finished (the
/// sandbox enters CRI's store after its network is set up: containerd 1.6, tests/Contiv.Cri.Tests
/// ProbeTests), so during ADD this is the runtime-side place the labels can be read.
/// The record also carries the sandbox image's labels (pod labels win on conflict) and CRI's own
/// io.cri-containerd.* labels; the latter are left out.
/// </summary>
public sealed class ContainerdPodLabelSource : IPodLabelSource, IDisposable
{
    /// <summary>The containerd namespace of CRI's containers.</summary>
    public const string CriNamespace = "k8s.io";

    private const string NamespaceHeader = "containerd-namespace";
    private const string CriLabelPrefix = "io.cri-containerd.";

    private readonly Containers.ContainersClient _containers;
    private readonly GrpcChannel? _channel;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeSpan _callTimeout;
    private readonly string _namespace;

    public ContainerdPodLabelSource(CallInvoker invoker, string endpoint, string containerdNamespace = CriNamespace, int retries = 3, TimeSpan? firstDelay = null, TimeSpan? callTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        _containers = new Containers.ContainersClient(invoker);
        Endpoint = endpoint;
        _namespace = containerdNamespace;
        _callTimeout = callTimeout ?? TimeSpan.FromSeconds(10);
        // as for CRI: only an unavailable runtime (restarting) is worth another try
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => e.StatusCode == StatusCode.Unavailable),
                MaxRetryAttempts = Math.Max(0, retries),
                BackoffType = DelayBackoffType.Exponential,
                Delay = firstDelay ?? TimeSpan.FromMilliseconds(100),
                UseJitter = true,
            })
            .Build();
    }

    private ContainerdPodLabelSource(GrpcChannel channel, string endpoint, string containerdNamespace)
        : this(channel.CreateCallInvoker(), endpoint, containerdNamespace) => _channel = channel;

    /// <summary>A source asking the containerd listening on <paramref name="socketPath"/> (/run/containerd/containerd.sock).</summary>
    public static ContainerdPodLabelSource ForUnixSocket(string socketPath, string containerdNamespace = CriNamespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        return new ContainerdPodLabelSource(UnixSocketChannel.Create(socketPath), "unix://" + socketPath, containerdNamespace);
    }

    public string Name => "containerd";

    /// <summary>Where containerd is (unix:///path), for messages.</summary>
    public string Endpoint { get; }

    public async Task<IReadOnlyDictionary<string, string>?> FindLabelsAsync(PodReference pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (string.IsNullOrEmpty(pod.SandboxId))
        {
            return null;
        }

        try
        {
            var container = await _pipeline.ExecuteAsync(
                static async (state, t) =>
                {
                    var options = new CallOptions(
                        headers: [new Metadata.Entry(NamespaceHeader, state.Self._namespace)],
                        deadline: DateTime.UtcNow + state.Self._callTimeout,
                        cancellationToken: t);
                    var response = await state.Self._containers.GetAsync(new GetContainerRequest { Id = state.Id }, options).ConfigureAwait(false);
                    return response.Container;
                },
                (Self: this, Id: pod.SandboxId), ct).ConfigureAwait(false);
            return container?.Labels
                .Where(label => !label.Key.StartsWith(CriLabelPrefix, StringComparison.Ordinal))
                .ToDictionary(label => label.Key, label => label.Value);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e) when (!ct.IsCancellationRequested || e.StatusCode != StatusCode.Cancelled)
        {
            var what = e.StatusCode == StatusCode.Unavailable ? "is unavailable" : $"answered {e.StatusCode}";
            throw new PodLabelSourceException(
                $"containerd at {Endpoint} (namespace {_namespace}) {what} when asked for the sandbox container of {pod} (sandbox {pod.SandboxId}): {e.Status.Detail}", e);
        }
    }

    public void Dispose() => _channel?.Dispose();
}
