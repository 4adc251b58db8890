using System.Net;
using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.TestSupport;
using Xunit;
using B = Contiv.NetPlugin.Tests.DockerBodies;

namespace Contiv.NetPlugin.Tests;

/// <summary>
/// A container started on a group's Docker network (<c>docker run --net=db</c>): its address comes
/// from the group's ipPool, its endpoint record names the group, and the network's rules on this
/// host include it before CreateEndpoint returns, i.e. before Docker starts the container.
/// </summary>
public sealed class GroupEndpointTests : IAsyncLifetime
{
    private const string GroupNetworkId = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
    private readonly TempDirectory _directory = TempDirectory.Create("cvgrp-");

    private PluginHarness Plugin { get; set; } = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Plugin = await PluginHarness.StartAsync(_directory);
        await Plugin.Control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = B.Pool }, Ct);
        await Plugin.Control.CreateGroupAsync(new EndpointGroupConfig { TenantName = "default", NetworkName = "contiv-net", GroupName = "web" }, Ct);
        await Plugin.Control.CreatePolicyAsync(new PolicyConfig { TenantName = "default", PolicyName = "db-policy" }, Ct);
        await Plugin.Control.AddRuleAsync(new RuleObject { TenantName = "default", PolicyName = "db-policy", RuleId = "1", Direction = "in", Protocol = "tcp", Action = "deny", Priority = 1 }, Ct);
        await Plugin.Control.AddRuleAsync(new RuleObject { TenantName = "default", PolicyName = "db-policy", RuleId = "2", Direction = "in", Protocol = "tcp", FromEndpointGroup = "web", Port = 5432, Action = "allow", Priority = 10 }, Ct);
        await Plugin.Control.CreateGroupAsync(
            new EndpointGroupConfig { TenantName = "default", NetworkName = "contiv-net", GroupName = "db", IpPool = "10.1.2.100-10.1.2.110", Policies = ["db-policy"] }, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Plugin.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_db_container_gets_an_ipPool_address_names_its_group_and_is_in_the_rules_before_it_starts()
    {
        // What dockerd sends for the Docker network the agent created for group db.
        var pool = await Plugin.OkAsync("/IpamDriver.RequestPool", """{"AddressSpace": "contiv-local", "Pool": "10.1.2.0/24", "SubPool": "", "Options": {"network": "contiv-net", "tenant": "default", "group": "db"}, "V6": false}""");
        var poolId = pool.GetProperty("PoolID").GetString()!;
        Assert.Equal("contiv-net.default+db|10.1.2.0/24", poolId);
        var address = (await Plugin.OkAsync("/IpamDriver.RequestAddress", B.RequestAddress(poolId))).GetProperty("Address").GetString();
        Assert.Equal("10.1.2.100/24", address);

        var createNetwork = $$$"""{"NetworkID": "{{{GroupNetworkId}}}", "Options": {"com.docker.network.generic": {"encap": "vxlan", "pkt-tag": "1", "tenant": "default", "network": "contiv-net", "group": "db"}}, "IPv4Data": [{"AddressSpace": "contiv-local", "Gateway": "10.1.2.0/24", "Pool": "10.1.2.0/24"}], "IPv6Data": []}""";
        await Plugin.OkAsync("/NetworkDriver.CreateNetwork", createNetwork);
        Assert.Equal(new DockerNetworkBinding("contiv-net.default", "vxlan", 1, "db"), await Plugin.Map.FindAsync(GroupNetworkId, Ct));

        await Plugin.OkAsync("/NetworkDriver.CreateEndpoint", B.CreateEndpoint(address!, GroupNetworkId));
        var endpoint = await Plugin.Control.GetEndpointAsync("contiv-net.default", B.EndpointId, Ct);
        Assert.Equal(("db", "db:default"), (endpoint!.ServiceName, endpoint.EndpointGroupKey));

        // The rules of contiv-net on this host already hold the new address in db's set.
        var ruleset = Plugin.Datapath.Policies.Single(p => p.Key.NetworkId == "contiv-net.default").Value;
        var members = ruleset.Sets.Single(s => s.Name == "group-db");
        Assert.Equal([IPAddress.Parse("10.1.2.100")], members.Addresses);
        Assert.Contains(ruleset.Chains, c => c.Name == "in-db" && c.Rules.Count == 2);

        // A live endpoint keeps its group from being deleted.
        var refused = await Assert.ThrowsAsync<ContivException>(() => Plugin.Control.DeleteGroupAsync("default", "db", Ct));
        Assert.Equal(ErrorKind.Conflict, refused.Kind);
    }

    [Fact]
    public async Task A_docker_network_for_a_group_that_does_not_exist_is_refused()
    {
        var createNetwork = $$$"""{"NetworkID": "{{{GroupNetworkId}}}", "Options": {"com.docker.network.generic": {"encap": "vxlan", "pkt-tag": "1", "tenant": "default", "network": "contiv-net", "group": "nope"}}, "IPv4Data": [{"AddressSpace": "contiv-local", "Gateway": "10.1.2.0/24", "Pool": "10.1.2.0/24"}], "IPv6Data": []}""";
        var reply = await Plugin.PostAsync("/NetworkDriver.CreateNetwork", createNetwork);
        Assert.Contains("nope", reply.Err, StringComparison.Ordinal);
        Assert.Null(await Plugin.Map.FindAsync(GroupNetworkId, Ct));
    }
}
