using Contiv.ControlPlane;

namespace Contiv.NetMaster;

/// <summary>
/// A create of a network or group returns once its Docker network exists on every live host (or
/// after <see cref="NetMasterOptions.DockerNetworkWait"/>), so `docker run --net=NAME` on any host
/// right after netctl works, as it did with Contiv, whose netmaster created one cluster-wide Docker
/// network itself. The object is created either way: a host that is slow is logged, not an error.
/// </summary>
public static class DockerNetworkWait
{
    public static async Task ForAsync(ContivControl control, NetMasterOptions options, ILogger logger, string networkId, string? group, CancellationToken ct)
    {
        var missing = await control.WaitForDockerNetworksAsync(networkId, group, options.DockerNetworkWait, options.HostTimeout, ct);
        if (missing.Count > 0)
        {
            logger.LogWarning(
                "the Docker network of {What} is not on host(s) {Hosts} after {Seconds} s; their agents create it when their engine answers",
                group is null ? networkId : $"group {group} of {networkId}", string.Join(", ", missing), options.DockerNetworkWait.TotalSeconds);
        }
    }
}
