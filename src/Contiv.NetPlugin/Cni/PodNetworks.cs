using System.Net;
using Contiv.Cni;
using Contiv.ControlPlane;
using Contiv.Model;

namespace Contiv.NetPlugin.Cni;

/// <summary>
/// CNI ADD, DEL and CHECK for pods on this host, on the same control plane and datapath as Docker's
/// endpoints: the pod's labels pick the Contiv network (and group), the shared IPAM gives the
/// address, the endpoint's veth goes into the pod, and the endpoint record makes the pod visible to
/// every host (forwarding entries, policy sets, <c>netctl net inspect</c>) like a container.
/// </summary>
public sealed class PodNetworks(
    ContivControl control,
    IHostDatapath datapath,
    IPodInterfaces pods,
    PodRegistry registry,
    IEnumerable<IPodLabelSource> labelSources,
    PluginOptions options,
    ILogger<PodNetworks> logger,
    HostPolicy? policy = null,
    ReconcileSignal? reconcile = null)
{
    /// <summary>Serialises the calls of one pod interface: a runtime retrying an ADD must not race its first try.</summary>
    private readonly KeyedGate _gate = new();

    public async Task<CniResult> AddAsync(PodRequest request, CancellationToken ct)
    {
        var netns = request.NetworkNamespace ?? throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_NETNS is not set");
        using var _ = await _gate.EnterAsync(request.EndpointId, ct);
        if (registry.Find(request.EndpointId) is { } existing)
        {
            // The same ADD again (a runtime retrying after a timeout): the same answer while the
            // interface is as it was left; otherwise start over.
            if (existing.NetworkNamespace == netns && PodCheck.Problems(existing, pods.InspectPod(netns, existing.InterfaceName)).Count == 0)
            {
                return ResultOf(existing);
            }

            await RemoveAsync(existing, ct);
        }

        var pod = request.Pod;
        var labels = await LabelsAsync(pod, request.PodAnnotations, ct);
        var wanted = PodNetworkSelection.Select(labels, request.PodAnnotations);
        var network = await control.FindNetworkAsync(wanted.Tenant, wanted.Network, ct)
            ?? throw new CniException(CniErrorCode.UnknownNetwork, $"pod {pod}: network {wanted.Network} does not exist in tenant {wanted.Tenant} (create it with netctl net create, or fix the pod's {PodNetworkSelection.NetworkLabel}/{PodNetworkSelection.TenantLabel} labels)");
        if (wanted.Group is { } groupName)
        {
            var group = await control.FindGroupAsync(wanted.Tenant, groupName, ct)
                ?? throw new CniException(CniErrorCode.UnknownNetwork, $"pod {pod}: endpoint group {groupName} does not exist in tenant {wanted.Tenant}");
            if (group.NetworkName != wanted.Network)
            {
                throw new CniException(CniErrorCode.UnknownNetwork, $"pod {pod}: endpoint group {wanted.Tenant}:{groupName} is on network {group.NetworkName}, not {wanted.Network}");
            }
        }

        var lease = await control.AllocateAddressAsync(network.NetworkId, requested: null, holder: options.HostName, wanted.Group, ct);
        var record = new PodRecord(
            request.EndpointId, request.ContainerId, request.InterfaceName, netns, network.NetworkId, network.Config.Encap!, network.Tag, wanted.Group,
            lease.Address, lease.PrefixLength, network.Config.Gateway, lease.MacAddress, NetworkRules.EndpointMtu(network.Config.Encap!, options.UnderlayMtu),
            pod.Namespace, pod.Name);
        try
        {
            Plumb(record);
            registry.Save(record);
            await control.PutEndpointAsync(EndpointOf(record), ct);
            if (policy is not null)
            {
                // Fail closed, as for containers: the pod starts only where its rules are in place.
                await policy.SyncNetworkAsync(new DockerNetworkBinding(record.NetworkId, record.Encap, record.Tag, record.Group), ct);
            }
        }
        catch (Exception e)
        {
            logger.LogWarning("pod {Pod}: ADD failed, undoing it: {Error}", pod, e.Message);
            try
            {
                await RemoveAsync(record, CancellationToken.None);
            }
            catch (Exception undo)
            {
                // The ADD's own failure is what the runtime must see; a DEL will finish the undo.
                logger.LogWarning("pod {Pod}: undoing the failed ADD failed too: {Error}", pod, undo.Message);
            }

            throw;
        }

        reconcile?.Request();
        logger.LogInformation("pod {Pod} ({Interface}) on {NetworkId}: {Ip}/{Prefix} {Mac} mtu {Mtu}", pod, record.InterfaceName, record.NetworkId, record.IpAddress, record.PrefixLength, record.MacAddress, record.Mtu);
        return ResultOf(record);
    }

    /// <summary>
    /// Idempotent: an interface never added, or already deleted, is success; so is a pod whose
    /// namespace is gone. Works from this host's own record, so a restarted netplugin forgets nothing.
    /// </summary>
    public async Task DelAsync(PodRequest request, CancellationToken ct)
    {
        using var _ = await _gate.EnterAsync(request.EndpointId, ct);
        if (registry.Find(request.EndpointId) is { } record)
        {
            await RemoveAsync(record, ct);
            logger.LogInformation("pod {Pod} ({Interface}) left {NetworkId}, {Ip} released", request.Pod, record.InterfaceName, record.NetworkId, record.IpAddress);
            return;
        }

        // No local record (lost with the state dir): an endpoint record of this host may remain.
        var endpoint = (await control.ListEndpointsAsync(null, ct)).FirstOrDefault(e => e.EndpointId == request.EndpointId && e.HomingHost == options.HostName);
        if (endpoint is not null)
        {
            var (tenant, name) = Names.ParseNetworkId(endpoint.Network);
            var network = await control.FindNetworkAsync(tenant, name, ct);
            datapath.DeleteEndpoint(network is null ? null : new NetworkDatapathSpec(network.NetworkId, network.Config.Encap!, network.Tag), endpoint.EndpointId);
            await control.DeleteEndpointAsync(endpoint.Network, endpoint.EndpointId, ct);
            await ReleaseAsync(endpoint.Network, endpoint.IpAddress[0], ct);
            logger.LogInformation("pod {Pod}: removed endpoint {EndpointId} found only in the store", request.Pod, ShortId.Of(endpoint.EndpointId));
        }
    }

    /// <summary>The interface, address and route as ADD left them, and the endpoint still on record.</summary>
    public async Task CheckAsync(PodRequest request, CancellationToken ct)
    {
        var record = registry.Find(request.EndpointId)
            ?? throw new CniException(CniErrorCode.UnknownContainer, $"pod {request.Pod}: no interface {request.InterfaceName} of container {ShortId.Of(request.ContainerId)} was added on this host");
        var problems = PodCheck.Problems(record, pods.InspectPod(request.NetworkNamespace ?? record.NetworkNamespace, record.InterfaceName)).ToList();
        if (await control.GetEndpointAsync(record.NetworkId, record.EndpointId, ct) is null)
        {
            problems.Add($"endpoint {ShortId.Of(record.EndpointId)} is not on record in network {record.NetworkId}");
        }

        if (problems.Count > 0)
        {
            throw new CniException(CniErrorCode.CheckFailed, $"pod {request.Pod}: {string.Join("; ", problems)}");
        }
    }

    private void Plumb(PodRecord record)
    {
        datapath.EnsureNetwork(record.Spec);
        var containerSide = datapath.CreateEndpoint(record.Spec, record.EndpointId, record.MacAddress, record.Mtu);
        pods.AttachToPod(containerSide, new PodInterfaceConfig(
            record.NetworkNamespace, record.InterfaceName, IPAddress.Parse(record.IpAddress), record.PrefixLength,
            record.Gateway is null ? null : IPAddress.Parse(record.Gateway), record.MacAddress, record.Mtu));
    }

    /// <summary>Undoes every step of an ADD, each one tolerating that it never happened.</summary>
    private async Task RemoveAsync(PodRecord record, CancellationToken ct)
    {
        datapath.DeleteEndpoint(record.Spec, record.EndpointId);
        await control.DeleteEndpointAsync(record.NetworkId, record.EndpointId, ct);
        await ReleaseAsync(record.NetworkId, record.IpAddress, ct);
        registry.Delete(record.EndpointId);
        reconcile?.Request();
    }

    /// <summary>Releases the address unless another endpoint holds it now (it was reclaimed and handed out again).</summary>
    private async Task ReleaseAsync(string networkId, string address, CancellationToken ct)
    {
        if (!(await control.ListEndpointsAsync(networkId, ct)).Any(e => e.IpAddress[0] == address))
        {
            await control.ReleaseAddressAsync(networkId, address, ct);
        }
    }

    /// <summary>
    /// Labels from the first source that knows the pod. A source that cannot be asked is an error
    /// (the pod would silently land on default-net) unless the pod's annotations name its network.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string>?> LabelsAsync(PodReference pod, IReadOnlyDictionary<string, string> annotations, CancellationToken ct)
    {
        var failures = new List<string>();
        foreach (var source in labelSources)
        {
            try
            {
                if (await source.FindLabelsAsync(pod, ct) is { } labels)
                {
                    return labels;
                }
            }
            catch (PodLabelSourceException e)
            {
                failures.Add($"{source.Name}: {e.Message}");
            }
        }

        if (failures.Count > 0 && !annotations.ContainsKey(PodNetworkSelection.NetworkLabel))
        {
            throw new CniException(CniErrorCode.TryAgainLater, $"pod {pod}: its labels could not be read ({string.Join("; ", failures)})");
        }

        return null;
    }

    private EndpointOper EndpointOf(PodRecord record)
    {
        var tenant = Names.ParseNetworkId(record.NetworkId).Tenant;
        return new EndpointOper
        {
            EndpointId = record.EndpointId,
            ContainerId = record.ContainerId,
            ContainerName = record.PodName ?? ShortId.Of(record.ContainerId),
            HomingHost = options.HostName,
            Network = record.NetworkId,
            IpAddress = [record.IpAddress, string.Empty],
            MacAddress = record.MacAddress,
            VtepIp = options.VtepIp,
            InterfaceName = record.InterfaceName,
            ServiceName = record.Group,
            EndpointGroupKey = record.Group is null ? null : ContivControl.EndpointGroupKey(tenant, record.Group),
        };
    }

    private static CniResult ResultOf(PodRecord record)
    {
        var gateway = record.Gateway is null ? null : IPAddress.Parse(record.Gateway);
        return new CniResult(
            [new CniInterface(record.InterfaceName, record.MacAddress, record.NetworkNamespace)],
            [new CniIpConfig(IPAddress.Parse(record.IpAddress), record.PrefixLength, gateway, 0)],
            gateway is null ? [] : [new CniRoute(IPAddress.Any, 0, gateway)]);
    }
}

