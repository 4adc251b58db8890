using System.Net;
using Contiv.Cni;
using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.NetPlugin.Cni;
using Contiv.State;
using Contiv.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Contiv.NetPlugin.Tests.Cni;

/// <summary>A pod's interfaces as a recorder: what ADD moved where, and what CHECK would find.</summary>
internal sealed class FakePodInterfaces : IPodInterfaces
{
    public Dictionary<(string Netns, string IfName), PodInterfaceState> Interfaces { get; } = [];

    public void AttachToPod(string containerSide, PodInterfaceConfig config) =>
        Interfaces[(config.NetworkNamespace, config.InterfaceName)] = new PodInterfaceState(
            config.MacAddress, config.Mtu, IsUp: true, [(config.Address, config.PrefixLength)], config.Gateway is null ? [] : [config.Gateway]);

    public PodInterfaceState? InspectPod(string networkNamespace, string interfaceName) =>
        Interfaces.GetValueOrDefault((networkNamespace, interfaceName));
}

internal sealed class FixedLabels(string name, Func<PodReference, IReadOnlyDictionary<string, string>?> labels) : IPodLabelSource
{
    public string Name => name;

    public Task<IReadOnlyDictionary<string, string>?> FindLabelsAsync(PodReference pod, CancellationToken ct) => Task.FromResult(labels(pod));
}

