using Contiv.Cni;

namespace Contiv.NetPlugin.Cni;

/// <summary>
/// A label source behind the container runtime's socket, asked only while that socket exists. The
/// runtime is the one calling CNI ADD, so a missing socket means another runtime (or none) runs
/// pods here: say so at once instead of spending the source's retries on a connect that cannot work.
/// </summary>
public sealed class RuntimeSocketCheck(IPodLabelSource inner, string socketPath) : IPodLabelSource
{
    public string Name => inner.Name;

    public Task<IReadOnlyDictionary<string, string>?> FindLabelsAsync(PodReference pod, CancellationToken ct) =>
        File.Exists(socketPath)
            ? inner.FindLabelsAsync(pod, ct)
            : throw new PodLabelSourceException($"no runtime socket at {socketPath}");
}