/// <summary>CHECK's comparison of a pod's interface with what ADD set (pure, so it is tested without a kernel).</summary>
public static class PodCheck
{
    public static IReadOnlyList<string> Problems(PodRecord expected, PodInterfaceState? actual)
    {
        if (actual is null)
        {
            return [$"interface {expected.InterfaceName} is gone from {expected.NetworkNamespace}"];
        }

        var problems = new List<string>();
        if (!string.Equals(actual.MacAddress, expected.MacAddress, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{expected.InterfaceName} has MAC {actual.MacAddress}, not {expected.MacAddress}");
        }

        if (actual.Mtu != expected.Mtu)
        {
            problems.Add($"{expected.InterfaceName} has MTU {actual.Mtu}, not {expected.Mtu}");
        }

        if (!actual.IsUp)
        {
            problems.Add($"{expected.InterfaceName} is down");
        }

        if (!actual.Addresses.Any(a => a.Address.ToString() == expected.IpAddress && a.PrefixLength == expected.PrefixLength))
        {
            problems.Add($"{expected.InterfaceName} lacks {expected.IpAddress}/{expected.PrefixLength}");
        }

        if (expected.Gateway is not null && !actual.DefaultGateways.Any(g => g.ToString() == expected.Gateway))
        {
            problems.Add($"no default route via {expected.Gateway} on {expected.InterfaceName}");
        }

        return problems;
    }
}

/// <summary>One async lock per key, dropped when nobody holds or waits for it.</summary>
internal sealed class KeyedGate
{
    private readonly Dictionary<string, (SemaphoreSlim Gate, int Users)> _gates = new(StringComparer.Ordinal);

    public async Task<IDisposable> EnterAsync(string key, CancellationToken ct)
    {
        SemaphoreSlim gate;
        lock (_gates)
        {
            var (existing, users) = _gates.TryGetValue(key, out var entry) ? entry : (new SemaphoreSlim(1, 1), 0);
            gate = existing;
            _gates[key] = (gate, users + 1);
        }

        try
        {
            await gate.WaitAsync(ct);
        }
        catch
        {
            Leave(key);
            throw;
        }

        return new Releaser(() =>
        {
            gate.Release();
            Leave(key);
        });
    }

    private void Leave(string key)
    {
        lock (_gates)
        {
            var (gate, users) = _gates[key];
            if (users == 1)
            {
                _gates.Remove(key);
                gate.Dispose();
            }
            else
            {
                _gates[key] = (gate, users - 1);
            }
        }
    }

    private sealed class Releaser(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
