using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>Runs real commands (bash, docker, netctl) with a timeout; the process tree is killed on timeout.</summary>
public static class Shell
{
    public static Task<CommandResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null) =>
        CommandRunner.RunAsync(file, args, timeout, env);

    /// <summary>Runs a bash snippet with the lab and Contiv libraries sourced.</summary>
    public static Task<CommandResult> ContivAsync(string script, TimeSpan? timeout = null, IDictionary<string, string>? env = null) =>
        RunAsync("bash", ["-c", $"set -euo pipefail; source '{Repo.Root}/scripts/lib/contiv.sh'; {script}"], timeout ?? TimeSpan.FromSeconds(120), env);
}

public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ContivDocker.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("cannot find the repository root (ContivDocker.sln)");
    }
}
