using System.CommandLine;
using Contiv.CommandLine;
using Contiv.NetPlugin;

// Every flag also reads an environment variable; the Go-style single-dash spellings of Contiv's
// netplugin (-vtep-ip, -vlan-if, ...) are accepted too (GoStyleFlags), and --help lists the -- names.
static Option<string?> Flag(string name, string env, string description) =>
    new(name) { Description = $"{description} (env {env})", DefaultValueFactory = _ => Environment.GetEnvironmentVariable(env) };

var socket = Flag("--socket", "CONTIV_NETPLUGIN_SOCKET", "Unix socket dockerd discovers the plugin by");
var host = Flag("--host", "CONTIV_NETPLUGIN_HOST", "this host's name (default: the machine name)");
var vtepIp = Flag("--vtep-ip", "CONTIV_NETPLUGIN_VTEP_IP", "this host's VXLAN tunnel endpoint address");
var vlanIf = Flag("--vlan-if", "CONTIV_NETPLUGIN_VLAN_UPLINKS",
    "optional: the uplink interface that carries VLAN networks' tagged frames (-e vlan), also the device VXLAN traffic leaves by; without it VLAN networks stay on this host and VXLAN follows the route to the other VTEPs");
var store = Flag("--cluster-store", "CONTIV_CLUSTER_STORE", "state store: redis://host:port, redis+unix:///path, embedded:///dir");
var dockerEndpoint = new Option<string?>("--docker-endpoint")
{
    Description = $"local Docker engine API, where this agent creates the Docker side of Contiv networks (default: $DOCKER_HOST if set, else {new PluginOptions().DockerEndpoint})",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DOCKER_HOST"),
};
var vxlanPort = Flag("--vxlan-port", "CONTIV_NETPLUGIN_VXLAN_PORT", "VXLAN UDP port (default 4789)");
var stateDir = Flag("--state-dir", "CONTIV_NETPLUGIN_STATE_DIR", "host-local runtime state (default /var/run/contiv)");
var dnsListen = Flag("--dns-listen", "CONTIV_NETPLUGIN_DNS_LISTEN", "container DNS responder address:port, or 'off' (default: VTEP address, port 53)");
var scope = Flag("--scope", "CONTIV_NETPLUGIN_SCOPE", "driver scope reported to Docker: local (default; v1 plugin, the agent creates Docker networks on this engine) or global (managed plugin in swarm mode)");
var reclaimAfter = Flag("--reclaim-after", "CONTIV_NETPLUGIN_RECLAIM_AFTER", "seconds before this host reclaims an address or endpoint record no container uses (default 120)");
var metricsListen = Flag("--metrics-listen", "CONTIV_NETPLUGIN_METRICS_LISTEN", "also serve /metrics and /health (only those) over TCP on ADDRESS:PORT, e.g. 127.0.0.1:9701 (default: off; the plugin socket always serves them)");
var metricsAllowRemote = new Option<bool>("--metrics-allow-remote")
{
    Description = "let --metrics-listen use a non-loopback address (plain HTTP, no authentication) (env CONTIV_NETPLUGIN_METRICS_ALLOW_REMOTE=1)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETPLUGIN_METRICS_ALLOW_REMOTE") == "1",
};
var logFormat = Flag("--log-format", "CONTIV_LOG_FORMAT", "console log format: text (default) or json");
var cniSocket = Flag("--cni-socket", "CONTIV_NETPLUGIN_CNI_SOCKET", $"root-only Unix socket for contivk8s, the Kubernetes CNI plugin, or 'off' (default {PluginOptions.DefaultCniSocketPath})");
var k8sConfig = Flag("--k8s-config", "CONTIV_NETPLUGIN_K8S_CONFIG", "kubeconfig to read pods' labels from the Kubernetes API server (default: in-cluster configuration when KUBERNETES_SERVICE_HOST is set)");
var criEndpoint = Flag("--cri-endpoint", "CONTIV_NETPLUGIN_CRI_ENDPOINT", "container runtime CRI socket to read pods' labels from their sandboxes, e.g. /run/containerd/containerd.sock (default: not asked)");
var mtu = Flag("--mtu", "CONTIV_NETPLUGIN_MTU", "underlay MTU (default 1500; VXLAN endpoints get 50 less)");

