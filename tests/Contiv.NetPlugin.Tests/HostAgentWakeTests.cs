using Contiv.ControlPlane;
using Xunit;

namespace Contiv.NetPlugin.Tests;

/// <summary>
/// Which store changes wake the host agent. Heartbeats (every agent rewrites its own host record on
/// every pass) must not: that made every agent wake itself and every other one, 20 times a second.
/// </summary>
public sealed class HostAgentWakeTests
{
    private static readonly string Own = StateKeys.Host("h1");
    private static readonly HashSet<string> Known = new([StateKeys.Host("h1"), StateKeys.Host("h2")], StringComparer.Ordinal);

    [Fact]
    public void Heartbeats_of_this_or_known_hosts_do_not_wake_a_pass()
    {
        Assert.False(HostAgent.WakesReconcile(StateKeys.Host("h1"), Own, Known));
        Assert.False(HostAgent.WakesReconcile(StateKeys.Host("h2"), Own, Known));
        Assert.False(HostAgent.WakesReconcile(StateKeys.Host("h1"), Own, new HashSet<string>(StringComparer.Ordinal)));
    }

    [Fact]
    public void A_new_host_wakes_a_pass_so_its_vtep_is_flooded_to()
    {
        Assert.True(HostAgent.WakesReconcile(StateKeys.Host("h3"), Own, Known));
    }

    [Fact]
    public void Networks_global_settings_endpoints_and_resyncs_wake_a_pass()
    {
        Assert.True(HostAgent.WakesReconcile(null, Own, Known));
        Assert.True(HostAgent.WakesReconcile(StateKeys.NetworksPrefix + "default:contiv-net", Own, Known));
        Assert.True(HostAgent.WakesReconcile(StateKeys.Global, Own, Known));
        Assert.True(HostAgent.WakesReconcile(StateKeys.EndpointsPrefix + "contiv-net.default/0123", Own, Known));
    }

    [Fact]
    public void Address_leases_and_docker_network_bindings_do_not_wake_a_pass()
    {
        Assert.False(HostAgent.WakesReconcile(StateKeys.LeasesPrefix + "contiv-net.default/10.1.2.1", Own, Known));
        Assert.False(HostAgent.WakesReconcile(StateKeys.IpamPrefix + "contiv-net.default", Own, Known));
    }
}