/// <summary>
/// CNI ADD/DEL/CHECK on netplugin's side over a real embedded store, with a recording datapath:
/// network selection by labels, the shared IPAM, the endpoint record, idempotence and refusals that
/// leave nothing allocated.
/// </summary>
public sealed class PodNetworksTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TempDirectory _directory = TempDirectory.Create("cni-pods-");
    private readonly IKeyValueStore _store;
    private readonly ContivControl _control;
    private readonly FakeDatapath _datapath = new();
    private readonly FakePodInterfaces _pods = new();
    private readonly PluginOptions _options;
    private readonly Dictionary<string, Dictionary<string, string>> _labels = new(StringComparer.Ordinal);

    public PodNetworksTests()
    {
        _store = KeyValueStoreFactory.Create("embedded://" + _directory.Combine("state"));
        _control = new ContivControl(_store);
        _options = new PluginOptions { HostName = "node1", VtepIp = "192.168.2.50", StateDir = _directory.Combine("run") };
    }

    public void Dispose()
    {
        (_store as IDisposable)?.Dispose();
        _directory.Dispose();
    }

    private PodNetworks Pods(IPodLabelSource? source = null) => new(
        _control, _datapath, _pods, new PodRegistry(_options),
        [source ?? new FixedLabels("test", p => p.Name is { } n ? _labels.GetValueOrDefault(n) : null)],
        _options, NullLogger<PodNetworks>.Instance);

    private async Task SeedAsync()
    {
        await _control.InitializeAsync(ct: Ct);
        await _control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = "10.1.2.0/24", Gateway = "10.1.2.1", Encap = "vxlan" }, Ct);
    }

    private static PodRequest Request(string pod, string container, string netns = "/var/run/netns/cni-1", string ifName = "eth0", string version = "1.0.0", Dictionary<string, string>? annotations = null) =>
        new(version, container, netns, ifName, new Dictionary<string, string> { ["K8S_POD_NAMESPACE"] = "default", ["K8S_POD_NAME"] = pod, ["K8S_POD_INFRA_CONTAINER_ID"] = container },
            annotations ?? []);

    private void Label(string pod, string network = "contiv-net", string tenant = "default") =>
        _labels[pod] = new() { [PodNetworkSelection.TenantLabel] = tenant, [PodNetworkSelection.NetworkLabel] = network, ["k8s-app"] = pod };

    [Fact]
    public async Task The_seed_pods_get_the_first_addresses_after_the_gateway_with_contivs_mac_and_mtu()
    {
        await SeedAsync();
        Label("contiv-c1");
        Label("contiv-c2");
        var pods = Pods();

        var c1 = await pods.AddAsync(Request("contiv-c1", "sandbox1"), Ct);
        var c2 = await pods.AddAsync(Request("contiv-c2", "sandbox2", netns: "/var/run/netns/cni-2"), Ct);

        Assert.Equal(IPAddress.Parse("10.1.2.2"), c1.Ips[0].Address);
        Assert.Equal(24, c1.Ips[0].PrefixLength);
        Assert.Equal(IPAddress.Parse("10.1.2.1"), c1.Ips[0].Gateway);
        Assert.Equal("02:02:0a:01:02:02", c1.Interfaces[0].Mac);
        Assert.Equal("/var/run/netns/cni-1", c1.Interfaces[0].Sandbox);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), c2.Ips[0].Address);
        Assert.Equal(1450, _pods.Interfaces[("/var/run/netns/cni-2", "eth0")].Mtu);
        Assert.Equal("0.0.0.0", Assert.Single(c1.Routes).Destination.ToString());

        var endpoints = await _control.ListEndpointsAsync("contiv-net.default", Ct);
        var e1 = Assert.Single(endpoints, e => e.IpAddress[0] == "10.1.2.2");
        Assert.Equal("contiv-c1", e1.ContainerName);
        Assert.Equal("sandbox1", e1.ContainerId);
        Assert.Equal("node1", e1.HomingHost);
        Assert.Equal("192.168.2.50", e1.VtepIp);
    }

    [Fact]
    public async Task A_pod_without_labels_goes_to_default_net_and_an_unknown_network_is_refused_with_nothing_allocated()
    {
        await SeedAsync();
        var pods = Pods();

        // No default-net exists here: the refusal names it, CNI code 100.
        var e = await Assert.ThrowsAsync<CniException>(() => pods.AddAsync(Request("plain", "sandbox1"), Ct));
        Assert.Equal(CniErrorCode.UnknownNetwork, e.Code);
        Assert.Contains("network default-net does not exist in tenant default", e.Message, StringComparison.Ordinal);

        Label("typo", network: "contiv-nett");
        e = await Assert.ThrowsAsync<CniException>(() => pods.AddAsync(Request("typo", "sandbox2"), Ct));
        Assert.Contains("contiv-nett", e.Message, StringComparison.Ordinal);

        Assert.Empty(await _control.ListEndpointsAsync(null, Ct));
        Assert.Empty(_datapath.Calls);
        Assert.Empty(await _control.ListLeasesAsync(null, Ct));
    }

    [Fact]
    public async Task Annotations_name_the_network_when_no_source_knows_the_pod()
    {
        await SeedAsync();
        var pods = Pods();
        var result = await pods.AddAsync(Request("annotated", "sandbox1", annotations: new() { [PodNetworkSelection.NetworkLabel] = "contiv-net" }), Ct);
        Assert.Equal("10.1.2.2", result.Ips[0].Address.ToString());
    }

    [Fact]
    public async Task A_label_source_that_cannot_be_asked_fails_the_add_as_try_again_later()
    {
        await SeedAsync();
        var pods = Pods(new FixedLabels("kubernetes api", _ => throw new PodLabelSourceException("https://10.96.0.1:443 unreachable")));
        var e = await Assert.ThrowsAsync<CniException>(() => pods.AddAsync(Request("contiv-c1", "sandbox1"), Ct));
        Assert.Equal(CniErrorCode.TryAgainLater, e.Code);
        Assert.Contains("kubernetes api: https://10.96.0.1:443 unreachable", e.Message, StringComparison.Ordinal);
        Assert.Empty(await _control.ListEndpointsAsync(null, Ct));
    }

    [Fact]
    public async Task Add_twice_answers_the_same_and_del_twice_and_del_of_unknown_succeed()
    {
        await SeedAsync();
        Label("contiv-c1");
        var pods = Pods();
        var first = await pods.AddAsync(Request("contiv-c1", "sandbox1"), Ct);
        var again = await pods.AddAsync(Request("contiv-c1", "sandbox1"), Ct);
        Assert.Equal(first.ToJson("1.0.0"), again.ToJson("1.0.0"));
        Assert.Single(await _control.ListEndpointsAsync(null, Ct));

        await pods.DelAsync(Request("contiv-c1", "sandbox1"), Ct);
        await pods.DelAsync(Request("contiv-c1", "sandbox1"), Ct);
        await pods.DelAsync(Request("never", "sandbox9"), Ct);
        Assert.Empty(await _control.ListEndpointsAsync(null, Ct));

        // The address is free again: the next pod gets it.
        Label("contiv-c2");
        Assert.Equal("10.1.2.2", (await pods.AddAsync(Request("contiv-c2", "sandbox2"), Ct)).Ips[0].Address.ToString());
    }

    [Fact]
    public async Task Del_after_a_restart_works_from_the_local_record_and_without_it_from_the_store()
    {
        await SeedAsync();
        Label("contiv-c1");
        Label("contiv-c2");
        await Pods().AddAsync(Request("contiv-c1", "sandbox1"), Ct);
        await Pods().AddAsync(Request("contiv-c2", "sandbox2", netns: "/var/run/netns/cni-2"), Ct);

        // A new instance is a restarted netplugin: only the state dir and the store remain.
        await Pods().DelAsync(Request("contiv-c1", "sandbox1", netns: null!), Ct);

        // The state dir lost: the store's endpoint record of this host is enough.
        new PodRegistry(_options).Delete(Request("contiv-c2", "sandbox2").EndpointId);
        await Pods().DelAsync(Request("contiv-c2", "sandbox2"), Ct);

        Assert.Empty(await _control.ListEndpointsAsync(null, Ct));
        Assert.Equal(2, _datapath.Calls.Count(c => c.Operation == nameof(IHostDatapath.DeleteEndpoint)));
    }

    [Fact]
    public async Task Check_passes_as_added_and_names_what_was_tampered_with()
    {
        await SeedAsync();
        Label("contiv-c1");
        var pods = Pods();
        await pods.AddAsync(Request("contiv-c1", "sandbox1"), Ct);
        await pods.CheckAsync(Request("contiv-c1", "sandbox1"), Ct);

        var key = ("/var/run/netns/cni-1", "eth0");
        _pods.Interfaces[key] = _pods.Interfaces[key] with { Mtu = 1500, DefaultGateways = [] };
        var e = await Assert.ThrowsAsync<CniException>(() => pods.CheckAsync(Request("contiv-c1", "sandbox1"), Ct));
        Assert.Equal(CniErrorCode.CheckFailed, e.Code);
        Assert.Contains("MTU 1500, not 1450", e.Message, StringComparison.Ordinal);
        Assert.Contains("no default route via 10.1.2.1", e.Message, StringComparison.Ordinal);

        _pods.Interfaces.Remove(key);
        e = await Assert.ThrowsAsync<CniException>(() => pods.CheckAsync(Request("contiv-c1", "sandbox1"), Ct));
        Assert.Contains("interface eth0 is gone", e.Message, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<CniException>(() => pods.CheckAsync(Request("other", "sandbox7"), Ct));
        Assert.Equal(CniErrorCode.UnknownContainer, e.Code);
    }

    [Fact]
    public async Task A_failure_after_the_address_was_taken_undoes_everything()
    {
        await SeedAsync();
        Label("contiv-c1");
        _datapath.FailNextCreateEndpoint = new InvalidOperationException("kernel says no");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Pods().AddAsync(Request("contiv-c1", "sandbox1"), Ct));
        Assert.Equal("kernel says no", e.Message);
        Assert.Empty(await _control.ListEndpointsAsync(null, Ct));
        Assert.Empty(new PodRegistry(_options).List());
        Label("contiv-c2");
        Assert.Equal("10.1.2.2", (await Pods().AddAsync(Request("contiv-c2", "sandbox2"), Ct)).Ips[0].Address.ToString());
    }

    [Fact]
    public async Task A_pod_in_a_group_gets_the_groups_key_and_a_group_on_another_network_is_refused()
    {
        await SeedAsync();
        await _control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "other", Subnet = "10.9.0.0/24", Encap = "vxlan" }, Ct);
        await _control.CreateGroupAsync(new EndpointGroupConfig { TenantName = "default", GroupName = "web", NetworkName = "contiv-net" }, Ct);
        _labels["w"] = new() { [PodNetworkSelection.NetworkLabel] = "contiv-net", [PodNetworkSelection.GroupLabel] = "web" };
        _labels["x"] = new() { [PodNetworkSelection.NetworkLabel] = "other", [PodNetworkSelection.GroupLabel] = "web" };

        await Pods().AddAsync(Request("w", "sandbox1"), Ct);
        var endpoint = Assert.Single(await _control.ListEndpointsAsync("contiv-net.default", Ct));
        Assert.Equal("web", endpoint.ServiceName);
        Assert.Equal("web:default", endpoint.EndpointGroupKey);

        var e = await Assert.ThrowsAsync<CniException>(() => Pods().AddAsync(Request("x", "sandbox2"), Ct));
        Assert.Contains("is on network contiv-net, not other", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_hosts_policy_pass_covers_networks_that_only_have_pods_here()
    {
        await SeedAsync();
        Label("contiv-c1");
        await Pods().AddAsync(Request("contiv-c1", "sandbox1"), Ct);

        // No Docker network of contiv-net is bound on this node: only the pod makes it local.
        Assert.Empty(await _control.DockerNetworks("node1").ListAsync(Ct));
        using var policy = new HostPolicy(_control, _datapath, _control.DockerNetworks("node1"), _options, NullLogger<HostPolicy>.Instance, new PodRegistry(_options));
        await policy.SyncAsync(Ct);
        Assert.Contains(_datapath.PolicyCalls, c => c.Operation == nameof(IPolicyDatapath.ApplyPolicy) && c.Network.NetworkId == "contiv-net.default");
    }

    [Fact]
    public async Task A_bad_kubeconfig_stops_netplugin_at_start_naming_the_file()
    {
        var options = _options with
        {
            SocketPath = _directory.Combine("np.sock"),
            ClusterStore = "embedded://" + _directory.Combine("state2"),
            DockerEndpoint = "unix://" + _directory.Combine("no-docker.sock"),
            KubeConfig = _directory.Combine("missing.kubeconfig"),
        };
        var e = await Assert.ThrowsAsync<Contiv.Kubernetes.KubernetesConfigException>(() => NetPluginHost.BuildAsync(options, Ct));
        Assert.Contains("missing.kubeconfig", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CniErrorCode.DecodingFailure, 400)]
    [InlineData(CniErrorCode.UnknownNetwork, 409)]
    public void Cni_refusals_keep_their_code(CniErrorCode code, int status) =>
        Assert.Equal((status, code), CniServer.Classify(new CniException(code, "x")) is var (s, c, _) ? (s, c) : default);

    [Fact]
    public void Store_outages_are_try_again_later_and_contiv_refusals_are_refused() =>
        Assert.Multiple(
            () => Assert.Equal(CniErrorCode.TryAgainLater, CniServer.Classify(ContivException.Unavailable("store down")).Code),
            () => Assert.Equal(CniErrorCode.Refused, CniServer.Classify(ContivException.Conflict("exhausted")).Code),
            () => Assert.Equal(CniErrorCode.PluginUnavailable, CniServer.Classify(new IOException("boom")).Code));
}
