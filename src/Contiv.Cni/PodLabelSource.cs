namespace Contiv.Cni;

/// <summary>
/// The pod a CNI call is about, as the runtime names it in CNI_ARGS: K8S_POD_NAMESPACE,
/// K8S_POD_NAME and K8S_POD_INFRA_CONTAINER_ID (the sandbox id; equal to CNI_CONTAINERID under
/// containerd). Any of them may be missing when the runtime is not Kubernetes' (e.g. <c>ctr run --cni</c>).
/// </summary>
public sealed record PodReference(string? Namespace, string? Name, string? SandboxId)
{
    public static PodReference FromArgs(IReadOnlyDictionary<string, string> args, string containerId) => new(
        args.GetValueOrDefault("K8S_POD_NAMESPACE"),
        args.GetValueOrDefault("K8S_POD_NAME"),
        args.GetValueOrDefault("K8S_POD_INFRA_CONTAINER_ID") is { Length: > 0 } sandbox ? sandbox : containerId);

    public override string ToString() => Namespace is null && Name is null ? $"sandbox {SandboxId}" : $"{Namespace}/{Name}";
}

/// <summary>
/// Where a node learns a pod's labels (which carry its Contiv tenant, network and group): the
/// Kubernetes API server, or the container runtime over CRI when the node has no API access.
/// </summary>
public interface IPodLabelSource
{
    /// <summary>A short name for logs and errors ("kubernetes api", "cri").</summary>
    string Name { get; }

    /// <summary>
    /// The pod's labels; null when this source does not know the pod (not found). Throws
    /// <see cref="PodLabelSourceException"/> when the source cannot be asked (unreachable, refused,
    /// unreadable answer), so the caller can tell "no labels" from "could not look".
    /// </summary>
    Task<IReadOnlyDictionary<string, string>?> FindLabelsAsync(PodReference pod, CancellationToken ct);
}

public sealed class PodLabelSourceException(string message, Exception? inner = null) : Exception(message, inner);
