using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Xunit;

namespace Contiv.Datapath.TestSupport;

/// <summary>
/// Runs iproute2, tc, busybox and tcpdump in test code only, to set up scenes and check kernel state
/// independently of the library under test.
/// </summary>
public static class Tool
{
    public static string Run(string file, params string[] arguments) =>
        TryRun(file, arguments, out var output, out var error) == 0
            ? output
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed: {error.Trim()} {output.Trim()}");

    public static int TryRun(string file, string[] arguments, out string output, out string error)
    {
        using var process = Process.Start(StartInfo(file, arguments)) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish in 30 s");
        }

        output = stdout.GetAwaiter().GetResult();
        error = stderr.GetAwaiter().GetResult();
        return process.ExitCode;
    }

    /// <summary>A start for <paramref name="file"/> with its output redirected and each argument passed as is.</summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>The output of a tool run with -j, parsed (no output is an empty array).</summary>
    public static JsonElement Json(string file, params string[] arguments)
    {
        var text = Run(file, arguments);
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "[]" : text);
        return document.RootElement.Clone();
    }

    /// <summary>A string property of an `ip -j` object, or null where it is missing or not a string.</summary>
    [SuppressMessage("Naming", "CA1720", Justification = "Named after the JSON type it reads, like Strings.")]
    public static string? String(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [SuppressMessage("Naming", "CA1720", Justification = "Named after the JSON type it reads.")]
    public static int? Int(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    public static IEnumerable<string> Strings(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(v => v.GetString() ?? "")
            : [];
}
