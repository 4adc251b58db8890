namespace Contiv.TestSupport;

/// <summary>Runs .NET assemblies (e.g. a helper tool built next to the tests) as child processes.</summary>
public static class DotNetHost
{
    /// <summary>
    /// The <c>dotnet</c> executable: DOTNET_HOST_PATH (set by the dotnet CLI for the processes it
    /// starts), else the running host if it is dotnet, else DOTNET_ROOT/dotnet, else PATH.
    /// </summary>
    public static string Path { get; } = FindHost();

    /// <summary>Starts <c>dotnet exec ASSEMBLY ARGS</c>; the assembly's runtimeconfig.json must sit next to it.</summary>
    public static ChildProcess StartAssembly(string assemblyPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        ChildProcess.Start(Path, ["exec", assemblyPath, .. arguments], environment);

    /// <summary>
    /// Runs one child per argument list of a tool that prints "ready", waits for "go" on stdin and
    /// exits 0 when done: all are started, all must be ready, then all are released at once so
    /// they really compete. Fails with the child's stderr if one exits non-zero; kills them all
    /// (by PID) on the way out.
    /// </summary>
    public static async Task RunTogetherAsync(string assemblyPath, IEnumerable<IEnumerable<string>> argumentsPerChild, TimeSpan readyTimeout, TimeSpan finishTimeout)
    {
        var children = new List<ChildProcess>();
        try
        {
            foreach (var arguments in argumentsPerChild)
            {
                children.Add(StartAssembly(assemblyPath, arguments));
            }

            foreach (var child in children)
            {
                await child.ExpectLineAsync("ready", readyTimeout);
            }

            foreach (var child in children)
            {
                await child.WriteLineAsync("go");
            }

            foreach (var child in children)
            {
                var exitCode = await child.WaitForExitAsync(finishTimeout);
                Xunit.Assert.True(exitCode == 0, $"pid {child.Id} exited with {exitCode}: {child.StandardError}");
            }
        }
        finally
        {
            foreach (var child in children)
            {
                await child.DisposeAsync();
            }
        }
    }

    /// <summary>The path of an assembly copied next to the running tests (e.g. a referenced tool project).</summary>
    public static string BesideTests(string fileName)
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, fileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{fileName} is not next to the tests in {AppContext.BaseDirectory}; is the project referenced?", path);
    }

    private static string FindHost()
    {
        var fromCli = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromCli) && File.Exists(fromCli))
        {
            return fromCli;
        }

        var current = Environment.ProcessPath;
        if (current is not null && System.IO.Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(System.IO.Path.Combine(root, "dotnet")))
        {
            return System.IO.Path.Combine(root, "dotnet");
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(directory, "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "dotnet";
    }
}
