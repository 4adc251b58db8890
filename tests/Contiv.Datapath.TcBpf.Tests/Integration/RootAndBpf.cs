using Contiv.TestSupport;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>
/// What the tc/eBPF integration tests need beyond network namespaces: a kernel where bpf(2) loads
/// SCHED_CLS programs. Without it the test is skipped with the reason, never passed.
/// </summary>
internal static class RootAndBpf
{
    private static readonly Lazy<string?> UnavailableReason = new(() =>
        TcBpfVlanUplink.IsSupported(out var reason) ? null : $"this kernel cannot load a SCHED_CLS eBPF program: {reason}");

    /// <summary>Skips the test unless it runs as root where `ip netns` works and bpf(2) loads SCHED_CLS programs.</summary>
    public static void Require()
    {
        TestNamespace.RequireNamespaces();
        if (UnavailableReason.Value is { } reason)
        {
            // The kernel's doing: nothing this machine could install changes it.
            Prerequisite.Impossible(reason);
        }
    }

    /// <summary>A throwaway namespace (named cvtc-LABEL-…) once <see cref="Require"/> holds.</summary>
    public static TestNamespace Namespace(string label)
    {
        Require();
        return TestNamespace.Create(label, prefix: "cvtc");
    }
}
