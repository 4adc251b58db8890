using Contiv.ControlPlane;
using Contiv.Datapath;
using Contiv.DockerEngine;
using Contiv.NetPlugin.Cni;
using Contiv.State;
using Contiv.Telemetry;

namespace Contiv.NetPlugin;

/// <summary>Builds netplugin: the plugin socket server plus the host agent.</summary>
public static class NetPluginHost
{
    public static async Task<WebApplication> BuildAsync(PluginOptions options, CancellationToken ct = default)
    {
        var builder = DaemonWebApplication.CreateBuilder();
        builder.Logging.AddContivConsole(options.LogFormat, builder.Configuration);

        PrepareSocket(options.SocketPath);
        if (options.CniSocketPath is not null)
        {
            PrepareSocket(options.CniSocketPath);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = PluginServer.MaxBodyBytes;
            k.ListenUnixSocket(options.SocketPath);
            if (options.CniSocketPath is not null)
            {
                k.ListenUnixSocket(options.CniSocketPath);
            }

            if (options.MetricsListen is { } metrics)
            {
                k.Listen(metrics);
            }
        });

        var store = KeyValueStoreFactory.Create(options.ClusterStore);
        var control = new ContivControl(store);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(control);
        builder.Services.AddSingleton<INetlink, RouteNetlink>();
        builder.Services.AddSingleton<LinuxBridgeDatapath>();
        builder.Services.AddSingleton<INetworkServiceAddress>(sp => sp.GetRequiredService<LinuxBridgeDatapath>());
        builder.Services.AddSingleton<IPolicyDatapath>(sp => sp.GetRequiredService<LinuxBridgeDatapath>());
        builder.Services.AddSingleton<HostPolicy>();
        builder.Services.AddSingleton<IPodInterfaces>(sp => sp.GetRequiredService<LinuxBridgeDatapath>());
        builder.Services.AddSingleton<PodRegistry>();
        foreach (var source in PodLabelSources(options).ToList())
        {
            builder.Services.AddSingleton(source);
        }

        builder.Services.AddSingleton<PodNetworks>();
        builder.Services.AddSingleton<ContainerNameResolver>();
        builder.Services.AddSingleton<NetworkDnsListeners>();
        builder.Services.AddSingleton<IHostDatapath>(sp => new InstrumentedDatapath(
            new DnsServingDatapath(sp.GetRequiredService<LinuxBridgeDatapath>(), sp.GetRequiredService<NetworkDnsListeners>()),
            sp.GetRequiredService<PluginMetrics>()));
        builder.Services.AddSingleton<IDockerEngine>(_ => new DockerEngineClient(options.DockerEndpoint));
        builder.Services.AddSingleton(control.DockerNetworks(options.HostName));
        builder.Services.AddSingleton<ReconcileSignal>();
        builder.Services.AddSingleton<PluginHandlers>();
        builder.Services.AddSingleton<HostAgent>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HostAgent>());
        builder.Services.AddHostedService<ContainerDnsService>();
        builder.Services.AddPluginTelemetry().AddCheck<ReconcileHealthCheck>("reconcile");

        var app = builder.Build();
        PluginOperations.Map(app);
        if (options.CniSocketPath is not null)
        {
            // Before PluginServer's catch-all: the CNI paths are real routes, not unknown plugin calls.
            CniServer.Map(app, app.Services.GetRequiredService<PodNetworks>());
        }

        PluginServer.Map(app, app.Services.GetRequiredService<PluginHandlers>());
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            // Only root (dockerd) may talk to the plugin: it programs the host's network.
            File.SetUnixFileMode(options.SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (options.CniSocketPath is not null)
            {
                // The CNI socket plumbs pods' namespaces: root (the runtime running contivk8s) only.
                File.SetUnixFileMode(options.CniSocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            app.Logger.LogInformation("netplugin serving {Socket} for host {Host} (vtep {Vtep}, store {Store}, docker {Docker}, metrics {Metrics})",
                options.SocketPath, options.HostName, options.VtepIp ?? "none", store.Description, options.DockerEndpoint,
                options.MetricsListen is { } tcp ? $"on the socket and http://{tcp}" : "on the socket");
        });
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            TryDelete(options.SocketPath);
            if (options.CniSocketPath is not null)
            {
                TryDelete(options.CniSocketPath);
            }
        });
        await Task.CompletedTask;
        return app;
    }

    /// <summary>
    /// Where pods' labels are read, in order (the first that knows the pod wins): the Kubernetes API
    /// server (<c>--k8s-config</c>, or the in-cluster service account); containerd's own
    /// record of the sandbox (the one that answers while containerd 1.6 runs the CNI ADD, before the
    /// sandbox is visible over CRI), then the CRI API (runtimes that show the sandbox during ADD).
    /// </summary>
    private static IEnumerable<Contiv.Cni.IPodLabelSource> PodLabelSources(PluginOptions options)
    {
        // The API server first: it is the pods' authority (and a bad kubeconfig stops netplugin
        // at start, with KubernetesConfigException naming the file, not at the first pod).
        if (Contiv.Kubernetes.KubernetesApiPodLabelSource.FromEnvironment(options.KubeConfig) is { } api)
        {
            yield return api;
        }

        if (options.CriEndpoint is { Length: > 0 } cri)
        {
            var socket = cri.StartsWith("unix://", StringComparison.Ordinal) ? cri["unix://".Length..] : cri;
            yield return new RuntimeSocketCheck(Contiv.Cri.ContainerdPodLabelSource.ForUnixSocket(socket), socket);
            yield return new RuntimeSocketCheck(new Contiv.Cri.CriPodLabelSource(Contiv.Cri.CriRuntimeClient.ForUnixSocket(socket)), socket);
        }
    }

    /// <summary>Creates the socket's directory and removes a stale socket left by a crashed process.</summary>
    private static void PrepareSocket(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        TryDelete(path);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
