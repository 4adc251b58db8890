using System.Net;
using System.Text.Json;
using Xunit;

namespace Contiv.Cni.Tests;

/// <summary>The CNI contract on the plugin's side: environment, configuration, pod network, results and errors.</summary>
public sealed class CniProtocolTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Key, v => v.Value);
        return k => map.GetValueOrDefault(k);
    }

    private static readonly (string, string)[] AddEnv =
    [
        ("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "abc123"), ("CNI_NETNS", "/var/run/netns/cni-1"), ("CNI_IFNAME", "eth0"),
        ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=contiv-c1;K8S_POD_INFRA_CONTAINER_ID=abc123"), ("CNI_PATH", "/opt/cni/bin"),
    ];

    [Fact]
    public void Add_reads_every_variable_and_the_kubernetes_args()
    {
        var call = CniInvocation.FromEnvironment(Env(AddEnv));
        Assert.Equal(CniCommand.Add, call.Command);
        Assert.Equal("abc123", call.ContainerId);
        Assert.Equal("/var/run/netns/cni-1", call.NetworkNamespace);
        Assert.Equal("contiv-c1", call.Args["K8S_POD_NAME"]);
        Assert.Equal("1", call.Args["IgnoreUnknown"]);
    }

    [Theory]
    [InlineData("CNI_COMMAND", "CNI_COMMAND is not set")]
    [InlineData("CNI_CONTAINERID", "CNI_CONTAINERID is not set")]
    [InlineData("CNI_IFNAME", "CNI_IFNAME is not set")]
    [InlineData("CNI_NETNS", "CNI_NETNS is not set")]
    public void A_missing_variable_is_an_invalid_environment(string missing, string message)
    {
        var e = Assert.Throws<CniException>(() => CniInvocation.FromEnvironment(Env([.. AddEnv.Where(v => v.Item1 != missing)])));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Del_works_without_a_namespace_and_version_needs_nothing_else()
    {
        var del = CniInvocation.FromEnvironment(Env([.. AddEnv.Where(v => v.Item1 is not ("CNI_NETNS" or "CNI_COMMAND")), ("CNI_COMMAND", "DEL")]));
        Assert.Null(del.NetworkNamespace);
        Assert.Equal(CniCommand.Version, CniInvocation.FromEnvironment(Env(("CNI_COMMAND", "VERSION"))).Command);
    }

    [Theory]
    [InlineData("CNI_COMMAND", "STATUSX")]
    [InlineData("CNI_IFNAME", "a-name-longer-than-15")]
    [InlineData("CNI_IFNAME", "eth/0")]
    [InlineData("CNI_ARGS", "K8S_POD_NAME")]
    public void Malformed_variables_are_refused(string key, string value)
    {
        var e = Assert.Throws<CniException>(() => CniInvocation.FromEnvironment(Env([.. AddEnv.Where(v => v.Item1 != key), (key, value)])));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
    }

    [Fact]
    public void Configuration_reads_version_name_type_socket_and_pod_annotations()
    {
        var config = NetworkConfig.Parse("""
            {"cniVersion": "0.4.0", "name": "contiv-net", "type": "contivk8s",
             "runtimeConfig": {"io.kubernetes.cri.pod-annotations": {"io.contiv.network": "contiv-net", "n": 3}}}
            """);
        Assert.Equal("0.4.0", config.CniVersion);
        Assert.Equal(NetworkConfig.DefaultSocket, config.Socket);
        Assert.Equal("contiv-net", config.PodAnnotations["io.contiv.network"]);
        Assert.False(config.PodAnnotations.ContainsKey("n"));
    }

    [Theory]
    [InlineData("not json", CniErrorCode.DecodingFailure)]
    [InlineData("[1]", CniErrorCode.DecodingFailure)]
    [InlineData("""{"name": "n", "type": "contivk8s"}""", CniErrorCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion": "0.2.0", "name": "n", "type": "contivk8s"}""", CniErrorCode.IncompatibleVersion)]
    [InlineData("""{"cniVersion": "1.0.0", "name": 5, "type": "contivk8s"}""", CniErrorCode.InvalidNetworkConfig)]
    public void Bad_configuration_gets_the_spec_code(string json, CniErrorCode code) =>
        Assert.Equal(code, Assert.Throws<CniException>(() => NetworkConfig.Parse(json)).Code);

    [Fact]
    public void Pods_without_labels_go_to_default_net_and_labels_win_over_annotations()
    {
        Assert.Equal(new PodNetwork("default", "default-net", null), PodNetworkSelection.Select(null, null));
        var labels = new Dictionary<string, string> { ["io.contiv.tenant"] = "blue", ["io.contiv.network"] = "contiv-net" };
        var annotations = new Dictionary<string, string> { ["io.contiv.network"] = "other", ["io.contiv.net-group"] = "web" };
        Assert.Equal(new PodNetwork("blue", "contiv-net", "web"), PodNetworkSelection.Select(labels, annotations));
    }

    [Fact]
    public void Results_carry_the_address_version_field_only_before_1_0_0()
    {
        var result = new CniResult(
            [new CniInterface("eth0", "02:02:0a:01:02:02", "/var/run/netns/cni-1")],
            [new CniIpConfig(IPAddress.Parse("10.1.2.2"), 24, IPAddress.Parse("10.1.2.1"), 0)],
            [new CniRoute(IPAddress.Any, 0, IPAddress.Parse("10.1.2.1"))]);
        var current = JsonDocument.Parse(result.ToJson("1.0.0")).RootElement;
        Assert.Equal("1.0.0", current.GetProperty("cniVersion").GetString());
        var ip = current.GetProperty("ips")[0];
        Assert.Equal("10.1.2.2/24", ip.GetProperty("address").GetString());
        Assert.Equal(0, ip.GetProperty("interface").GetInt32());
        Assert.False(ip.TryGetProperty("version", out _));
        Assert.Equal("0.0.0.0/0", current.GetProperty("routes")[0].GetProperty("dst").GetString());
        Assert.Equal("4", JsonDocument.Parse(result.ToJson("0.3.1")).RootElement.GetProperty("ips")[0].GetProperty("version").GetString());
    }

    [Fact]
    public void Errors_and_version_answers_have_the_spec_shape()
    {
        var error = JsonDocument.Parse(CniJson.Error("1.0.0", CniErrorCode.UnknownNetwork, "network blue:web does not exist")).RootElement;
        Assert.Equal(100, error.GetProperty("code").GetInt32());
        Assert.Equal("network blue:web does not exist", error.GetProperty("msg").GetString());
        var version = JsonDocument.Parse(CniJson.Version()).RootElement;
        Assert.Contains("0.3.1", version.GetProperty("supportedVersions").EnumerateArray().Select(v => v.GetString()));
        Assert.True(CniVersions.HasCheck("0.4.0"));
        Assert.False(CniVersions.HasCheck("0.3.1"));
    }
}
