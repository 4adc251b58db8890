using System.Net;
using Contiv.Datapath.Nftables;
using Xunit;
using static Contiv.NetPlugin.Tests.Policy.PolicyDatapathLab;
using static Contiv.NetPlugin.Tests.Policy.PolicyScenario;

namespace Contiv.NetPlugin.Tests.Policy;

/// <summary>
/// <see cref="LinuxBridgeDatapath.ApplyPolicy"/> on a real kernel: a network namespace built by the
/// datapath itself, containers as namespaces, real TCP/UDP/ICMP between them. Needs root; skipped
/// with the reason otherwise.
/// </summary>
public class PolicyEnforcementTests
{
    private static readonly IPAddress WebAddress = IPAddress.Parse("10.77.0.1");
    private static readonly IPAddress DbAddress = IPAddress.Parse("10.77.0.2");
    private static readonly IPAddress OtherAddress = IPAddress.Parse("10.77.0.3");

    /// <summary>Contiv's tutorial: db accepts TCP only from web, on 5432.</summary>
    private static PolicyScenario WebDb() => new PolicyScenario()
        .Endpoint(WebAddress, "web").Endpoint(DbAddress, "db").Endpoint(OtherAddress, null)
        .Policy("db-policy").Group("web").Group("db", "db-policy")
        .Rule(In("db-policy", "1") with { Protocol = "tcp", Action = "deny" })
        .Rule(In("db-policy", "2") with { Protocol = "tcp", FromEndpointGroup = "web", Port = 5432, Action = "allow", Priority = 10 });

