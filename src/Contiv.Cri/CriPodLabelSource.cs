using Contiv.Cni;
using Grpc.Core;
using Polly;
using Polly.Retry;

namespace Contiv.Cri;

/// <summary>
/// A pod's labels as the node's container runtime knows them (CRI PodSandboxStatus of the pod's
/// sandbox), for nodes where netplugin has no Kubernetes API server to ask.
/// </summary>
public sealed class CriPodLabelSource : IPodLabelSource
{
    private readonly CriRuntimeClient _client;
    private readonly ResiliencePipeline _pipeline;

    /// <param name="retries">Extra attempts when the runtime is unavailable (restarting, socket not there yet).</param>
    public CriPodLabelSource(CriRuntimeClient client, int retries = 3, TimeSpan? firstDelay = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        // Only Unavailable is worth another try: the runtime is (re)starting. Any other status is an
        // answer (NotFound) or a fault that a retry will not change, and the CNI ADD is waiting.
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

    public string Name => "cri";

    public async Task<IReadOnlyDictionary<string, string>?> FindLabelsAsync(PodReference pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (string.IsNullOrEmpty(pod.SandboxId))
        {
            return null;
        }

        try
        {
            var status = await _pipeline.ExecuteAsync(
                static async (state, t) => await state.Client.PodSandboxStatusAsync(state.SandboxId, t).ConfigureAwait(false),
                (Client: _client, pod.SandboxId), ct).ConfigureAwait(false);
            return status?.Labels is { } labels ? new Dictionary<string, string>(labels) : null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
        catch (RpcException e) when (!ct.IsCancellationRequested || e.StatusCode != StatusCode.Cancelled)
        {
            var what = e.StatusCode == StatusCode.Unavailable ? "is unavailable" : $"answered {e.StatusCode}";
            throw new PodLabelSourceException(
                $"the container runtime (CRI) at {_client.Endpoint} {what} when asked for the labels of {pod} (sandbox {pod.SandboxId}): {e.Status.Detail}", e);
        }
    }
}
