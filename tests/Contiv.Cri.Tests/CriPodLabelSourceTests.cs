using Contiv.Cni;
using Contiv.Cri.V1;
using Grpc.Core;

namespace Contiv.Cri.Tests;

public sealed class CriPodLabelSourceTests
{
    private const string Endpoint = "unix:///run/test/containerd.sock";
    private static readonly PodReference Pod = new("default", "web", "sandbox-1");

    private static (CriPodLabelSource Source, FakeCallInvoker Runtime) Make(Func<string, object, object> handler)
    {
        var runtime = new FakeCallInvoker(handler);
        return (new CriPodLabelSource(new CriRuntimeClient(runtime, Endpoint), retries: 2, firstDelay: TimeSpan.FromMilliseconds(1)), runtime);
    }

    private static PodSandboxStatusResponse StatusWith(string id, params (string Key, string Value)[] labels)
    {
        var status = new PodSandboxStatus { Id = id, State = PodSandboxState.SandboxReady };
        foreach (var (key, value) in labels)
        {
            status.Labels[key] = value;
        }

        return new PodSandboxStatusResponse { Status = status };
    }

    [Fact]
    public async Task Labels_are_those_of_the_pods_sandbox_status()
    {
        var asked = "";
        var (source, runtime) = Make((method, request) =>
        {
            asked = ((PodSandboxStatusRequest)request).PodSandboxId;
            return StatusWith(asked, ("io.contiv.tenant", "blue"), ("app", "web"));
        });

        var labels = await source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken);

        Assert.Equal(new Dictionary<string, string> { ["io.contiv.tenant"] = "blue", ["app"] = "web" }, labels);
        Assert.Equal("sandbox-1", asked);
        Assert.Equal(["/runtime.v1.RuntimeService/PodSandboxStatus"], runtime.Calls);
        Assert.Equal("cri", source.Name);
    }

    [Fact]
    public async Task An_unknown_sandbox_is_no_labels_not_an_error()
    {
        var (source, runtime) = Make((_, _) => throw new RpcException(new Status(StatusCode.NotFound, "an error occurred when try to find sandbox: not found")));

        Assert.Null(await source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));
        Assert.Single(runtime.Calls);
    }

    [Fact]
    public async Task A_pod_without_sandbox_id_is_not_asked_for()
    {
        var (source, runtime) = Make((_, _) => throw new InvalidOperationException("not to be called"));

        Assert.Null(await source.FindLabelsAsync(new PodReference("default", "web", null), TestContext.Current.CancellationToken));
        Assert.Empty(runtime.Calls);
    }

    [Fact]
    public async Task An_unavailable_runtime_is_asked_again_a_bounded_number_of_times()
    {
        var attempts = 0;
        var (source, _) = Make((_, request) => ++attempts < 3
            ? throw new RpcException(new Status(StatusCode.Unavailable, "connection refused"))
            : StatusWith("sandbox-1", ("app", "web")));

        var labels = await source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken);

        Assert.Equal(3, attempts);
        Assert.Equal("web", labels!["app"]);
    }

    [Fact]
    public async Task A_runtime_that_stays_unavailable_is_an_error_naming_the_endpoint()
    {
        var (source, runtime) = Make((_, _) => throw new RpcException(new Status(StatusCode.Unavailable, "connection refused")));

        var e = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));

        Assert.Equal(3, runtime.Calls.Count);
        Assert.Contains(Endpoint, e.Message, StringComparison.Ordinal);
        Assert.Contains("unavailable", e.Message, StringComparison.Ordinal);
        Assert.Contains("default/web", e.Message, StringComparison.Ordinal);
        Assert.IsType<RpcException>(e.InnerException);
    }

    [Theory]
    [InlineData(StatusCode.PermissionDenied)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.DeadlineExceeded)]
    public async Task Other_failures_are_errors_at_once(StatusCode code)
    {
        var (source, runtime) = Make((_, _) => throw new RpcException(new Status(code, "boom")));

        var e = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));

        Assert.Single(runtime.Calls);
        Assert.Contains(code.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains(Endpoint, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_runtime_socket_is_unavailable_and_an_error_naming_it()
    {
        var socket = Path.Combine(Path.GetTempPath(), "contiv-cri-absent-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        using var client = CriRuntimeClient.ForUnixSocket(socket, TimeSpan.FromSeconds(5));
        var source = new CriPodLabelSource(client, retries: 1, firstDelay: TimeSpan.FromMilliseconds(1));

        var e = await Assert.ThrowsAsync<PodLabelSourceException>(() => source.FindLabelsAsync(Pod, TestContext.Current.CancellationToken));

        Assert.Contains("unix://" + socket, e.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unavailable, ((RpcException)e.InnerException!).StatusCode);
    }
}
