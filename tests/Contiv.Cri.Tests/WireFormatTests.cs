using Contiv.Cri.V1;
using Google.Protobuf;

namespace Contiv.Cri.Tests;

/// <summary>
/// The minimal proto must put fields where upstream cri-api does (runtime.v1, api.proto): a few
/// encodings checked byte for byte against the field numbers there.
/// </summary>
public sealed class WireFormatTests
{
    // tag = field number << 3 | wire type (2: length-delimited, 0: varint)
    private static byte Tag(int field, int wireType) => (byte)((field << 3) | wireType);

    [Fact]
    public void Service_and_method_names_are_upstreams()
    {
        Assert.Equal("runtime.v1.RuntimeService", RuntimeService.Descriptor.FullName);
        Assert.Equal("runtime.v1.ImageService", ImageService.Descriptor.FullName);
        Assert.Equal(
            ["Version", "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus", "ListPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer", "ExecSync"],
            RuntimeService.Descriptor.Methods.Select(m => m.Name));
    }

    [Fact]
    public void Sandbox_status_labels_are_field_7_and_annotations_field_8()
    {
        var status = new PodSandboxStatus();
        status.Labels["a"] = "b";
        Assert.Equal(Tag(7, 2), status.ToByteArray()[0]);
        status = new PodSandboxStatus();
        status.Annotations["a"] = "b";
        Assert.Equal(Tag(8, 2), status.ToByteArray()[0]);
    }

    [Fact]
    public void Sandbox_config_fields_are_upstreams()
    {
        Assert.Equal(Tag(1, 2), new PodSandboxConfig { Metadata = new PodSandboxMetadata { Name = "x" } }.ToByteArray()[0]);
        Assert.Equal(Tag(3, 2), new PodSandboxMetadata { Namespace = "x" }.ToByteArray()[0]);
        Assert.Equal(Tag(2, 2), new PodSandboxMetadata { Uid = "x" }.ToByteArray()[0]);
        var labelled = new PodSandboxConfig();
        labelled.Labels["a"] = "b";
        Assert.Equal(Tag(6, 2), labelled.ToByteArray()[0]);
        Assert.Equal(Tag(8, 2), new PodSandboxConfig { Linux = new LinuxPodSandboxConfig { CgroupParent = "/x" } }.ToByteArray()[0]);
        Assert.Equal(Tag(5, 2), new PodSandboxStatus { Network = new PodSandboxNetworkStatus { Ip = "10.0.0.1" } }.ToByteArray()[0]);
    }

    [Fact]
    public void Exec_fields_are_upstreams()
    {
        Assert.Equal([Tag(3, 0), 7], new ExecSyncRequest { Timeout = 7 }.ToByteArray());
        Assert.Equal([Tag(3, 0), 2], new ExecSyncResponse { ExitCode = 2 }.ToByteArray());
        Assert.Equal(Tag(2, 2), new ExecSyncRequest { Cmd = { "ls" } }.ToByteArray()[0]);
        Assert.Equal([Tag(2, 0), 5], new StopContainerRequest { Timeout = 5 }.ToByteArray());
    }

    [Fact]
    public void A_pod_spec_becomes_the_config_kubelet_would_send()
    {
        var config = new CriPodSpec("web", "default", "uid-1")
        {
            Labels = new Dictionary<string, string> { ["app"] = "web" },
            Annotations = new Dictionary<string, string> { ["note"] = "x" },
            CgroupParent = "/pods",
        }.ToConfig();

        Assert.Equal("web", config.Metadata.Name);
        Assert.Equal("default", config.Metadata.Namespace);
        Assert.Equal("uid-1", config.Metadata.Uid);
        Assert.Equal("web", config.Hostname);
        Assert.Equal("web", config.Labels["app"]);
        Assert.Equal("x", config.Annotations["note"]);
        Assert.Equal("/pods", config.Linux.CgroupParent);
    }
}
