using Contiv.Cri.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Contiv.Cri;

/// <summary>What a pod sandbox is made from: the fields kubelet fills in a <see cref="PodSandboxConfig"/>.</summary>
public sealed record CriPodSpec(string Name, string Namespace, string Uid)
{
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    /// <summary>The pod's hostname; the pod name when null, as kubelet does.</summary>
    public string? Hostname { get; init; }

    /// <summary>Where the runtime writes the containers' logs (kubelet: /var/log/pods/NS_NAME_UID).</summary>
    public string? LogDirectory { get; init; }

    /// <summary>The cgroup the sandbox and its containers are placed under (cgroupfs path).</summary>
    public string? CgroupParent { get; init; }

    public uint Attempt { get; init; }

    public PodSandboxConfig ToConfig()
    {
        var config = new PodSandboxConfig
        {
            Metadata = new PodSandboxMetadata { Name = Name, Namespace = Namespace, Uid = Uid, Attempt = Attempt },
            Hostname = Hostname ?? Name,
            LogDirectory = LogDirectory ?? string.Empty,
            Linux = new LinuxPodSandboxConfig { CgroupParent = CgroupParent ?? string.Empty },
        };
        foreach (var (key, value) in Labels)
        {
            config.Labels[key] = value;
        }

        foreach (var (key, value) in Annotations)
        {
            config.Annotations[key] = value;
        }

        return config;
    }
}

/// <summary>What <see cref="CriRuntimeClient.ExecSyncAsync"/> ran: the exit code and both outputs.</summary>
public sealed record CriExecResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// A Kubernetes CRI v1 client (runtime.v1): the calls kubelet makes to run pods and their
/// containers, and the image look-ups around them. Each call has a deadline (<see cref="CallTimeout"/>,
/// plus the command's own timeout for exec); failures surface as <see cref="RpcException"/> with the
/// runtime's status code (NotFound for an unknown sandbox or container).
/// </summary>
public sealed class CriRuntimeClient : IDisposable
{
    /// <summary>Default per-call deadline: RunPodSandbox includes the CNI ADD, so it is not short.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(60);

    private readonly GrpcChannel? _channel;

    /// <summary>A client on an existing call invoker (an in-process fake, an intercepted channel).</summary>
    public CriRuntimeClient(CallInvoker invoker, string endpoint, TimeSpan? callTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        Endpoint = endpoint;
        CallTimeout = callTimeout ?? DefaultCallTimeout;
        Runtime = new RuntimeService.RuntimeServiceClient(invoker);
        Images = new ImageService.ImageServiceClient(invoker);
    }

    private CriRuntimeClient(GrpcChannel channel, string endpoint, TimeSpan? callTimeout)
        : this(channel.CreateCallInvoker(), endpoint, callTimeout) => _channel = channel;

    /// <summary>A client of the runtime listening on the Unix socket <paramref name="socketPath"/> (containerd: /run/containerd/containerd.sock).</summary>
    public static CriRuntimeClient ForUnixSocket(string socketPath, TimeSpan? callTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var channel = UnixSocketChannel.Create(socketPath);
        return new CriRuntimeClient(channel, "unix://" + socketPath, callTimeout);
    }

    /// <summary>Where the runtime is (unix:///path), for messages.</summary>
    public string Endpoint { get; }

    public TimeSpan CallTimeout { get; }

    /// <summary>The generated runtime service client, for calls this class does not wrap.</summary>
    public RuntimeService.RuntimeServiceClient Runtime { get; }

    /// <summary>The generated image service client.</summary>
    public ImageService.ImageServiceClient Images { get; }

    private CallOptions Options(CancellationToken ct, TimeSpan? extra = null) =>
        new(deadline: DateTime.UtcNow + CallTimeout + (extra ?? TimeSpan.Zero), cancellationToken: ct);

    public async Task<VersionResponse> VersionAsync(CancellationToken ct) =>
        await Runtime.VersionAsync(new VersionRequest { Version = "v1" }, Options(ct)).ConfigureAwait(false);

    /// <summary>Creates and starts the pod's sandbox (the runtime runs the CNI ADD inside); returns the sandbox id.</summary>
    public async Task<string> RunPodSandboxAsync(PodSandboxConfig config, CancellationToken ct, string runtimeHandler = "")
    {
        var response = await Runtime.RunPodSandboxAsync(
            new RunPodSandboxRequest { Config = config, RuntimeHandler = runtimeHandler }, Options(ct)).ConfigureAwait(false);
        return response.PodSandboxId;
    }

    public Task<string> RunPodSandboxAsync(CriPodSpec pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return RunPodSandboxAsync(pod.ToConfig(), ct);
    }

