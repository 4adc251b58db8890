using System.Reflection;

namespace Contiv.Model;

/// <summary>Reads the version, commit and build time stamped into an assembly at build time.</summary>
public static class VersionInfoReader
{
    public static VersionInfo Read(Assembly assembly)
    {
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var version = plus < 0 ? informational : informational[..plus];
        var commit = plus < 0 ? "unknown" : informational[(plus + 1)..];
        var buildTime = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BuildTime")?.Value ?? "unknown";
        return new VersionInfo { Version = version, GitCommit = commit.Length > 7 ? commit[..7] : commit, BuildTime = buildTime };
    }
}
