using static Contiv.Datapath.Nftables.Tests.Integration.PolicyLab;
using static Contiv.Datapath.Nftables.Tests.Integration.Scenario;

namespace Contiv.Datapath.Nftables.Tests.Integration;

/// <summary>
/// Real packets through the lab's bridges with compiled policy enforced by the library (br_netfilter
/// + the inet forward chain in each network namespace): what is allowed, denied and stateful.
/// </summary>
public sealed class EnforcementTests
{
    [Fact]
    public void Contiv_web_db_scenario_same_host_and_across_hosts_and_a_removed_rule_opens_the_path()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        var scenario = new Scenario()
            .Policy("db-policy")
            .Group("web", null, A)
            .Group("db", "db-policy", B)
            .Rule(In("db-policy", "1") with { Protocol = "tcp", Action = "deny" })
            .Rule(In("db-policy", "2") with { Protocol = "tcp", FromEndpointGroup = "web", Port = 5432, Action = "allow", Priority = 10 });
        lab.Enforce(scenario.Compile());

        Assert.True(lab.TcpConnects(A, B, 5432), "web -> db:5432 on the same host");
        Assert.False(lab.TcpConnects(C, B, 5432), "a container in no group, on the other host, -> db:5432");
        Assert.False(lab.TcpConnects(A, B, 80), "web -> db on another port");
        Assert.True(lab.Pings(A, B) && lab.Pings(C, B), "ICMP has no rule yet");
        Assert.True(lab.TcpConnects(B, C, 7000), "db's out traffic has no rule");

        lab.Enforce(scenario.Rule(In("db-policy", "3") with { Protocol = "icmp", Action = "deny" }).Compile());
        Assert.False(lab.Pings(A, B), "ICMP to db denied");
        Assert.True(lab.Pings(B, A), "db's own ping: its echo reply passes db's in rule by connection state");

