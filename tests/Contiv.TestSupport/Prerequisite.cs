using System.Diagnostics.CodeAnalysis;
using Xunit;

namespace Contiv.TestSupport;

/// <summary>
/// The two kinds of test skip, kept apart so a skip never hides a gap the project could close.
/// <list type="bullet">
/// <item><see cref="Missing"/>: something this machine could have (a Debian package
/// scripts/install-deps.sh installs, root, the published programs). A skip on a developer's
/// machine; a failure under <c>CONTIV_E2E_REQUIRED=1</c>, which scripts/test.sh (and so CI) sets
/// after installing everything.</item>
/// <item><see cref="Impossible"/>: what this machine cannot offer whatever is installed (a kernel
/// without 802.1Q devices, a big-endian host, no container registry). Always a skip, with the reason.</item>
/// </list>
/// </summary>
public static class Prerequisite
{
    /// <summary>Set to 1 by scripts/test.sh: every installable prerequisite must be present.</summary>
    public const string RequiredVariable = "CONTIV_E2E_REQUIRED";

    public static bool Required => Environment.GetEnvironmentVariable(RequiredVariable) == "1";

    /// <summary>Skips the test, or fails it under <c>CONTIV_E2E_REQUIRED=1</c>, because <paramref name="reason"/>.</summary>
    /// <param name="reason">What is missing and how to get it, e.g. "ethtool is not installed (Debian package ethtool, scripts/install-deps.sh)".</param>
    [DoesNotReturn]
    public static void Missing(string reason)
    {
        if (Required)
        {
            Assert.Fail($"{reason} [{RequiredVariable}=1: a prerequisite this machine could have is a failure, not a skip]");
        }

        Assert.Skip(reason);
    }

    /// <summary><see cref="Missing"/> for a program from a Debian package scripts/install-deps.sh installs.</summary>
    [DoesNotReturn]
    public static void MissingPackage(string program, string package, string? detail = null) =>
        Missing($"{program} is not installed{(detail is null ? string.Empty : $" ({detail})")}: install the Debian package {package} (scripts/install-deps.sh)");

    /// <summary>Skips the test: this machine cannot do it, whatever is installed (kernel, architecture, network).</summary>
    [DoesNotReturn]
    public static void Impossible(string reason) => Assert.Skip(reason);

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}
