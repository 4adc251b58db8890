using System.Text.Json;
using Contiv.CniPlugin;
using Xunit;

namespace Contiv.Cni.Tests;

/// <summary>contivk8s as the runtime sees it: exit code and stdout for every kind of call, with netplugin faked.</summary>
public sealed class ContivK8sTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class FakeNetPlugin(int status, string body) : INetPluginCni
    {
        public List<(string Socket, string Path, string Json)> Calls { get; } = [];

        public Task<(int Status, string Body)> PostAsync(string socket, string path, string json, CancellationToken ct)
        {
            Calls.Add((socket, path, json));
            return Task.FromResult((status, body));
        }
    }

    private sealed class Unreachable : INetPluginCni
    {
        public Task<(int Status, string Body)> PostAsync(string socket, string path, string json, CancellationToken ct) =>
            throw new CniException(CniErrorCode.PluginUnavailable, $"netplugin is not reachable on {socket}: Connection refused");
    }

    private static Func<string, string?> Env(string command, string? netns = "/var/run/netns/cni-1") => name => name switch
    {
        "CNI_COMMAND" => command,
        "CNI_CONTAINERID" => "sandbox1",
        "CNI_NETNS" => netns,
        "CNI_IFNAME" => "eth0",
        "CNI_ARGS" => "K8S_POD_NAMESPACE=default;K8S_POD_NAME=contiv-c1",
        _ => null,
    };

    private const string Config = """{"cniVersion":"0.3.1","name":"contiv-net","type":"contivk8s","runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"a":"b"}}}""";

    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Add_sends_the_call_to_netplugins_socket_and_prints_its_result()
    {
        var netplugin = new FakeNetPlugin(200, """{"cniVersion":"0.3.1","ips":[]}""");
        var (exit, output) = await ContivK8s.RunAsync(Env("ADD"), Config, netplugin, Ct);
        Assert.Equal(0, exit);
        Assert.Equal("""{"cniVersion":"0.3.1","ips":[]}""", output);
        var (socket, path, json) = Assert.Single(netplugin.Calls);
        Assert.Equal("/run/contiv/contiv-cni.sock", socket);
        Assert.Equal("/ContivCNI.AddPod", path);
        var request = PodRequest.Parse(json);
        Assert.Equal("contiv-c1", request.Pod.Name);
        Assert.Equal("sandbox1", request.Pod.SandboxId);
        Assert.Equal("b", request.PodAnnotations["a"]);
        Assert.Equal("0.3.1", request.CniVersion);
    }

    [Fact]
    public async Task Del_and_check_print_nothing_on_success_and_del_needs_no_namespace()
    {
        var netplugin = new FakeNetPlugin(200, string.Empty);
        Assert.Equal((0, string.Empty), await ContivK8s.RunAsync(Env("DEL", netns: null), Config, netplugin, Ct));
        Assert.Equal((0, string.Empty), await ContivK8s.RunAsync(Env("CHECK"), Config.Replace("0.3.1", "1.0.0", StringComparison.Ordinal), netplugin, Ct));
        Assert.Equal(["/ContivCNI.DelPod", "/ContivCNI.CheckPod"], netplugin.Calls.Select(c => c.Path));
    }

    [Fact]
    public async Task Version_needs_no_configuration_and_lists_what_is_supported()
    {
        var (exit, output) = await ContivK8s.RunAsync(Env("VERSION"), string.Empty, new Unreachable(), Ct);
        Assert.Equal(0, exit);
        Assert.Contains("0.4.0", Json(output).GetProperty("supportedVersions").EnumerateArray().Select(v => v.GetString()));
    }

    [Theory]
    [InlineData("ADD", "not json", 6)]
    [InlineData("ADD", """{"cniVersion":"9.9.9","name":"n","type":"contivk8s"}""", 1)]
    [InlineData("CHECK", Config, 1)]
    [InlineData("ADD", """{"cniVersion":"1.0.0","type":"contivk8s"}""", 7)]
    public async Task Bad_input_is_a_cni_error_on_stdout_with_exit_code_1(string command, string stdin, int code)
    {
        var netplugin = new FakeNetPlugin(200, "{}");
        var (exit, output) = await ContivK8s.RunAsync(Env(command), stdin, netplugin, Ct);
        Assert.Equal(1, exit);
        Assert.Equal(code, Json(output).GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(Json(output).GetProperty("msg").GetString()));
        Assert.Empty(netplugin.Calls);
    }

    [Fact]
    public async Task A_missing_variable_is_code_4()
    {
        var (exit, output) = await ContivK8s.RunAsync(n => n == "CNI_COMMAND" ? "ADD" : null, Config, new Unreachable(), Ct);
        Assert.Equal(1, exit);
        Assert.Equal(4, Json(output).GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Netplugin_down_is_reported_in_the_callers_version_and_its_errors_pass_through()
    {
        var (exit, output) = await ContivK8s.RunAsync(Env("ADD"), Config, new Unreachable(), Ct);
        Assert.Equal(1, exit);
        Assert.Equal("0.3.1", Json(output).GetProperty("cniVersion").GetString());
        Assert.Equal(101, Json(output).GetProperty("code").GetInt32());
        Assert.Contains("/run/contiv/contiv-cni.sock", Json(output).GetProperty("msg").GetString(), StringComparison.Ordinal);

        var refusal = """{"cniVersion":"0.3.1","code":100,"msg":"pod default/contiv-c1: network x does not exist in tenant default"}""";
        Assert.Equal((1, refusal), await ContivK8s.RunAsync(Env("ADD"), Config, new FakeNetPlugin(409, refusal), Ct));
        var (_, garbled) = await ContivK8s.RunAsync(Env("ADD"), Config, new FakeNetPlugin(502, "<html>"), Ct);
        Assert.Equal(101, Json(garbled).GetProperty("code").GetInt32());
    }

    [Fact]
    public void The_endpoint_id_is_stable_per_container_and_interface()
    {
        var a = new PodRequest("1.0.0", "sandbox1", null, "eth0", new Dictionary<string, string>(), new Dictionary<string, string>());
        Assert.Equal(a.EndpointId, (a with { NetworkNamespace = "/x" }).EndpointId);
        Assert.NotEqual(a.EndpointId, (a with { InterfaceName = "net1" }).EndpointId);
        Assert.Equal(64, a.EndpointId.Length);
        Assert.Equal(a, PodRequest.Parse(a.ToJson()) with { Args = a.Args, PodAnnotations = a.PodAnnotations });
    }
}
