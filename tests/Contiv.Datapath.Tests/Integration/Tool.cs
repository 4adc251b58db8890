using System.Diagnostics;
using System.Text.Json;

namespace Contiv.Datapath.Tests.Integration;

/// <summary>Runs iproute2 / busybox in test code only, to check kernel state independently of the library.</summary>
internal static class Tool
{
    public static string Run(string file, params string[] arguments) =>
        TryRun(file, arguments, out var output, out var error) == 0
            ? output
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed: {error.Trim()} {output.Trim()}");

    public static int TryRun(string file, string[] arguments, out string output, out string error)
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

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish in 30 s");
        }

        output = stdout.GetAwaiter().GetResult();
        error = stderr.GetAwaiter().GetResult();
        return process.ExitCode;
    }

    public static JsonElement Json(string file, params string[] arguments)
    {
        var text = Run(file, arguments);
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "[]" : text);
        return document.RootElement.Clone();
    }

    public static string? String(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static int? Int(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    public static IEnumerable<string> Strings(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(v => v.GetString() ?? "")
            : [];
}
