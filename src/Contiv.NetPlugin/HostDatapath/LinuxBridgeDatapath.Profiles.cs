using Contiv.Model;
using Contiv.Policy;

namespace Contiv.NetPlugin;

/// <summary>Netprofiles on endpoint veths (in progress).</summary>
public sealed partial class LinuxBridgeDatapath
{
    public bool ApplyEndpointProfile(NetworkDatapathSpec network, string endpointId, NetProfile? profile) =>
        profile is null ? false : throw new ContivException(ErrorKind.Unavailable, "netprofiles are not enforced yet");
}
