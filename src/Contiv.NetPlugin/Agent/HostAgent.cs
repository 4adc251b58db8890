using System.Globalization;
using Contiv.ControlPlane;
using Contiv.DockerEngine;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>
/// The per-host reconciler. Whenever the shared state changes (and periodically, to heal anything
/// missed), it makes this host match it:
/// <list type="bullet">
/// <item>this host is registered with its VTEP, with a heartbeat;</item>
/// <item>every Contiv data network has a Docker network of the same name on the local engine (and
/// Docker networks of deleted Contiv networks are removed);</item>
/// <item>local endpoints carry their container names, which Docker only reveals after Join;</item>
/// <item>the FDB/ARP entries for remote endpoints and VTEPs equal the desired set;</item>
/// <item>every local network enforces its tenant's compiled policy, and local group endpoints
/// carry their group's bandwidth profile (<see cref="HostPolicy"/>).</item>
/// </list>
/// Every step is idempotent, so a restarted agent converges to the same state.
/// </summary>
public sealed class HostAgent(
    ContivControl control,
    IDockerEngine docker,
    IHostDatapath datapath,
    DockerNetworkMap networks,
    ReconcileSignal reconcile,
    PluginOptions options,
    ILogger<HostAgent> logger,
    PluginMetrics? metrics = null,
    TimeProvider? clock = null,
    HostPolicy? policy = null,
    Cni.PodRegistry? pods = null) : BackgroundService
{
    public static readonly TimeSpan ResyncInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly DateTimeOffset _startedAt = (clock ?? TimeProvider.System).GetUtcNow();

    /// <summary>Host record keys seen by the last pass (written by the loop, read by the store's notifier).</summary>
    private volatile IReadOnlySet<string> _knownHostKeys = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Completed reconcile passes (tests and /health read them).</summary>
    public long Passes { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>Asks for a reconcile pass soon (coalesced with any pending request).</summary>
    public void Wake() => reconcile.Request();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = control.Subscribe(change =>
        {
            if (WakesReconcile(change.IsResync ? null : change.Key, StateKeys.Host(options.HostName), _knownHostKeys))
            {
                Wake();
            }
        });

        while (!stoppingToken.IsCancellationRequested)
        {
            var soon = false;
            try
            {
                soon = await ReconcileAsync(stoppingToken);
                LastError = null;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Keep going: the store or dockerd may be restarting; the next pass retries.
                LastError = e.Message;
                metrics?.ReconcileFailed(e);
                logger.LogWarning("reconcile failed: {Error}", e.Message);
            }

            Passes++;
            try
            {
                await reconcile.WaitAsync(soon ? TimeSpan.FromMilliseconds(500) : ResyncInterval, stoppingToken);

                // Let a burst of changes settle into one pass.
                await Task.Delay(TimeSpan.FromMilliseconds(50), _clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Whether a change of <paramref name="key"/> (null: the store asks for a full resync) needs a
    /// pass. Every agent rewrites its own host record on every pass (the heartbeat), so waking on host
    /// records made each pass wake this agent and every other one, and the cluster looped at 20
    /// passes a second per host. A host record wakes a pass only when it is a host the last pass did
    /// not know (a new VTEP to flood to); changed or removed hosts are picked up by the periodic
    /// resync (<see cref="ResyncInterval"/>).
    /// </summary>
    public static bool WakesReconcile(string? key, string ownHostKey, IReadOnlySet<string> knownHostKeys)
    {
        ArgumentNullException.ThrowIfNull(knownHostKeys);
        if (key is null)
        {
            return true;
        }

        if (key.StartsWith(StateKeys.HostsPrefix, StringComparison.Ordinal))
        {
            return key != ownHostKey && !knownHostKeys.Contains(key);
        }

        return key.StartsWith(StateKeys.NetworksPrefix, StringComparison.Ordinal)
            || key == StateKeys.Global
            || key.StartsWith(StateKeys.EndpointsPrefix, StringComparison.Ordinal)
            || StateKeys.IsPolicyObject(key);
    }

    /// <summary>One pass; returns true when another pass is wanted soon (something is still settling).</summary>
    public async Task<bool> ReconcileAsync(CancellationToken ct)
    {
        await control.RegisterHostAsync(new HostRecord
        {
            Name = options.HostName,
            VtepIp = options.VtepIp,
            VlanInterface = options.VlanInterface,
            StartedAt = _startedAt,
            LastSeen = _clock.GetUtcNow(),
            CreatesDockerNetworks = !options.IsGlobalScope,
        }, ct);

        // First: a rule or a container elsewhere should take effect here as soon as possible. A
        // failure is retried soon and does not hold back the rest of the pass (what the kernel
        // enforces already stays: tables outlive a failed update).
        var policyFailed = false;
        if (policy is not null)
        {
            try
            {
                await policy.SyncAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                policyFailed = true;
                metrics?.ReconcileFailed(e);
                logger.LogWarning("policy sync failed: {Error}", e.Message);
            }
        }

        var contivNetworks = await control.ListNetworksAsync(null, ct);

        // In global scope (swarm mode) Docker networks are swarm-scoped, created once on a manager and
        // instantiated by every node on demand: creating local ones of the same name would clash.
        if (!options.IsGlobalScope)
        {
            await SyncDockerNetworksAsync(contivNetworks, ct);
        }

        var endpoints = await control.ListEndpointsAsync(null, ct);
        metrics?.SeedJoined(endpoints.Where(e => e.HomingHost == options.HostName && !string.IsNullOrEmpty(e.ContainerId)).Select(e => e.EndpointId));
        var unsettled = await FillContainerNamesAsync(endpoints, ct);
        await SyncRemoteEntriesAsync(contivNetworks, endpoints, ct);
        await SyncRoutersAsync(contivNetworks, ct);
        await ReclaimAsync(endpoints, ct);
        return unsettled || policyFailed;
    }

    private async Task SyncDockerNetworksAsync(IReadOnlyList<NetworkRecord> contivNetworks, CancellationToken ct)
    {
        var dockerNetworks = await docker.ListNetworksAsync(ct);
        var byName = dockerNetworks.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var wanted = await WantedDockerNetworksAsync(contivNetworks, ct);

        foreach (var (name, (network, group)) in wanted)
        {
            if (byName.TryGetValue(name, out var existing))
            {
                if (existing.Driver != options.DriverName)
                {
                    logger.LogError("docker network {Name} exists with driver {Driver}; not replacing it with Contiv {What} {Key}", name, existing.Driver, group is null ? "network" : "group", group is null ? network.Config.Key : $"{network.Config.TenantName}:{group}");
                }

                continue;
            }

            var driverOptions = new Dictionary<string, string>
            {
                ["encap"] = network.Config.Encap!,
                ["pkt-tag"] = network.Tag.ToString(CultureInfo.InvariantCulture),
                ["tenant"] = network.Config.TenantName,
            };
            var ipamOptions = new Dictionary<string, string> { ["network"] = network.Config.NetworkName, ["tenant"] = network.Config.TenantName };
            if (group is not null)
            {
                // Contiv's option names: the driver and the IPAM both learn the group from them.
                driverOptions["network"] = network.Config.NetworkName;
                driverOptions["group"] = group;
                ipamOptions["group"] = group;
            }

            var spec = new DockerNetworkSpec(name, options.DriverName, driverOptions, options.DriverName, ipamOptions, Ipv4Subnet.Parse(network.Config.Subnet).Cidr, network.Config.Gateway);
            try
            {
                var id = await docker.CreateNetworkAsync(spec, ct);
                logger.LogInformation("created docker network {Name} ({Id}) for {Key}", name, ShortId.Of(id), group is null ? network.Config.Key : $"group {network.Config.TenantName}:{group} of {network.Config.Key}");
            }
            catch (DockerEngineException e) when (e.Message.Contains("already exists", StringComparison.Ordinal))
            {
                // Created concurrently (e.g. by the user); the next pass sees it.
            }
        }

        // Docker networks bound to a Contiv network or group that is gone: remove them (Docker
        // refuses while containers are attached, and netmaster refuses to delete networks and groups
        // in use anyway). Unbound ones are left alone: a hand-made network is unbound until it has
        // been registered.
        var bindings = await networks.ListAsync(ct);
        var live = contivNetworks.Select(n => n.NetworkId).ToHashSet(StringComparer.Ordinal);
        var liveGroups = wanted.Values.Where(w => w.Group is not null).Select(w => (w.Network.NetworkId, w.Group)).ToHashSet();
        var staleNetworks = dockerNetworks.Where(n => n.Driver == options.DriverName && !wanted.ContainsKey(n.Name)
            && bindings.TryGetValue(n.Id, out var binding)
            && (!live.Contains(binding.NetworkId) || (binding.Group is not null && !liveGroups.Contains((binding.NetworkId, binding.Group)))));
        foreach (var stale in staleNetworks)
        {
            try
            {
                await docker.RemoveNetworkAsync(stale.Id, ct);
                logger.LogInformation("removed docker network {Name}: its Contiv network or group no longer exists", stale.Name);
            }
            catch (DockerEngineException e)
            {
                logger.LogWarning("could not remove docker network {Name}: {Error}", stale.Name, e.Message);
            }
        }
    }

    /// <summary>
    /// The Docker network every data network and every endpoint group should have on this engine, by
    /// Docker name (Contiv's GetDocknetName: the group's name if any, else the network's, with
    /// <c>/tenant</c> outside the default tenant). A group's Docker network shares its network's
    /// subnet, gateway and datapath.
    /// </summary>
    private async Task<Dictionary<string, (NetworkRecord Network, string? Group)>> WantedDockerNetworksAsync(IReadOnlyList<NetworkRecord> contivNetworks, CancellationToken ct)
    {
        var data = contivNetworks.Where(n => n.Config.NwType != "infra").ToList();
        var wanted = data.ToDictionary(n => Names.DockerNetworkName(n.Config.TenantName, n.Config.NetworkName), n => (n, (string?)null), StringComparer.Ordinal);
        var byKey = data.ToDictionary(n => n.Config.Key ?? Names.NetworkKey(n.Config.TenantName, n.Config.NetworkName), StringComparer.Ordinal);
        foreach (var group in await control.ListGroupsAsync(null, ct))
        {
            if (byKey.TryGetValue(Names.NetworkKey(group.TenantName, group.NetworkName), out var network))
            {
                wanted.TryAdd(Names.DockerNetworkName(group.TenantName, group.GroupName), (network, group.GroupName));
            }
        }

        return wanted;
    }

    /// <summary>Returns true while some local endpoint still waits for Docker to reveal its container.</summary>
    private async Task<bool> FillContainerNamesAsync(IReadOnlyList<EndpointOper> endpoints, CancellationToken ct)
    {
        var unnamed = endpoints.Where(e => e.HomingHost == options.HostName && string.IsNullOrEmpty(e.ContainerId)).ToList();
        if (unnamed.Count == 0)
        {
            return false;
        }

        var bindings = await networks.ListAsync(ct);
        foreach (var group in unnamed.GroupBy(e => e.Network))
        {
            foreach (var dockerId in bindings.Where(b => b.Value.NetworkId == group.Key).Select(b => b.Key))
            {
                var info = await docker.InspectNetworkAsync(dockerId, ct);
                foreach (var attachment in info?.Containers ?? [])
                {
                    // Until Join completes Docker lists the endpoint under "ep-<endpoint id>".
                    var endpoint = group.FirstOrDefault(e => e.EndpointId == attachment.EndpointId);
                    if (endpoint is null || attachment.ContainerId.StartsWith("ep-", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    endpoint.ContainerName = attachment.ContainerName;
                    endpoint.ContainerId = attachment.ContainerId;
                    await control.PutEndpointAsync(endpoint, ct);
                    unnamed.Remove(endpoint);
                }
            }
        }

        return unnamed.Count > 0;
    }

    /// <summary>
    /// In fwd-mode routing, every network with a gateway is routed by its tenant's router on each
    /// host; in bridge mode there are no routers (the gateway, if any, is an external router).
    /// </summary>
    private async Task SyncRoutersAsync(IReadOnlyList<NetworkRecord> contivNetworks, CancellationToken ct)
    {
        var routing = (await control.GetGlobalAsync(ct)).FwdMode == "routing";
        var local = (await networks.ListAsync(ct)).Values.Select(b => b.NetworkId).ToHashSet(StringComparer.Ordinal);
        var routed = routing
            ? contivNetworks.Where(n => n.Config.Gateway is not null && local.Contains(n.NetworkId))
                .Select(n => new RoutedNetwork(n.Config.TenantName, new NetworkDatapathSpec(n.NetworkId, n.Config.Encap!, n.Tag), n.Config.Gateway!, Ipv4Subnet.Parse(n.Config.Subnet).PrefixLength))
                .ToList()
            : [];
        datapath.SyncTenantRouters(routed);
    }

    /// <summary>
    /// Gives back what a crash or a missed call left behind on this host, so allocations equal live
    /// endpoints: addresses this host leased long ago that no endpoint uses (RequestAddress happened,
    /// CreateEndpoint never did), and endpoint records of this host that the local engine no longer
    /// has (DeleteEndpoint was missed while netplugin was down). Only this host's own leases and
    /// endpoints, only after <see cref="PluginOptions.ReclaimAfter"/>, and never when the local
    /// engine cannot be asked: nothing is reclaimed on uncertainty.
    /// </summary>
    private async Task ReclaimAsync(IReadOnlyList<EndpointOper> endpoints, CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        var leases = (await control.ListLeasesAsync(options.HostName, ct)).Where(l => now - l.At > options.ReclaimAfter).ToList();
        if (leases.Count == 0)
        {
            return;
        }

        // What Docker on this host really has attached, on every network bound here.
        var attached = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dockerId in (await networks.ListAsync(ct)).Keys)
        {
            var info = await docker.InspectNetworkAsync(dockerId, ct);
            foreach (var attachment in info?.Containers ?? [])
            {
                attached.Add(attachment.EndpointId);
            }
        }

        // Pods are not in the engine: this host's pod records say which pod endpoints are live.
        attached.UnionWith(pods?.EndpointIds() ?? new HashSet<string>());

        foreach (var lease in leases)
        {
            var endpoint = endpoints.FirstOrDefault(e => e.Network == lease.NetworkId && e.IpAddress[0] == lease.Address);
            if (endpoint is not null && (endpoint.HomingHost != options.HostName || attached.Contains(endpoint.EndpointId)))
            {
                continue;
            }

            if (endpoint is not null)
            {
                datapath.DeleteEndpoint((await networks.ListAsync(ct)).Values.FirstOrDefault(b => b.NetworkId == lease.NetworkId)?.Spec, endpoint.EndpointId);
                await control.DeleteEndpointAsync(endpoint.Network, endpoint.EndpointId, ct);
            }

            await control.ReleaseAddressAsync(lease.NetworkId, lease.Address, ct);
            logger.LogWarning("reclaimed {Address} in {NetworkId}: leased by this host at {At:o} but {Why}",
                lease.Address, lease.NetworkId, lease.At, endpoint is null ? "no endpoint ever used it" : $"endpoint {ShortId.Of(endpoint.EndpointId)} is gone from the local engine");
        }
    }

    private async Task SyncRemoteEntriesAsync(IReadOnlyList<NetworkRecord> contivNetworks, IReadOnlyList<EndpointOper> endpoints, CancellationToken ct)
    {
        var hosts = await control.ListHostsAsync(ct);
        _knownHostKeys = hosts.Select(h => StateKeys.Host(h.Name)).ToHashSet(StringComparer.Ordinal);
        var remoteVteps = hosts.Where(h => h.Name != options.HostName && !string.IsNullOrEmpty(h.VtepIp) && h.VtepIp != options.VtepIp)
            .Select(h => h.VtepIp!).Distinct().Order(StringComparer.Ordinal).ToList();
        // Networks with a Docker network here, and those with pods here (a node may run pods only).
        var local = (await networks.ListAsync(ct)).Values.Select(b => b.Spec)
            .Concat(pods?.List().Select(p => p.Spec) ?? [])
            .DistinctBy(s => s.NetworkId).ToList();
        foreach (var spec in local)
        {
            if (!contivNetworks.Any(n => n.NetworkId == spec.NetworkId))
            {
                continue;
            }

            var remote = endpoints
                .Where(e => e.Network == spec.NetworkId && e.HomingHost != options.HostName && !string.IsNullOrEmpty(e.VtepIp) && !string.IsNullOrEmpty(e.MacAddress))
                .Select(e => new RemoteEndpoint(e.IpAddress[0], e.MacAddress!, e.VtepIp!))
                .ToList();
            datapath.SyncRemoteEndpoints(spec, remote, remoteVteps);
        }
    }
}