        lab.Enforce(scenario.RemoveRule("db-policy", "1").Compile());
        Assert.True(lab.TcpConnects(A, B, 80), "the tcp deny rule is gone: the path is open again, live");
    }

    [Fact]
    public void Replies_of_allowed_connections_pass_whatever_the_other_side_denies_for_tcp_udp_and_icmp()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        var scenario = new Scenario()
            .Policy("locked")
            .Group("db", "locked", B)
            .Rule(Out("locked", "1") with { Action = "deny" }); // db may start nothing
        lab.Enforce(scenario.Compile());

        Assert.True(lab.TcpConnects(A, B, 5432), "SYN-ACK from db passes its out deny (reply)");
        Assert.True(lab.TcpConnects(C, B, 5432), "also across hosts");
        Assert.False(lab.TcpConnects(B, A, 5432), "db starting a connection is denied");
        Assert.False(lab.TcpConnects(B, C, 5432), "also across hosts");

        using (var a = lab.UdpSocket(A, 4000))
        using (var b = lab.UdpSocket(B, 5353))
        {
            a.SendTo("query"u8, new System.Net.IPEndPoint(B, 5353));
            Assert.True(Receives(b), "a -> db udp");
            b.SendTo("answer"u8, new System.Net.IPEndPoint(A, 4000));
            Assert.True(Receives(a), "db's udp answer passes its out deny (reply)");
        }

        Assert.False(lab.UdpArrives(B, 5354, A, 4001), "db starting a udp flow is denied");
        Assert.True(lab.Pings(A, B), "echo reply from db passes");
        Assert.False(lab.Pings(B, A), "db's echo request is denied");
    }

    [Fact]
    public void A_denied_packet_leaves_no_conntrack_state_a_later_packet_could_ride_on()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        var scenario = new Scenario()
            .Policy("no-udp")
            .Group("x", "no-udp", A, B)
            .Rule(In("no-udp", "1") with { Protocol = "udp", Action = "deny" })
            .Rule(In("no-udp", "2") with { Protocol = "tcp", Port = 80, Action = "deny" });
        lab.Enforce(scenario.Compile());

        // b -> a 6000 -> 5000 is denied (a's in rule). If it had left a conntrack entry, a -> b
        // 5000 -> 6000 would be its "reply" and pass b's in rule as established.
        Assert.False(lab.UdpArrives(B, 6000, A, 5000), "udp to x denied");
        Assert.DoesNotContain("dport=5000", Conntrack(lab.Host1, "-p", "udp"), StringComparison.Ordinal);
        Assert.False(lab.UdpArrives(A, 5000, B, 6000), "the would-be reply is still denied");

        Assert.False(lab.TcpConnects(C, A, 80), "tcp:80 to x denied");
        Assert.True(lab.TcpConnects(C, A, 81), "tcp:81 allowed");
        var tcp = Conntrack(lab.Host1, "-p", "tcp");
        Assert.Contains("dport=81", tcp, StringComparison.Ordinal);
        Assert.DoesNotContain("dport=80 ", tcp, StringComparison.Ordinal);
    }

    [Fact]
    public void One_network_namespace_sees_both_bridged_and_vxlan_traffic_in_both_directions()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        var scenario = new Scenario()
            .Policy("p")
            .Group("web", "p", A)
            .Rule(In("p", "1") with { Protocol = "tcp", Action = "deny" })
            .Rule(Out("p", "2") with { Protocol = "udp", Action = "deny" });
        lab.Enforce(scenario.Compile(), lab.Host1); // host 1 only

        Assert.False(lab.TcpConnects(C, A, 22), "arriving through the vxlan port");
        Assert.False(lab.TcpConnects(B, A, 22), "bridged on the same host");
        Assert.False(lab.UdpArrives(A, 4000, C, 4000), "leaving through the vxlan port");
        Assert.False(lab.UdpArrives(A, 4000, B, 4000), "bridged on the same host");
        Assert.True(lab.TcpConnects(A, C, 22) && lab.UdpArrives(C, 4000, A, 4000), "the other directions have no rule");
    }

    [Fact]
    public void Without_bridge_nf_call_iptables_the_bridge_bypasses_the_table()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        var scenario = new Scenario()
            .Policy("p")
            .Group("db", "p", B)
            .Rule(In("p", "1") with { Action = "deny" });
        lab.Enforce(scenario.Compile());
        Assert.False(lab.TcpConnects(A, B, 5432));

        using (var netns = lab.Host1.Open())
        {
            BridgeNetfilter.SetCallIptables(netns, false);
            Assert.False(BridgeNetfilter.GetCallIptables(netns));
        }

        Assert.True(lab.TcpConnects(A, B, 5432), "bridged frames skip the IPv4 hooks: the setting is what makes enforcement work");
    }

    [Fact]
    public async Task Replacing_the_table_again_and_again_never_lets_a_denied_packet_through()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        var scenario = new Scenario()
            .Policy("p")
            .Group("db", "p", B)
            .Rule(In("p", "1") with { Protocol = "udp", Action = "deny" });
        var table = PolicyTableEncoder.Encode(scenario.Compile());
        lab.Enforce(scenario.Compile());

        using var receiver = lab.UdpSocket(B, 9000);
        using var sender = lab.UdpSocket(A, 9001);
        using var netns = lab.Host1.Open();
        using var nft = NftablesNetlink.Open(netns);
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var flood = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                sender.SendTo("x"u8, new System.Net.IPEndPoint(B, 9000));
                Interlocked.Increment(ref sent);
            }
        }, TestContext.Current.CancellationToken);

        // At least 50 replaces, and on until the flood has really overlapped them (a fast machine
        // finishes 50 before the sender has sent much), bounded in time.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        for (var i = 0; i < 50 || (Volatile.Read(ref sent) <= 1000 && DateTime.UtcNow < deadline); i++)
        {
            nft.ReplaceTable(table);
        }

        stop.Cancel();
        await flood;
        Assert.True(sent > 1000, $"the flood sent {sent} datagrams during the replaces");
        Assert.Equal(0, ReceiveCount(receiver, TimeSpan.FromMilliseconds(300)));

        nft.DeleteTable(NftFamily.Inet, PolicyTableEncoder.TableName);
        sender.SendTo("x"u8, new System.Net.IPEndPoint(B, 9000));
        Assert.True(Receives(receiver), "control: without the table the same datagram arrives");
    }

    [Fact]
    public void A_new_deny_spares_established_connections_until_conntrack_is_flushed()
    {
        TestNamespace.RequireNamespaces();
        using var lab = new PolicyLab();
        using var a = lab.UdpSocket(A, 7000);
        using var b = lab.UdpSocket(B, 7001);
        var scenario = new Scenario().Policy("p").Group("db", "p", B);
        lab.Enforce(scenario.Compile());
        a.SendTo("hello"u8, new System.Net.IPEndPoint(B, 7001));
        Assert.True(Receives(b), "no rule yet");
        b.SendTo("hi"u8, new System.Net.IPEndPoint(A, 7000));
        Assert.True(Receives(a), "the answer makes the flow established (before it, every datagram counts as new)");

        lab.Enforce(scenario.Rule(In("p", "1") with { Protocol = "udp", Action = "deny" }).Compile());
        a.SendTo("again"u8, new System.Net.IPEndPoint(B, 7001));
        Assert.True(Receives(b), "the flow is established: the new deny does not see it");
        Assert.False(lab.UdpArrives(A, 7100, B, 7101), "a new flow is denied");

        using (var netns = lab.Host1.Open())
        {
            ConntrackNetlink.FlushIpv4(netns);
        }

        Assert.DoesNotContain("dport=7001", Conntrack(lab.Host1, "-p", "udp"), StringComparison.Ordinal);
        a.SendTo("after flush"u8, new System.Net.IPEndPoint(B, 7001));
        Assert.False(Receives(b), "after the flush the flow is judged again, and denied");
    }
}
