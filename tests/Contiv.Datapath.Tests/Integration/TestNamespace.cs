using System.Text.Json;

namespace Contiv.Datapath.Tests.Integration;

/// <summary>
/// A throwaway network namespace made with `ip netns add` and removed (with every device in it) on
/// Dispose. Tests do all their work inside such namespaces, never in the host's. Without root or
/// netns support the test is skipped with the reason, never passed.
/// </summary>
internal sealed class TestNamespace : IDisposable
{
    private static readonly Lazy<string?> UnavailableReason = new(ProbeNamespaces);
    private static int s_counter;

    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    public string Path => $"/var/run/netns/{Name}";

    public static TestNamespace Create(string label)
    {
        RequireNamespaces();
        var name = $"cvdp-{label}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        Tool.Run("ip", "netns", "add", name);
        return new TestNamespace(name);
    }

    public static void RequireNamespaces()
    {
        if (UnavailableReason.Value is { } reason)
        {
            Assert.Skip(reason);
        }
    }

    public void Run(Action<INetlink> action) => NetworkNamespace.Run(Path, action);

    public T Run<T>(Func<INetlink, T> func) => NetworkNamespace.Run(Path, func);

    public NetworkNamespace Open() => NetworkNamespace.Open(Path);

    /// <summary>`ip -n NAME -j ARGS` parsed.</summary>
    public JsonElement Ip(params string[] arguments) => Tool.Json("ip", ["-n", Name, "-j", .. arguments]);

    /// <summary>`bridge -n NAME -j ARGS` parsed.</summary>
    public JsonElement Bridge(params string[] arguments) => Tool.Json("bridge", ["-n", Name, "-j", .. arguments]);

    public JsonElement Link(string device) =>
        Ip("-d", "link", "show").EnumerateArray().Single(l => l.String("ifname") == device);

    public bool HasLink(string device) =>
        Ip("link", "show").EnumerateArray().Any(l => l.String("ifname") == device);

    public void Dispose() => Tool.TryRun("ip", ["netns", "del", Name], out _, out _);

    private static string? ProbeNamespaces()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces need Linux";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "creating network namespaces and devices needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)";
        }

        var probe = $"cvdp-probe-{Environment.ProcessId}";
        try
        {
            if (Tool.TryRun("ip", ["netns", "add", probe], out _, out var error) != 0)
            {
                return $"`ip netns add` failed, network namespaces unavailable: {error.Trim()}";
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"iproute2 `ip` is not installed: {e.Message}";
        }

        Tool.TryRun("ip", ["netns", "del", probe], out _, out _);
        return null;
    }
}
