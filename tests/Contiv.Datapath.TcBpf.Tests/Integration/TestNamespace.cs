namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>
/// A throwaway network namespace made with `ip netns add` and deleted, with every device in it,
/// on Dispose, so a failing test leaves nothing behind. Tests send traffic only inside these.
/// Without root, namespaces or bpf(2) the test is skipped with the reason, never passed.
/// </summary>
internal sealed class TestNamespace : IDisposable
{
    private static readonly Lazy<string?> UnavailableReason = new(Probe);
    private static int s_counter;

    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    public string Path => $"/var/run/netns/{Name}";

    public static TestNamespace Create(string label)
    {
        RequireRootAndBpf();
        var name = $"cvtc-{label}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        Tool.Run("ip", "netns", "add", name);
        return new TestNamespace(name);
    }

    /// <summary>Skips the test unless it runs as root on a kernel where bpf(2) loads SCHED_CLS programs and `ip netns` works.</summary>
    public static void RequireRootAndBpf()
    {
        if (UnavailableReason.Value is { } reason)
        {
            Assert.Skip(reason);
        }
    }

    public void Run(Action<INetlink> action) => NetworkNamespace.Run(Path, action);

    public T Run<T>(Func<INetlink, T> func) => NetworkNamespace.Run(Path, func);

    public NetworkNamespace Open() => NetworkNamespace.Open(Path);

    /// <summary>`ip netns exec NAME FILE ARGS`.</summary>
    public int Exec(string file, string[] arguments, out string output, out string error) =>
        Tool.TryRun("ip", ["netns", "exec", Name, file, .. arguments], out output, out error);

    /// <summary>`ip -n NAME ARGS` or `tc -n NAME ARGS` output.</summary>
    public string Ip(params string[] arguments) => Tool.Run("ip", ["-n", Name, .. arguments]);

    public string Tc(params string[] arguments) => Tool.Run("tc", ["-n", Name, .. arguments]);

    public void Dispose() => Tool.TryRun("ip", ["netns", "del", Name], out _, out _);

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces and tc eBPF need Linux";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "bpf(2), tc and network namespaces need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)";
        }

        if (!TcBpfVlanUplink.IsSupported(out var bpfReason))
        {
            return $"this kernel cannot load a SCHED_CLS eBPF program: {bpfReason}";
        }

        var probe = $"cvtc-probe-{Environment.ProcessId}";
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