    /// <summary>The sandbox's status (labels, annotations, IP); throws RpcException NotFound for an unknown id.</summary>
    public async Task<PodSandboxStatus> PodSandboxStatusAsync(string sandboxId, CancellationToken ct)
    {
        var response = await Runtime.PodSandboxStatusAsync(
            new PodSandboxStatusRequest { PodSandboxId = sandboxId }, Options(ct)).ConfigureAwait(false);
        return response.Status;
    }

    /// <summary>Stops the sandbox's containers and tears its network down (CNI DEL).</summary>
    public async Task StopPodSandboxAsync(string sandboxId, CancellationToken ct) =>
        await Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = sandboxId }, Options(ct)).ConfigureAwait(false);

    public async Task RemovePodSandboxAsync(string sandboxId, CancellationToken ct) =>
        await Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = sandboxId }, Options(ct)).ConfigureAwait(false);

    /// <summary>The runtime's sandboxes, optionally only those carrying every label in <paramref name="labelSelector"/>.</summary>
    public async Task<IReadOnlyList<PodSandbox>> ListPodSandboxAsync(CancellationToken ct, IReadOnlyDictionary<string, string>? labelSelector = null)
    {
        var request = new ListPodSandboxRequest();
        if (labelSelector is { Count: > 0 })
        {
            request.Filter = new PodSandboxFilter();
            foreach (var (key, value) in labelSelector)
            {
                request.Filter.LabelSelector[key] = value;
            }
        }

        var response = await Runtime.ListPodSandboxAsync(request, Options(ct)).ConfigureAwait(false);
        return response.Items;
    }

    /// <summary>Creates a container in the sandbox; <paramref name="sandboxConfig"/> is the config the sandbox was run with (kubelet passes it again).</summary>
    public async Task<string> CreateContainerAsync(string sandboxId, ContainerConfig config, PodSandboxConfig sandboxConfig, CancellationToken ct)
    {
        var response = await Runtime.CreateContainerAsync(
            new CreateContainerRequest { PodSandboxId = sandboxId, Config = config, SandboxConfig = sandboxConfig }, Options(ct)).ConfigureAwait(false);
        return response.ContainerId;
    }

    /// <summary>A container config for <paramref name="image"/> running <paramref name="command"/> (argv).</summary>
    public static ContainerConfig ContainerConfig(string name, string image, params string[] command)
    {
        var config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = name },
            Image = new ImageSpec { Image = image },
        };
        config.Command.Add(command);
        return config;
    }

    public async Task StartContainerAsync(string containerId, CancellationToken ct) =>
        await Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = containerId }, Options(ct)).ConfigureAwait(false);

    /// <summary>Stops the container: SIGTERM, then SIGKILL after <paramref name="gracePeriod"/> (whole seconds; 0 kills at once).</summary>
    public async Task StopContainerAsync(string containerId, TimeSpan gracePeriod, CancellationToken ct) =>
        await Runtime.StopContainerAsync(
            new StopContainerRequest { ContainerId = containerId, Timeout = (long)gracePeriod.TotalSeconds }, Options(ct, gracePeriod)).ConfigureAwait(false);

    public async Task RemoveContainerAsync(string containerId, CancellationToken ct) =>
        await Runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = containerId }, Options(ct)).ConfigureAwait(false);

    /// <summary>Runs <paramref name="argv"/> in the container and waits for it (at most <paramref name="timeout"/>, whole seconds).</summary>
    public async Task<CriExecResult> ExecSyncAsync(string containerId, IReadOnlyList<string> argv, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var request = new ExecSyncRequest { ContainerId = containerId, Timeout = Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds)) };
        request.Cmd.Add(argv);
        var response = await Runtime.ExecSyncAsync(request, Options(ct, timeout)).ConfigureAwait(false);
        return new CriExecResult(response.ExitCode, response.Stdout.ToStringUtf8(), response.Stderr.ToStringUtf8());
    }

    /// <summary>The image as the runtime has it, or null when it does not (CRI answers an empty image, not NotFound).</summary>
    public async Task<Image?> ImageStatusAsync(string image, CancellationToken ct)
    {
        var response = await Images.ImageStatusAsync(
            new ImageStatusRequest { Image = new ImageSpec { Image = image } }, Options(ct)).ConfigureAwait(false);
        return response.Image is { Id.Length: > 0 } found ? found : null;
    }

    public async Task<IReadOnlyList<Image>> ListImagesAsync(CancellationToken ct)
    {
        var response = await Images.ListImagesAsync(new ListImagesRequest(), Options(ct)).ConfigureAwait(false);
        return response.Images;
    }

    public void Dispose() => _channel?.Dispose();
}