    [Fact]
    public void Compiled_web_db_ruleset_allows_web_to_db_5432_and_nothing_else_and_a_second_apply_changes_nothing()
    {
        using var lab = new PolicyDatapathLab();
        var web = lab.AddContainer("web", WebAddress);
        var db = lab.AddContainer("db", DbAddress);
        var other = lab.AddContainer("oth", OtherAddress);
        Assert.True(other.Connects(db, 5432), "control: before any policy everything connects");

        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()));

        Assert.True(web.Connects(db, 5432), "web → db:5432 is allowed (prio 10)");
        Assert.False(other.Connects(db, 5432), "a container in no group → db:5432 is denied");
        Assert.False(web.Connects(db, 5433), "web → db on another port is denied");
        Assert.True(web.Pings(db), "ICMP is not TCP: no rule denies it");
        Assert.True(db.Connects(web, 8080), "db's rules filter what comes in to db, not what db opens");

        using var netns = Contiv.Datapath.NetworkNamespace.Open(lab.NamespacePath);
        Assert.True(BridgeNetfilter.GetCallIptables(netns));
        using var nft = NftablesNetlink.Open(netns);
        var table = nft.GetTable(NftFamily.Inet, PolicyTableEncoder.TableName);
        Assert.Equal(PolicyTableEncoder.Encode(WebDb().Compile()), table);
        var generation = nft.GetGeneration();

        Assert.False(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()), "the same ruleset again: nothing to change");
        Assert.Equal(generation, nft.GetGeneration()); // no transaction at all, not even an identical replace
        Assert.Equal(table, nft.GetTable(NftFamily.Inet, PolicyTableEncoder.TableName));
        Assert.Contains("comment \"default:db-policy:2 prio 10\"", lab.NftList(), StringComparison.Ordinal);

        // A restarted netplugin reads the table back, finds it equal, and changes nothing either.
        using (var restarted = lab.Restarted())
        {
            Assert.False(restarted.ApplyPolicy(lab.Network, WebDb().Compile()));
        }

        Assert.Equal(generation, nft.GetGeneration());
    }

    [Fact]
    public void A_table_changed_behind_the_datapaths_back_is_put_back_and_an_empty_ruleset_removes_it()
    {
        using var lab = new PolicyDatapathLab();
        var empty = new PolicyScenario().Endpoint(WebAddress, null).Compile();
        Assert.False(lab.Datapath.ApplyPolicy(lab.Network, empty), "no table and none wanted");
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()));

        // Someone deletes the table (nft, a crash half-way): the generation moved, so the next pass reads and restores it.
        Assert.Equal(0, lab.ExecInNetwork("nft", ["delete", "table", "inet", PolicyTableEncoder.TableName], out _));
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()));
        Assert.Contains("table inet contiv-policy", lab.NftList(), StringComparison.Ordinal);

        // ... or adds a rule to it.
        Assert.Equal(0, lab.ExecInNetwork("nft", ["add", "rule", "inet", PolicyTableEncoder.TableName, PolicyTableEncoder.ForwardChain, "accept"], out _));
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()));
        Assert.False(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()));

        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, empty), "no group rules left: the table goes");
        Assert.DoesNotContain("contiv-policy", lab.NftList(), StringComparison.Ordinal);
        Assert.False(lab.Datapath.ApplyPolicy(lab.Network, empty));
    }

    [Fact]
    public void A_new_deny_stops_an_established_flow_because_apply_flushes_conntrack()
    {
        using var lab = new PolicyDatapathLab();
        var web = lab.AddContainer("web", WebAddress);
        var db = lab.AddContainer("db", DbAddress);
        var allowUdp = new PolicyScenario().Endpoint(WebAddress, "web").Endpoint(DbAddress, "db")
            .Policy("p").Group("web").Group("db", "p")
            .Rule(In("p", "1") with { Protocol = "tcp", Action = "deny" }); // a table, but UDP passes
        var denyUdp = new PolicyScenario().Endpoint(WebAddress, "web").Endpoint(DbAddress, "db")
            .Policy("p").Group("web").Group("db", "p")
            .Rule(In("p", "1") with { Protocol = "tcp", Action = "deny" })
            .Rule(In("p", "2") with { Protocol = "udp", Action = "deny" });
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, allowUdp.Compile()));

        using var w = web.Udp(7000);
        using var d = db.Udp(7001);
        var toDb = new IPEndPoint(DbAddress, 7001);
        w.SendTo("hello"u8, toDb);
        Assert.True(Container.Receives(d));
        d.SendTo("hi"u8, new IPEndPoint(WebAddress, 7000));
        Assert.True(Container.Receives(w), "db answered: the flow is established");

        // The deny alone (the table replaced without the flush ApplyPolicy does) spares the flow ...
        using var netns = Contiv.Datapath.NetworkNamespace.Open(lab.NamespacePath);
        using var nft = NftablesNetlink.Open(netns);
        nft.ReplaceTable(PolicyTableEncoder.Encode(denyUdp.Compile()));
        w.SendTo("still"u8, toDb);
        Assert.True(Container.Receives(d), "established: the new deny never sees it");
        nft.ReplaceTable(PolicyTableEncoder.Encode(allowUdp.Compile()));

        // ... ApplyPolicy with the same deny flushes, and the flow's next datagram is judged again.
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, denyUdp.Compile()));
        w.SendTo("after"u8, toDb);
        Assert.False(Container.Receives(d), "after the flush the flow is new again, and denied");
        Assert.False(lab.Datapath.ApplyPolicy(lab.Network, denyUdp.Compile()));

        // Removing the deny again opens it (and needs no flush: nothing can be denied that was allowed).
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, allowUdp.Compile()));
        w.SendTo("open"u8, toDb);
        Assert.True(Container.Receives(d));
    }

    [Fact]
    public void Conntrack_is_flushed_on_every_change_that_leaves_a_table_and_never_on_removal()
    {
        var a = PolicyTableEncoder.Encode(WebDb().Compile());
        var b = PolicyTableEncoder.Encode(WebDb().RemoveRule("db-policy", "2").Compile());
        Assert.True(PolicyConntrack.MustFlush(null, a), "a first table can deny what passed");
        Assert.True(PolicyConntrack.MustFlush(a, b));
        Assert.True(PolicyConntrack.MustFlush(b, a), "even a change that looks like it only allows more: membership in deny peers moves too");
        Assert.False(PolicyConntrack.MustFlush(a, a));
        Assert.False(PolicyConntrack.MustFlush(a, null), "no table denies nothing");
        Assert.False(PolicyConntrack.MustFlush(null, null));
    }
}
