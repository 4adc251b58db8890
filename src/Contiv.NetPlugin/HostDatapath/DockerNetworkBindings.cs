using Contiv.ControlPlane;

namespace Contiv.NetPlugin;

/// <summary>The kernel side of a Docker network binding (the control plane knows no datapath types).</summary>
public static class DockerNetworkBindings
{
    extension(DockerNetworkBinding binding)
    {
        public NetworkDatapathSpec Spec => new(binding.NetworkId, binding.Encap, binding.Tag);
    }
}
