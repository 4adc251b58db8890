using System.Diagnostics;
using Contiv.State;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Contiv.Telemetry;

/// <summary>
/// Healthy when the state store answers a read within <see cref="Timeout"/>; unhealthy (503 on
/// /health) with the store's own error otherwise. Every request of netplugin and netmaster needs the
/// store, so an unreachable store means the process cannot serve.
/// </summary>
public sealed class StoreHealthCheck(IKeyValueStore store) : IHealthCheck
{
    /// <summary>Below the Redis store's own 4 s operation timeout, so a probe answers before a load balancer gives up.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>A key nothing writes: reading it costs one round trip and touches no state.</summary>
    public const string ProbeKey = "health/probe";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await store.GetAsync([ProbeKey], timeout.Token).WaitAsync(timeout.Token);
            return HealthCheckResult.Healthy($"{store.Description} answered in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0} ms");
        }
        catch (StoreUnavailableException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"state store unavailable: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"state store {store.Description} did not answer within {Timeout.TotalSeconds:0} s");
        }
    }
}
