namespace Contiv.Datapath.Tests.Integration;

/// <summary>NetworkNamespace's own life cycle: persistent namespaces and work on its dedicated thread.</summary>
public class NamespaceTests
{
    [Fact]
    public void Persistent_namespace_is_created_once_entered_and_deleted()
    {
        TestNamespace.RequireNamespaces();
        var path = $"/var/run/netns/cvdp-persist-{Environment.ProcessId}";
        try
        {
            using (var created = NetworkNamespace.CreatePersistent(path))
            {
                Assert.True(NetworkNamespace.IsMountedNamespace(path));
                created.Run(netlink => netlink.CreateBridge("cvbr-persist"));
            }

            // Idempotent: the existing namespace, with what was made in it, is opened again.
            using var again = NetworkNamespace.CreatePersistent(path);
            Assert.Contains(again.Run(netlink => netlink.ListLinks()), l => l.Name == "cvbr-persist");
        }
        finally
        {
            NetworkNamespace.DeletePersistent(path);
        }

        Assert.False(NetworkNamespace.IsMountedNamespace(path));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Work_inside_runs_on_a_thread_of_its_own_and_its_exception_comes_back()
    {
        using var ns = TestNamespace.Create("thread");
        var caller = Environment.CurrentManagedThreadId;

        var inside = ns.Run(_ => Environment.CurrentManagedThreadId);
        var error = Assert.Throws<InvalidOperationException>(() => ns.Run(_ => throw new InvalidOperationException("from inside")));

        Assert.NotEqual(caller, inside);
        Assert.Equal("from inside", error.Message);
        Assert.Contains(nameof(Work_inside_runs_on_a_thread_of_its_own_and_its_exception_comes_back), error.StackTrace, StringComparison.Ordinal);
    }
}
