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
    public void A_new_deny_stops_an_established_flow_both_ways_whoever_speaks_first_and_removing_it_restores_the_flow()
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
        var toWeb = new IPEndPoint(WebAddress, 7000);
        w.SendTo("hello"u8, toDb);
        Assert.True(Container.Receives(d));
        d.SendTo("hi"u8, toWeb);
        Assert.True(Container.Receives(w), "db answered: the flow is established");

        // The deny alone (the table replaced without the re-judging ApplyPolicy does) spares the flow ...
        using var netns = Contiv.Datapath.NetworkNamespace.Open(lab.NamespacePath);
        using var nft = NftablesNetlink.Open(netns);
        nft.ReplaceTable(PolicyTableEncoder.Encode(denyUdp.Compile()));
        w.SendTo("still"u8, toDb);
        Assert.True(Container.Receives(d), "established: the new deny never sees it");
        nft.ReplaceTable(PolicyTableEncoder.Encode(allowUdp.Compile()));

        // ... ApplyPolicy with the same deny re-judges the flow in its original direction (web → db:7001)
        // and revokes it: nothing passes either way, also when db speaks first (a flushed entry would
        // have let db's datagram open the flow again as db → web, which no rule denies).
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, denyUdp.Compile()));
        Assert.Contains("mark=1", Conntrack(lab), StringComparison.Ordinal);
        d.SendTo("db first"u8, toWeb);
        Assert.False(Container.Receives(w), "db's datagram belongs to the revoked flow");
        w.SendTo("after"u8, toDb);
        Assert.False(Container.Receives(d), "web's datagram too");
        Assert.False(lab.Datapath.ApplyPolicy(lab.Network, denyUdp.Compile()));

        // Removing the deny restores the same flow (its mark is cleared), both ways.
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, allowUdp.Compile()));
        d.SendTo("back"u8, toWeb);
        Assert.True(Container.Receives(w));
        w.SendTo("open"u8, toDb);
        Assert.True(Container.Receives(d));
    }

    [Fact]
    public void An_allowed_tcp_connection_keeps_its_entry_across_changes_and_a_denied_one_is_revoked()
    {
        using var lab = new PolicyDatapathLab();
        var web = lab.AddContainer("web", WebAddress);
        var db = lab.AddContainer("db", DbAddress);
        var other = lab.AddContainer("oth", OtherAddress);
        var open = new PolicyScenario().Endpoint(WebAddress, "web").Endpoint(DbAddress, "db").Endpoint(OtherAddress, null)
            .Policy("db-policy").Group("web").Group("db", "db-policy")
            .Rule(In("db-policy", "2") with { Protocol = "tcp", FromEndpointGroup = "web", Port = 5432, Action = "allow", Priority = 10 });
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, open.Compile()));

        using var listener = db.Listen(5432);
        using var fromWeb = Connect(web, db, 5432);
        using var fromOther = Connect(other, db, 5432);
        using var atDbFromWeb = listener.Accept();
        using var atDbFromOther = listener.Accept();

        // Contiv's deny-the-rest rule: web's connection stays allowed (and keeps its entry), other's is revoked.
        Assert.True(lab.Datapath.ApplyPolicy(lab.Network, WebDb().Compile()));
        Assert.True(Echoes(atDbFromWeb, fromWeb), "web's connection is still allowed, in both directions");
        Assert.False(Echoes(atDbFromOther, fromOther), "other's connection is denied now, whoever sends");
    }

    private static System.Net.Sockets.Socket Connect(Container from, Container to, int port)
    {
        var client = from.Open(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        client.Connect(new IPEndPoint(to.Address, port));
        return client;
    }

    /// <summary>The server sends first (the direction a flush would have got wrong), then the client answers.</summary>
    private static bool Echoes(System.Net.Sockets.Socket server, System.Net.Sockets.Socket client)
    {
        server.Send("from the server"u8);
        if (!client.Poll(TimeSpan.FromSeconds(1.5), System.Net.Sockets.SelectMode.SelectRead))
        {
            return false;
        }

        client.Receive(new byte[64]);
        client.Send("from the client"u8);
        return server.Poll(TimeSpan.FromSeconds(1.5), System.Net.Sockets.SelectMode.SelectRead) && server.Receive(new byte[64]) > 0;
    }

    private static string Conntrack(PolicyDatapathLab lab)
    {
        lab.ExecInNetwork("conntrack", ["-L"], out var output);
        return output;
    }

    [Fact]
    public void Connections_are_rejudged_on_every_change_that_leaves_a_table_and_never_on_removal()
    {
        var a = PolicyTableEncoder.Encode(WebDb().Compile());
        var b = PolicyTableEncoder.Encode(WebDb().RemoveRule("db-policy", "2").Compile());
        Assert.True(PolicyConntrack.MustRejudge(null, a), "a first table can deny what passed");
        Assert.True(PolicyConntrack.MustRejudge(a, b));
        Assert.True(PolicyConntrack.MustRejudge(b, a), "even a change that looks like it only allows more: membership in deny peers moves too");
        Assert.False(PolicyConntrack.MustRejudge(a, a));
        Assert.False(PolicyConntrack.MustRejudge(a, null), "no table denies nothing");
        Assert.False(PolicyConntrack.MustRejudge(null, null));
    }

    [Fact]
    public void An_entry_is_marked_revoked_exactly_when_the_rules_deny_its_original_direction()
    {
        var ruleset = WebDb().Compile();
        ConntrackEntry Tcp(IPAddress from, IPAddress to, ushort port, uint mark = 0) => new(from, to, 6, 40000, port, mark);
        Assert.Equal(0u, PolicyConntrack.MarkFor(ruleset, Tcp(WebAddress, DbAddress, 5432)));
        Assert.Equal(1u, PolicyConntrack.MarkFor(ruleset, Tcp(OtherAddress, DbAddress, 5432)));
        Assert.Equal(1u, PolicyConntrack.MarkFor(ruleset, Tcp(WebAddress, DbAddress, 5433)));
        Assert.Equal(0u, PolicyConntrack.MarkFor(ruleset, Tcp(DbAddress, WebAddress, 8080)));
        Assert.Equal(0u, PolicyConntrack.MarkFor(ruleset, Tcp(WebAddress, DbAddress, 5432, mark: 1)));
        Assert.Equal(0x11u, PolicyConntrack.MarkFor(ruleset, Tcp(OtherAddress, DbAddress, 5432, mark: 0x10)));
        Assert.Equal(0u, PolicyConntrack.MarkFor(ruleset, new ConntrackEntry(OtherAddress, DbAddress, 1, 7, 0x0800, 0)));
    }
}