var root = new RootCommand("ContivDocker netplugin: Docker network and IPAM driver for one host")
{
    socket, host, vtepIp, vlanIf, store, dockerEndpoint, vxlanPort, mtu, stateDir, dnsListen, reclaimAfter, scope, metricsListen, metricsAllowRemote, logFormat,
    cniSocket, k8sConfig, criEndpoint,
};
logFormat.Validators.Add(result =>
{
    var value = result.GetValueOrDefault<string?>();
    if (value is not null && !Contiv.Telemetry.ContivTelemetry.LogFormats.Contains(value))
    {
        result.AddError($"--log-format must be {string.Join(" or ", Contiv.Telemetry.ContivTelemetry.LogFormats)} (got \"{value}\")");
    }
});
scope.Validators.Add(result =>
{
    var value = result.GetValueOrDefault<string?>();
    if (value is not null and not PluginOptions.LocalScope and not PluginOptions.GlobalScope)
    {
        result.AddError($"--scope must be {PluginOptions.LocalScope} or {PluginOptions.GlobalScope} (got \"{value}\")");
    }
});
root.SetAction(async (parse, ct) =>
{
    var defaults = new PluginOptions();
    System.Net.IPEndPoint? metricsEndpoint;
    try
    {
        metricsEndpoint = PluginOperations.ParseMetricsListen(parse.GetValue(metricsListen), parse.GetValue(metricsAllowRemote));
    }
    catch (ArgumentException e)
    {
        await Console.Error.WriteLineAsync($"netplugin: {e.Message}");
        return 2;
    }

    var options = new PluginOptions
    {
        SocketPath = parse.GetValue(socket) ?? defaults.SocketPath,
        HostName = parse.GetValue(host) ?? defaults.HostName,
        VtepIp = parse.GetValue(vtepIp),
        VlanInterface = parse.GetValue(vlanIf),
        ClusterStore = parse.GetValue(store) ?? defaults.ClusterStore,
        DockerEndpoint = parse.GetValue(dockerEndpoint) ?? defaults.DockerEndpoint,
        VxlanPort = int.TryParse(parse.GetValue(vxlanPort), out var port) ? port : defaults.VxlanPort,
        UnderlayMtu = int.TryParse(parse.GetValue(mtu), out var m) ? m : defaults.UnderlayMtu,
        StateDir = parse.GetValue(stateDir) ?? defaults.StateDir,
        ReclaimAfter = int.TryParse(parse.GetValue(reclaimAfter), out var reclaim) ? TimeSpan.FromSeconds(reclaim) : defaults.ReclaimAfter,
        DnsListen = ParseDnsListen(parse.GetValue(dnsListen), parse.GetValue(vtepIp)),
        Scope = parse.GetValue(scope) ?? defaults.Scope,
        MetricsListen = metricsEndpoint,
        LogFormat = parse.GetValue(logFormat) ?? defaults.LogFormat,
        CniSocketPath = parse.GetValue(cniSocket) switch
        {
            "off" => null,
            null or "" => PluginOptions.DefaultCniSocketPath,
            var path => path,
        },
        KubeConfig = parse.GetValue(k8sConfig),
        CriEndpoint = parse.GetValue(criEndpoint),
    };
    if (DockerDnsCheck.Verify(options, warning => Console.Error.WriteLine($"netplugin: warning: {warning}")) is { } dnsProblem)
    {
        await Console.Error.WriteLineAsync($"netplugin: {dnsProblem}");
        return 2;
    }

    WebApplication app;
    try
    {
        app = await NetPluginHost.BuildAsync(options, ct);
    }
    catch (Contiv.Kubernetes.KubernetesConfigException e)
    {
        await Console.Error.WriteLineAsync($"netplugin: {e.Message}");
        return 2;
    }

    await using var _ = app;
    await app.RunAsync();
    return 0;
});

return await root.Parse(GoStyleFlags.Normalize(root, args)).InvokeAsync();

static System.Net.IPEndPoint? ParseDnsListen(string? value, string? vtep)
{
    if (value == "off")
    {
        return null;
    }

    if (value is not null)
    {
        return System.Net.IPEndPoint.Parse(value.Contains(':', StringComparison.Ordinal) ? value : value + ":53");
    }

    return vtep is null ? null : new System.Net.IPEndPoint(System.Net.IPAddress.Parse(vtep), 53);
}
