using Contiv.Cni;
using Contiv.Cri.Containerd.V1;
using Grpc.Core;

namespace Contiv.Cri.Tests;

public sealed class ContainerdPodLabelSourceTests
{
    private const string Endpoint = "unix:///run/test/containerd.sock";
    private static readonly PodReference Pod = new("default", "web", "sandbox-1");

    private static (ContainerdPodLabelSource Source, FakeCallInvoker Runtime) Make(Func<string, object, object> handler)
    {
        var runtime = new FakeCallInvoker(handler);
        return (new ContainerdPodLabelSource(runtime, Endpoint, retries: 2, firstDelay: TimeSpan.FromMilliseconds(1)), runtime);
    }

    [Fact]
    public async Task Labels_are_the_sandbox_records_without_cris_own()
    {
        var (source, runtime) = Make((_, request) =>
        {
            var container = new Container { Id = ((GetContainerRequest)request).Id };
            container.Labels["app"] = "web";
            container.Labels["io.contiv.tenant"] = "blue";
            container.Labels["io.cri-containerd.kind"] = "sandbox";
            return new GetContainerResponse { Container = container };
        });

        var labels = await source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken);

        Assert.Equal(new Dictionary<string, string> { ["app"] = "web", ["io.contiv.tenant"] = "blue" }, labels);
        Assert.Equal(["/containerd.services.containers.v1.Containers/Get"], runtime.Calls);
        Assert.Equal("k8s.io", runtime.Headers.Single().GetValue("containerd-namespace"));
        Assert.Equal("containerd", source.Name);
    }

    [Fact]
    public async Task An_unknown_sandbox_is_no_labels()
    {
        var (source, _) = Make((_, _) => throw new RpcException(new Status(StatusCode.NotFound, "container \"sandbox-1\" in namespace \"k8s.io\": not found")));

        Assert.Null(await source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task An_unavailable_containerd_is_retried_then_an_error_naming_it()
    {
        var (source, runtime) = Make((_, _) => throw new RpcException(new Status(StatusCode.Unavailable, "connection refused")));

        var e = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));

        Assert.Equal(3, runtime.Calls.Count);
        Assert.Contains(Endpoint, e.Message, StringComparison.Ordinal);
        Assert.Contains("k8s.io", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_is_an_error_at_once()
    {
        var (source, runtime) = Make((_, _) => throw new RpcException(new Status(StatusCode.PermissionDenied, "no")));

        await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));
        Assert.Single(runtime.Calls);
    }
}
