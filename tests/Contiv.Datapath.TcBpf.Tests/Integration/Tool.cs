using System.Diagnostics;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>Runs iproute2, busybox and tcpdump in test code only, to set up scenes and check kernel state independently of the library.</summary>
internal static class Tool
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
}
