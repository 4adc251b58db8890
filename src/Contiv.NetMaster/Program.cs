using System.CommandLine;
using Contiv.CommandLine;
using Contiv.NetMaster;

var listenUrl = new Option<string>("--listen-url")
{
    Description = "Address:port to serve the REST API on (loopback by default; anything else needs --tls-cert, --tls-key and --token-file)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_LISTEN_URL") ?? "127.0.0.1:9999",
};
var clusterStore = new Option<string>("--cluster-store", "--store")
{
    Description = "State store: etcd://host1:2379,host2:2379,host3:2379[?cacert=..&cert=..&key=..&user=..&password=..], redis://host:port, redis+unix:///path.sock, or embedded:///dir",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_CLUSTER_STORE") ?? "embedded:///var/lib/contiv",
};
var fwdMode = new Option<string>("--fwd-mode", "--fwdmode")
{
    Description = "Forwarding mode for a new cluster: bridge or routing",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_FORWARD_MODE") ?? "bridge",
};
var tlsCert = new Option<string?>("--tls-cert")
{
    Description = "PEM certificate (then any intermediates) to serve HTTPS with (env CONTIV_NETMASTER_TLS_CERT)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_TLS_CERT"),
};
var tlsKey = new Option<string?>("--tls-key")
{
    Description = "PEM private key of --tls-cert (env CONTIV_NETMASTER_TLS_KEY)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_TLS_KEY"),
};
var tokenFile = new Option<string?>("--token-file")
{
    Description = "Bearer tokens, one a line: TOKEN (admin) or TOKEN TENANT (that tenant only); every request but /health then needs one (env CONTIV_NETMASTER_TOKEN_FILE)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_TOKEN_FILE"),
};

var hostTimeout = new Option<int>("--host-timeout")
{
    Description = "seconds without a heartbeat after which a host is presumed dead (netctl host rm then reclaims its endpoints)",
    DefaultValueFactory = _ => int.TryParse(Environment.GetEnvironmentVariable("CONTIV_NETMASTER_HOST_TIMEOUT"), out var t) ? t : 60,
};
var logFormat = new Option<string>("--log-format")
{
    Description = "Console log format: text or json (env CONTIV_LOG_FORMAT)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_LOG_FORMAT") ?? Contiv.Telemetry.ContivTelemetry.TextFormat,
};
logFormat.AcceptOnlyFromAmong(Contiv.Telemetry.ContivTelemetry.LogFormats);
var root = new RootCommand("ContivDocker netmaster: the control plane's REST API") { listenUrl, clusterStore, fwdMode, tlsCert, tlsKey, tokenFile, hostTimeout, logFormat };
root.SetAction(async (parse, ct) =>
{
    var options = new NetMasterOptions
    {
        ListenUrl = parse.GetValue(listenUrl)!,
        ClusterStore = parse.GetValue(clusterStore)!,
        FwdMode = parse.GetValue(fwdMode)!,
        HostTimeout = TimeSpan.FromSeconds(parse.GetValue(hostTimeout)),
        TlsCertFile = parse.GetValue(tlsCert),
        TlsKeyFile = parse.GetValue(tlsKey),
        TokenFile = parse.GetValue(tokenFile),
        LogFormat = parse.GetValue(logFormat)!,
    };

    WebApplication app;
    try
    {
        app = await NetMasterHost.BuildAsync(options, ct);
    }
    catch (NetMasterConfigurationException e)
    {
        await Console.Error.WriteLineAsync($"netmaster: {e.Message}");
        return 2;
    }

    await using (app)
    {
        await app.RunAsync();
    }

    return 0;
});

// Contiv's netmaster took Go flags: -cluster-store, -listen-url work as well (GoStyleFlags).
return await root.Parse(GoStyleFlags.Normalize(root, args)).InvokeAsync();
