using System.CommandLine;
using Contiv.NetMaster;

var listenUrl = new Option<string>("--listen-url")
{
    Description = "Address:port to serve the REST API on (loopback by default)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_LISTEN_URL") ?? "127.0.0.1:9999",
};
var clusterStore = new Option<string>("--cluster-store", "--store")
{
    Description = "State store: redis://host:port, redis+unix:///path.sock, or embedded:///dir",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_CLUSTER_STORE") ?? "embedded:///var/lib/contiv",
};
var fwdMode = new Option<string>("--fwd-mode", "--fwdmode")
{
    Description = "Forwarding mode for a new cluster: bridge or routing",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_NETMASTER_FORWARD_MODE") ?? "bridge",
};

var root = new RootCommand("ContivDocker netmaster: the control plane's REST API") { listenUrl, clusterStore, fwdMode };
root.SetAction(async (parse, ct) =>
{
    var options = new NetMasterOptions
    {
        ListenUrl = parse.GetValue(listenUrl)!,
        ClusterStore = parse.GetValue(clusterStore)!,
        FwdMode = parse.GetValue(fwdMode)!,
    };
    await using var app = await NetMasterHost.BuildAsync(options, ct);
    await app.RunAsync();
    return 0;
});

return await root.Parse(args).InvokeAsync();
