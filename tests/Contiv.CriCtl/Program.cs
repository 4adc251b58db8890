using Contiv.Cri;
using Contiv.Cri.V1;
using Grpc.Core;

// contiv-crictl --endpoint SOCKET COMMAND ...: what kubectl + kubelet would do on one node, over CRI.
//   run-pod NAME [--label KEY=VALUE]... [--cgroup-parent PATH]   sandbox + container `sleep 6000`; prints the container id
//   pods                                                       NAME, STATE, IP of this node's pods
//   exec CONTAINER_ID COMMAND...                               like kubectl exec (ExecSync)
//   rm-pod NAME                                                StopPodSandbox + RemovePodSandbox
const string Image = "docker.io/contiv/cri-busybox:latest";
if (args.Length < 3 || args[0] != "--endpoint")
{
    await Console.Error.WriteLineAsync("usage: contiv-crictl --endpoint SOCKET run-pod|pods|exec|rm-pod ...");
    return 2;
}

using var node = CriRuntimeClient.ForUnixSocket(args[1], TimeSpan.FromSeconds(90));
var rest = args[3..];
var ct = CancellationToken.None;
try
{
    switch (args[2])
    {
        case "run-pod":
            {
                var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                string? cgroupParent = null;
                for (var i = 1; i < rest.Length; i += 2)
                {
                    var value = rest.ElementAtOrDefault(i + 1) ?? throw new ArgumentException($"{rest[i]} needs a value");
                    switch (rest[i])
                    {
                        case "--label":
                            var parts = value.Split('=', 2);
                            labels[parts[0]] = parts.ElementAtOrDefault(1) ?? string.Empty;
                            break;
                        case "--cgroup-parent":
                            cgroupParent = value;
                            break;
                        default:
                            throw new ArgumentException($"unknown option {rest[i]}");
                    }
                }

                var pod = new CriPodSpec(rest[0], "default", $"{rest[0]}-{Guid.NewGuid():N}") { Labels = labels, Hostname = rest[0], CgroupParent = cgroupParent };
                var sandbox = await node.RunPodSandboxAsync(pod, ct);
                var container = await node.CreateContainerAsync(sandbox, CriRuntimeClient.ContainerConfig("alpine", Image, "sleep", "6000"), pod.ToConfig(), ct);
                await node.StartContainerAsync(container, ct);
                Console.WriteLine(container);
                return 0;
            }

        case "pods":
            Console.WriteLine($"{"NAME",-12} {"STATUS",-8} IP");
            foreach (var sandbox in await node.ListPodSandboxAsync(ct))
            {
                var status = await node.PodSandboxStatusAsync(sandbox.Id, ct);
                Console.WriteLine($"{sandbox.Metadata.Name,-12} {(sandbox.State == PodSandboxState.SandboxReady ? "Running" : "NotReady"),-8} {status.Network?.Ip}");
            }

            return 0;

        case "exec":
            {
                var result = await node.ExecSyncAsync(rest[0], rest[1..], TimeSpan.FromSeconds(30), ct);
                Console.Write(result.Stdout);
                Console.Error.Write(result.Stderr);
                return result.ExitCode;
            }

        case "rm-pod":
            foreach (var sandbox in (await node.ListPodSandboxAsync(ct)).Where(s => s.Metadata.Name == rest[0]))
            {
                await node.StopPodSandboxAsync(sandbox.Id, ct);
                await node.RemovePodSandboxAsync(sandbox.Id, ct);
                Console.WriteLine($"pod \"{rest[0]}\" deleted");
            }

            return 0;

        default:
            throw new ArgumentException($"unknown command {args[2]}");
    }
}
catch (RpcException e)
{
    await Console.Error.WriteLineAsync($"Error: {e.Status.Detail}");
    return 1;
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"Error: {e.Message}");
    return 2;
}
