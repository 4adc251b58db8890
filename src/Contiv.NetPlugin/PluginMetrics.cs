using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Contiv.State;
using Contiv.Telemetry;

namespace Contiv.NetPlugin;

/// <summary>
/// netplugin's instruments, on the meter of its <see cref="RequestMetrics"/> (exported on /metrics
/// with the <c>contiv_netplugin_</c> prefix): IPAM allocations and releases per Contiv network,
/// datapath programming errors per operation, failed reconcile passes, and the endpoints currently
/// joined on this host.
/// </summary>
public sealed class PluginMetrics
{
    public const string MeterName = "Contiv.NetPlugin";
    public const string Prefix = "contiv.netplugin";

    private readonly Counter<long> _allocations;
    private readonly Counter<long> _releases;
    private readonly Counter<long> _datapathErrors;
    private readonly Counter<long> _reconcileFailures;
    private readonly ConcurrentDictionary<string, byte> _joined = new(StringComparer.Ordinal);
    private int _seeded;

    public PluginMetrics(RequestMetrics requests)
    {
        Requests = requests;
        var meter = requests.Meter;
        _allocations = meter.CreateCounter<long>($"{Prefix}.ipam.allocations", description: "Addresses RequestAddress took in the store, by Contiv network (gateway requests and swarm echoes take none).");
        _releases = meter.CreateCounter<long>($"{Prefix}.ipam.releases", description: "Addresses ReleaseAddress gave back to the store, by Contiv network.");
        _datapathErrors = meter.CreateCounter<long>($"{Prefix}.datapath.errors", description: "Kernel datapath operations that failed (netlink, namespaces, tc eBPF), by operation.");
        _reconcileFailures = meter.CreateCounter<long>($"{Prefix}.reconcile.failures", description: "Host agent reconcile passes that failed (the next pass retries).");
        meter.CreateObservableGauge($"{Prefix}.endpoints.joined", () => _joined.Count, description: "Endpoints joined to a container on this host (Join until Leave or DeleteEndpoint).");
    }

    public RequestMetrics Requests { get; }

    /// <summary>Endpoints currently counted as joined.</summary>
    public int JoinedCount => _joined.Count;

    public void AddressAllocated(string networkId) => _allocations.Add(1, new KeyValuePair<string, object?>("network", networkId));

    public void AddressReleased(string networkId) => _releases.Add(1, new KeyValuePair<string, object?>("network", networkId));

    public void DatapathError(string operation) => _datapathErrors.Add(1, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>Counts a failed reconcile pass, and a store error when the store was the cause.</summary>
    public void ReconcileFailed(Exception error)
    {
        _reconcileFailures.Add(1);
        StoreError("reconcile", error);
    }

    /// <summary>Counts <paramref name="error"/> as a store error of <paramref name="source"/> when it is one.</summary>
    public void StoreError(string source, Exception error)
    {
        if (StoreErrorKind(error) is { } kind)
        {
            Requests.StoreError(source, kind);
        }
    }

    public static string? StoreErrorKind(Exception error) => error switch
    {
        StoreUnavailableException => "unavailable",
        StoreConflictException => "conflict",
        _ => null,
    };

    public void Joined(string endpointId) => _joined[endpointId] = 0;

    public void Left(string endpointId) => _joined.TryRemove(endpointId, out _);

    /// <summary>
    /// Once, after a (re)start: the endpoints of this host that were joined before it (their
    /// records carry a container), so the gauge does not start at zero under running containers.
    /// </summary>
    public void SeedJoined(IEnumerable<string> endpointIds)
    {
        if (Interlocked.Exchange(ref _seeded, 1) == 0)
        {
            foreach (var id in endpointIds)
            {
                _joined.TryAdd(id, 0);
            }
        }
    }

    /// <summary>Runs a datapath operation, counting its failure.</summary>
    internal T Datapath<T>(string operation, Func<T> action)
    {
        try
        {
            return action();
        }
        catch
        {
            DatapathError(operation);
            throw;
        }
    }
}
