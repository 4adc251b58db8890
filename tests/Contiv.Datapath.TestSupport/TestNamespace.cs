using System.Text.Json;
using Contiv.TestSupport;

namespace Contiv.Datapath.TestSupport;

/// <summary>
/// A throwaway network namespace made with `ip netns add` and deleted, with every device in it, on
/// Dispose, so a failing test leaves nothing behind. Tests do all their work and send traffic only
/// inside such namespaces, never in the host's. Without root or netns support the test is skipped
/// with the reason, never passed.
/// </summary>
public sealed class TestNamespace : IDisposable
{
    private static readonly Lazy<Unavailable?> UnavailableReason = new(ProbeNamespaces);
    private static int s_counter;

    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    public string Path => $"/var/run/netns/{Name}";

    /// <summary>A new namespace named PREFIX-LABEL-PID-N; skips the test where namespaces are unavailable.</summary>
    /// <param name="prefix">Tells whose namespace a leftover is (cvdp: the Datapath tests, cvtc: the tc/eBPF tests).</param>
    public static TestNamespace Create(string label, string prefix = "cvdp")
    {
        RequireNamespaces();
        var name = $"{prefix}-{label}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        Tool.Run("ip", "netns", "add", name);
        return new TestNamespace(name);
    }

    /// <summary>
    /// Skips the test unless it runs as root on Linux where `ip netns add` works. Not root or no
    /// iproute2 fails it instead under CONTIV_E2E_REQUIRED=1 (scripts/test.sh runs as root after
    /// installing iproute2); a kernel without network namespaces is always a skip.
    /// </summary>
    public static void RequireNamespaces()
    {
        switch (UnavailableReason.Value)
        {
            case { CouldBeHad: true } missing:
                Prerequisite.Missing(missing.Reason);
                break;
            case { } impossible:
                Prerequisite.Impossible(impossible.Reason);
                break;
        }
    }

    public void Run(Action<INetlink> action) => NetworkNamespace.Run(Path, action);

    public T Run<T>(Func<INetlink, T> func) => NetworkNamespace.Run(Path, func);

    public NetworkNamespace Open() => NetworkNamespace.Open(Path);

    /// <summary>`ip netns exec NAME FILE ARGS`.</summary>
    public int Exec(string file, string[] arguments, out string output, out string error) =>
        Tool.TryRun("ip", ["netns", "exec", Name, file, .. arguments], out output, out error);

    /// <summary>`ip -n NAME -j ARGS` parsed.</summary>
    public JsonElement Ip(params string[] arguments) => Tool.Json("ip", ["-n", Name, "-j", .. arguments]);

    /// <summary>`ip -n NAME ARGS` output as text.</summary>
    public string IpText(params string[] arguments) => Tool.Run("ip", ["-n", Name, .. arguments]);

    /// <summary>`bridge -n NAME -j ARGS` parsed.</summary>
    public JsonElement Bridge(params string[] arguments) => Tool.Json("bridge", ["-n", Name, "-j", .. arguments]);

    /// <summary>`tc -n NAME ARGS` output.</summary>
    public string Tc(params string[] arguments) => Tool.Run("tc", ["-n", Name, .. arguments]);

    public JsonElement Link(string device) =>
        Ip("-d", "link", "show").EnumerateArray().Single(l => l.String("ifname") == device);

    public bool HasLink(string device) =>
        Ip("link", "show").EnumerateArray().Any(l => l.String("ifname") == device);

    public void Dispose() => Tool.TryRun("ip", ["netns", "del", Name], out _, out _);

    private static Unavailable? ProbeNamespaces()
    {
        if (!OperatingSystem.IsLinux())
        {
            return new("network namespaces need Linux", CouldBeHad: false);
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return new("creating network namespaces and devices needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)", CouldBeHad: true);
        }

        var probe = $"cvdp-probe-{Environment.ProcessId}";
        try
        {
            if (Tool.TryRun("ip", ["netns", "add", probe], out _, out var error) != 0)
            {
                return new($"`ip netns add` failed, network namespaces unavailable: {error.Trim()}", CouldBeHad: false);
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new($"iproute2 `ip` is not installed ({e.Message}): install the Debian package iproute2 (scripts/install-deps.sh)", CouldBeHad: true);
        }

        Tool.TryRun("ip", ["netns", "del", probe], out _, out _);
        return null;
    }

    /// <summary>Why namespaces cannot be made, and whether this machine could fix that (root, a package) or not (the kernel).</summary>
    private sealed record Unavailable(string Reason, bool CouldBeHad);
}
