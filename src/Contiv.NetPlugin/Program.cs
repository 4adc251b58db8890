using System.CommandLine;
using Contiv.NetPlugin;

static Option<string?> Flag(string name, string legacy, string env, string description) =>
    new(name, legacy) { Description = $"{description} (env {env})", DefaultValueFactory = _ => Environment.GetEnvironmentVariable(env) };

var socket = Flag("--socket", "-socket", "CONTIV_NETPLUGIN_SOCKET", "Unix socket dockerd discovers the plugin by");
var host = Flag("--host", "-host", "CONTIV_NETPLUGIN_HOST", "this host's name (default: the machine name)");
var vtepIp = Flag("--vtep-ip", "-vtep-ip", "CONTIV_NETPLUGIN_VTEP_IP", "this host's VXLAN tunnel endpoint address");
var vlanIf = Flag("--vlan-if", "-vlan-if", "CONTIV_NETPLUGIN_VLAN_UPLINKS", "uplink interface for VLAN (and VXLAN) traffic");
var store = Flag("--cluster-store", "-cluster-store", "CONTIV_CLUSTER_STORE", "state store: redis://host:port, redis+unix:///path, embedded:///dir");
var dockerEndpoint = Flag("--docker-endpoint", "-docker-endpoint", "DOCKER_HOST", "local Docker engine API");
var vxlanPort = Flag("--vxlan-port", "-vxlan-port", "CONTIV_NETPLUGIN_VXLAN_PORT", "VXLAN UDP port (default 4789)");
var stateDir = Flag("--state-dir", "-state-dir", "CONTIV_NETPLUGIN_STATE_DIR", "host-local runtime state (default /var/run/contiv)");
var dnsListen = Flag("--dns-listen", "-dns-listen", "CONTIV_NETPLUGIN_DNS_LISTEN", "container DNS responder address:port, or 'off' (default: VTEP address, port 53)");
var scope = Flag("--scope", "-scope", "CONTIV_NETPLUGIN_SCOPE", "driver scope reported to Docker: local (default; v1 plugin, the agent creates Docker networks on this engine) or global (managed plugin in swarm mode)");
var reclaimAfter = Flag("--reclaim-after", "-reclaim-after", "CONTIV_NETPLUGIN_RECLAIM_AFTER", "seconds before this host reclaims an address or endpoint record no container uses (default 120)");
var metricsListen = Flag("--metrics-listen", "-metrics-listen", "CONTIV_NETPLUGIN_METRICS_LISTEN", "also serve /metrics and /health (only those) over TCP on ADDRESS:PORT, e.g. 127.0.0.1:9701 (default: off; the plugin socket always serves them)");
var metricsAllowRemote = new Option<bool>("--metrics-allow-remote")
{
    Description = "let --metrics-listen use a non-loopback address (plain HTTP, no authentication) (env CONTIV_NETPLUGIN_METRICS_ALLOW_REMOTE=1)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETPLUGIN_METRICS_ALLOW_REMOTE") == "1",
};
var logFormat = Flag("--log-format", "-log-format", "CONTIV_LOG_FORMAT", "console log format: text (default) or json");
var mtu = Flag("--mtu", "-mtu", "CONTIV_NETPLUGIN_MTU", "underlay MTU (default 1500; VXLAN endpoints get 50 less)");

var root = new RootCommand("ContivDocker netplugin: Docker network and IPAM driver for one host")
{
    socket, host, vtepIp, vlanIf, store, dockerEndpoint, vxlanPort, mtu, stateDir, dnsListen, reclaimAfter, scope, metricsListen, metricsAllowRemote, logFormat,
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
    };
    if (DockerDnsCheck.Verify(options, warning => Console.Error.WriteLine($"netplugin: warning: {warning}")) is { } dnsProblem)
    {
        await Console.Error.WriteLineAsync($"netplugin: {dnsProblem}");
        return 2;
    }

    await using var app = await NetPluginHost.BuildAsync(options, ct);
    await app.RunAsync();
    return 0;
});

return await root.Parse(args).InvokeAsync();

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
