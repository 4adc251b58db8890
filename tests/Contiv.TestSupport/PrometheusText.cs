using System.Globalization;
using System.Text.RegularExpressions;

namespace Contiv.TestSupport;

/// <summary>One sample of a Prometheus text exposition: name, labels, value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public override string ToString() => $"{Name}{{{string.Join(',', Labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} {Value.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Reads what a /metrics endpoint serves (text format 0.0.4): the samples, ignoring comments.
/// Lookups match on the labels given and ignore any others (the exporter adds <c>otel_scope_name</c>).
/// </summary>
public sealed partial class PrometheusText
{
    private PrometheusText(string text, IReadOnlyList<PrometheusSample> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    public static PrometheusText Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"not a Prometheus sample line: {line}");
            }

            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal), StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new PrometheusSample(match.Groups["name"].Value, labels, value));
        }

        return new PrometheusText(text, samples);
    }

    /// <summary>The samples named <paramref name="name"/> whose labels include all of <paramref name="labels"/> (<c>key=value</c>).</summary>
    public IReadOnlyList<PrometheusSample> Find(string name, params string[] labels)
    {
        var wanted = labels.Select(l => l.Split('=', 2)).ToList();
        return [.. Samples.Where(s => s.Name == name && wanted.All(w => s.Labels.TryGetValue(w[0], out var v) && v == w[1]))];
    }

    /// <summary>The value of the one sample matching (0 when there is none: a counter never incremented is not exported).</summary>
    public double Value(string name, params string[] labels)
    {
        var found = Find(name, labels);
        return found.Count switch
        {
            0 => 0,
            1 => found[0].Value,
            _ => throw new InvalidOperationException($"{found.Count} samples match {name} {string.Join(',', labels)}: {string.Join("; ", found)}"),
        };
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex LabelPair();
}
