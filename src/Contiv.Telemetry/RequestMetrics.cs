using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Contiv.Telemetry;

/// <summary>
/// The request instruments every ContivDocker server has: a count and a latency histogram per call
/// and outcome, and a count of state store failures. Instruments are
/// <see cref="System.Diagnostics.Metrics"/> ones (trim and NativeAOT safe); /metrics exports them
/// through OpenTelemetry's Prometheus exporter as <c>PREFIX_requests_total</c>,
/// <c>PREFIX_request_duration_seconds</c> and <c>PREFIX_store_errors_total</c>.
/// </summary>
public sealed class RequestMetrics
{
    /// <summary>The outcome of a request that did what was asked.</summary>
    public const string Ok = "ok";

    /// <summary>Bucket bounds in seconds: plugin calls take milliseconds, a store outage seconds.</summary>
    public static readonly IReadOnlyList<double> DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _storeErrors;

    /// <param name="meterName">The meter the exporter listens to (<see cref="ContivTelemetry.AddContivTelemetry"/>).</param>
    /// <param name="prefix">Instrument name prefix, e.g. <c>contiv.netplugin</c> (dots become underscores in Prometheus).</param>
    public RequestMetrics(IMeterFactory meters, string meterName, string prefix)
    {
        Meter = meters.Create(meterName);
        Prefix = prefix;
        _requests = Meter.CreateCounter<long>($"{prefix}.requests", description: "Requests served, by call and outcome.");
        _duration = Meter.CreateHistogram(
            $"{prefix}.request.duration",
            unit: "s",
            description: "Time to serve a request, by call and outcome.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _storeErrors = Meter.CreateCounter<long>($"{prefix}.store.errors", description: "State store failures (unreachable, or a commit that kept conflicting), by where they were seen.");
    }

    /// <summary>The process's meter, for its own instruments.</summary>
    public Meter Meter { get; }

    public string Prefix { get; }

    /// <param name="call">A bounded name (a plugin call, a route template), never raw input.</param>
    /// <param name="outcome"><see cref="Ok"/> or a short failure class, never an error text.</param>
    public void Record(string call, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "call", call }, { "outcome", outcome } };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    /// <param name="source">Where it was seen: <c>request</c>, <c>reconcile</c>, ...</param>
    /// <param name="kind"><c>unavailable</c> or <c>conflict</c>.</param>
    public void StoreError(string source, string kind) =>
        _storeErrors.Add(1, new TagList { { "source", source }, { "kind", kind } });
}
