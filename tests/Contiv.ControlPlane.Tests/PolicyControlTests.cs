using Contiv.Model;
using Contiv.Policy;
using Xunit;

namespace Contiv.ControlPlane.Tests;

/// <summary>Endpoint groups, policies, rules and netprofiles in the control plane: address pools, refusals, reads.</summary>
public sealed class PolicyControlTests : IAsyncDisposable
{
    private readonly InMemoryKeyValueStore _store = new();
    private readonly ContivControl _control;

    public PolicyControlTests() => _control = new ContivControl(_store);

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>default:contiv-net 10.1.2.0/24 gateway .1, policy db-policy, netprofile gold.</summary>
    private async Task<ContivControl> SetUpAsync()
    {
        await _control.InitializeAsync(ct: Ct);
        await _control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = "10.1.2.0/24", Gateway = "10.1.2.1", Encap = "vxlan" }, Ct);
        await _control.CreatePolicyAsync(new PolicyConfig { TenantName = "default", PolicyName = "db-policy" }, Ct);
        await _control.CreateNetProfileAsync(new NetProfileConfig { TenantName = "default", ProfileName = "gold", Bandwidth = "10 mbps", Dscp = 10 }, Ct);
        return _control;
    }

    private static EndpointGroupConfig Group(string name, string? pool = null, string network = "contiv-net", string tenant = "default", List<string>? policies = null, string? profile = null) =>
        new() { TenantName = tenant, GroupName = name, NetworkName = network, IpPool = pool, Policies = policies, NetProfile = profile };

    private static RuleObject Rule(string id, Action<RuleObject>? set = null)
    {
        var rule = new RuleObject { TenantName = "default", PolicyName = "db-policy", RuleId = id };
        set?.Invoke(rule);
        return rule;
    }

    /// <summary>Every key and every address pool (bits and version): what a refusal must leave as it was.</summary>
    private async Task<string> StateAsync()
    {
        var keys = await _store.ListAsync(string.Empty, Ct);
        var text = string.Join('\n', keys.Select(kv => $"{kv.Key}={kv.Value}"));
        foreach (var name in _store.PoolNames.Order(StringComparer.Ordinal))
        {
            var pool = await _store.GetPoolAsync(name, Ct);
            text += $"\n{name}@{pool?.Version}:{Convert.ToBase64String(pool?.Bits ?? [])}";
        }

        return text;
    }

    [Fact]
    public async Task A_group_with_an_ip_pool_hands_out_only_its_range_and_the_network_never_takes_from_it()
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web", "10.1.2.10-10.1.2.12"), Ct);

        var groupAddresses = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            groupAddresses.Add((await control.AllocateAddressAsync("contiv-net.default", null, "node1", "web", Ct)).Address);
        }

        Assert.Equal(["10.1.2.10", "10.1.2.11", "10.1.2.12"], groupAddresses);
        var exhausted = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync("contiv-net.default", null, null, "web", Ct));
        Assert.Equal("auto allocation failed - address exhaustion in ip-pool 10.1.2.10-10.1.2.12 of endpoint group default:web", exhausted.Message);

        // The network's own allocations skip the range: .2 to .9, then .13 on.
        var networkAddresses = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            networkAddresses.Add((await control.AllocateAddressAsync("contiv-net.default", null, Ct)).Address);
        }

        Assert.Equal(Enumerable.Range(2, 8).Concat(Enumerable.Range(13, 4)).Select(i => $"10.1.2.{i}"), networkAddresses);
        var taken = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync("contiv-net.default", "10.1.2.11", Ct));
        Assert.Contains("already in use", taken.Message, StringComparison.Ordinal);

        // The lease went with the address; release finds the group pool by address.
        Assert.Contains(await control.ListLeasesAsync("node1", Ct), l => l.Address == "10.1.2.11");
        Assert.True(await control.ReleaseAddressAsync("contiv-net.default", "10.1.2.11", Ct));
        Assert.DoesNotContain(await control.ListLeasesAsync("node1", Ct), l => l.Address == "10.1.2.11");
        Assert.False(await control.ReleaseAddressAsync("contiv-net.default", "10.1.2.11", Ct));
        Assert.Equal("10.1.2.11", (await control.AllocateAddressAsync("contiv-net.default", null, null, "web", Ct)).Address);

        var inspect = await control.InspectGroupAsync("default", "web", Ct);
        Assert.Equal(("10.1.2.10-10.1.2.12", (string?)null), (inspect.Oper.AllocatedIpAddresses, inspect.Oper.AvailableIpAddresses));
        var network = await control.InspectNetworkAsync("default", "contiv-net", Ct);
        Assert.Equal("10.1.2.1-10.1.2.16", network.Oper.AllocatedIpAddresses);
        Assert.Equal(15, network.Oper.AllocatedAddressesCount);
    }

    [Fact]
    public async Task Reserve_and_requested_addresses_of_a_group_range_use_the_group_pool()
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web", "10.1.2.10-10.1.2.20"), Ct);

        Assert.True(await control.ReserveAddressAsync("contiv-net.default", "10.1.2.15", Ct));
        Assert.False(await control.ReserveAddressAsync("contiv-net.default", "10.1.2.15", Ct));
        Assert.Equal("10.1.2.16", (await control.AllocateAddressAsync("contiv-net.default", "10.1.2.16", null, "web", Ct)).Address);
        var outside = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync("contiv-net.default", "10.1.2.30", null, "web", Ct));
        Assert.Equal("address 10.1.2.30 is outside the ip-pool 10.1.2.10-10.1.2.20 of endpoint group default:web", outside.Message);
        var lease = await control.AllocateAddressAsync("contiv-net.default", null, null, "web", Ct);
        Assert.Equal(("10.1.2.10", 24, "02:02:0a:01:02:0a"), (lease.Address, lease.PrefixLength, lease.MacAddress));

        var inspect = await control.InspectGroupAsync("default", "web", Ct);
        Assert.Equal("10.1.2.10, 10.1.2.15-10.1.2.16", inspect.Oper.AllocatedIpAddresses);
        Assert.Equal("10.1.2.11-10.1.2.14, 10.1.2.17-10.1.2.20", inspect.Oper.AvailableIpAddresses);
    }

    [Fact]
    public async Task A_group_without_a_pool_allocates_like_its_network_and_unknown_groups_are_refused()
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("db"), Ct);
        Assert.Equal("10.1.2.2", (await control.AllocateAddressAsync("contiv-net.default", null, null, "db", Ct)).Address);
        var unknown = await Assert.ThrowsAsync<ContivException>(() => control.AllocateAddressAsync("contiv-net.default", null, null, "nope", Ct));
        Assert.Equal((ErrorKind.NotFound, "endpoint group default:nope does not exist"), (unknown.Kind, unknown.Message));
    }

    [Fact]
    public async Task Deleting_a_group_gives_its_range_back_to_the_network()
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web", "10.1.2.2-10.1.2.3"), Ct);
        var inUse = await control.AllocateAddressAsync("contiv-net.default", null, null, "web", Ct);

        var before = await StateAsync();
        var refused = await Assert.ThrowsAsync<ContivException>(() => control.DeleteGroupAsync("default", "web", Ct));
        Assert.Equal("cannot delete group web: 1 address(es) of its ip-pool are in use (10.1.2.2); remove the containers first", refused.Message);
        Assert.Equal(before, await StateAsync());

        await control.ReleaseAddressAsync("contiv-net.default", inUse.Address, Ct);
        await control.DeleteGroupAsync("default", "web", Ct);
        Assert.Null(await control.FindGroupAsync("default", "web", Ct));
        Assert.Equal("10.1.2.2", (await control.AllocateAddressAsync("contiv-net.default", null, Ct)).Address);
        Assert.Equal("10.1.2.3", (await control.AllocateAddressAsync("contiv-net.default", null, Ct)).Address);

        // The range is free again: a new group can take it (minus what the network now holds).
        var overlap = await Assert.ThrowsAsync<ContivException>(() => control.CreateGroupAsync(Group("web", "10.1.2.3-10.1.2.5"), Ct));
        Assert.Equal("ip-pool 10.1.2.3-10.1.2.5 of endpoint group default:web overlaps addresses already in use in network default:contiv-net: 10.1.2.3", overlap.Message);
        await control.CreateGroupAsync(Group("web", "10.1.2.4-10.1.2.5"), Ct);
    }

    public static TheoryData<string, string> GroupRefusals => new()
    {
        { "duplicate", "endpoint group default:web already exists" },
        { "unknown-tenant", "tenant nope does not exist" },
        { "unknown-network", "network default:nope does not exist" },
        { "unknown-policy", "policy default:nope does not exist" },
        { "unknown-netprofile", "netprofile default:nope does not exist" },
        { "pool-outside", "ip-pool 10.1.3.1-10.1.3.5 is not inside the subnet 10.1.2.0/24 of network contiv-net" },
        { "pool-gateway", "ip-pool 10.1.2.1-10.1.2.5 of endpoint group default:app overlaps addresses already in use in network default:contiv-net: 10.1.2.1" },
        { "pool-overlap", "ip-pool 10.1.2.40-10.1.2.60 of endpoint group default:app overlaps addresses already in use in network default:contiv-net: 10.1.2.50-10.1.2.60" },
        { "bad-pool", "invalid ip-pool '10.1.2.9-10.1.2.5': use a range such as 10.1.2.10-10.1.2.50" },
        { "network-name", "Network contiv-net conflicts with the endpointGroup name" },
        { "bad-name", "invalid group name \"a:b\": use letters, digits, '-', '_' and '.', starting and ending with a letter or digit" },
    };

    [Theory]
    [MemberData(nameof(GroupRefusals))]
    public async Task Refused_group_creates_change_nothing(string what, string message)
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web", "10.1.2.50-10.1.2.60"), Ct);
        var group = what switch
        {
            "duplicate" => Group("web"),
            "unknown-tenant" => Group("app", tenant: "nope"),
            "unknown-network" => Group("app", network: "nope"),
            "unknown-policy" => Group("app", policies: ["db-policy", "nope"]),
            "unknown-netprofile" => Group("app", profile: "nope"),
            "pool-outside" => Group("app", "10.1.3.1-10.1.3.5"),
            "pool-gateway" => Group("app", "10.1.2.1-10.1.2.5"),
            "pool-overlap" => Group("app", "10.1.2.40-10.1.2.60"),
            "bad-pool" => Group("app", "10.1.2.9-10.1.2.5"),
            "network-name" => Group("contiv-net"),
            _ => Group("a:b"),
        };

        var before = await StateAsync();
        var refused = await Assert.ThrowsAsync<ContivException>(() => control.CreateGroupAsync(group, Ct));
        Assert.Equal(message, refused.Message);
        Assert.Equal(before, await StateAsync());
    }

    public static TheoryData<string, string> RuleRefusals => new()
    {
        { "group-and-ip", "Can not specify both from EndpointGroup and from ip address" },
        { "to-in-incoming", "Can not specify 'to' parameters in incoming rule" },
        { "unknown-group", "endpoint group not found" },
        { "unknown-network", "To Network not found" },
        { "unknown-policy", "policy default:nope does not exist" },
        { "priority", "priority 101 is out of range: use 1 to 100" },
        { "port", "port 70000 is out of range: use 0 (any) to 65535" },
        { "protocol", "invalid protocol 'tcpx': use tcp, udp, icmp or a protocol number 0-255" },
        { "direction", "Invalid direction for the rule" },
        { "action", "invalid action 'drop': use allow or deny" },
        { "duplicate", "rule default:db-policy:1 already exists" },
        { "port-without-protocol", "port 80 needs protocol tcp or udp" },
    };

    [Theory]
    [MemberData(nameof(RuleRefusals))]
    public async Task Refused_rules_change_nothing(string what, string message)
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web"), Ct);
        await control.AddRuleAsync(Rule("1", r => (r.Protocol, r.Action) = ("tcp", "deny")), Ct);
        var rule = what switch
        {
            "group-and-ip" => Rule("2", r => (r.FromEndpointGroup, r.FromIpAddress) = ("web", "10.1.0.0/16")),
            "to-in-incoming" => Rule("2", r => r.ToEndpointGroup = "web"),
            "unknown-group" => Rule("2", r => r.FromEndpointGroup = "nope"),
            "unknown-network" => Rule("2", r => (r.Direction, r.ToNetwork) = ("out", "nope")),
            "unknown-policy" => Rule("2", r => r.PolicyName = "nope"),
            "priority" => Rule("2", r => r.Priority = 101),
            "port" => Rule("2", r => (r.Protocol, r.Port) = ("tcp", 70000)),
            "protocol" => Rule("2", r => r.Protocol = "tcpx"),
            "direction" => Rule("2", r => r.Direction = "sideways"),
            "action" => Rule("2", r => r.Action = "drop"),
            "duplicate" => Rule("1"),
            _ => Rule("2", r => r.Port = 80),
        };

        var before = await StateAsync();
        var refused = await Assert.ThrowsAsync<ContivException>(() => control.AddRuleAsync(rule, Ct));
        Assert.Equal(message, refused.Message);
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Objects_in_use_cannot_be_deleted_and_refusals_change_nothing()
    {
        var control = await SetUpAsync();
        await control.CreateTenantAsync(new Tenant { TenantName = "blue" }, Ct);
        await control.CreatePolicyAsync(new PolicyConfig { TenantName = "blue", PolicyName = "p" }, Ct);
        await control.CreateGroupAsync(Group("web"), Ct);
        await control.CreateGroupAsync(Group("db", "10.1.2.100-10.1.2.110", policies: ["db-policy"], profile: "gold"), Ct);
        await control.AddRuleAsync(Rule("2", r => (r.FromEndpointGroup, r.Protocol, r.Port) = ("web", "tcp", 5432)), Ct);
        await control.PutEndpointAsync(new EndpointOper { EndpointId = "ep1", Network = "contiv-net.default", IpAddress = ["10.1.2.100", ""], EndpointGroupKey = "db:default", ServiceName = "db" }, Ct);

        var before = await StateAsync();
        async Task RefusedAsync(Func<Task> change, ErrorKind kind, string message)
        {
            var refused = await Assert.ThrowsAsync<ContivException>(change);
            Assert.Equal((kind, message), (refused.Kind, refused.Message));
            Assert.Equal(before, await StateAsync());
        }

        await RefusedAsync(() => control.DeletePolicyAsync("default", "db-policy", Ct), ErrorKind.Conflict, "Policy is being used: policy default:db-policy is attached to endpoint group default:db");
        await RefusedAsync(() => control.DeleteNetProfileAsync("default", "gold", Ct), ErrorKind.Conflict, "netprofile default:gold is used by endpoint group default:db");
        await RefusedAsync(() => control.DeleteGroupAsync("default", "db", Ct), ErrorKind.Conflict, "cannot delete group db: it has 1 active endpoints");
        await RefusedAsync(() => control.DeleteGroupAsync("default", "web", Ct), ErrorKind.Conflict, "endpoint group default:web is used by rule default:db-policy:2; remove the rule first");
        await RefusedAsync(() => control.DeleteTenantAsync("blue", Ct), ErrorKind.Conflict, "tenant blue has 1 policy(s) (p); delete them first");
        await RefusedAsync(() => control.DeleteGroupAsync("default", "nope", Ct), ErrorKind.NotFound, "endpoint group default:nope does not exist");
        await RefusedAsync(() => control.DeleteRuleAsync("default", "db-policy", "9", Ct), ErrorKind.NotFound, "rule default:db-policy:9 does not exist");
        await RefusedAsync(() => control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "web", Subnet = "10.1.9.0/24", Encap = "vxlan" }, Ct), ErrorKind.Conflict, "Network web conflicts with the endpointGroup name");
        await RefusedAsync(() => control.UpdateGroupAsync(Group("db", "10.1.2.100-10.1.2.120"), Ct), ErrorKind.Invalid, "Cant change ipPool of endpoint group default:db after it is created; delete and re-create it");
        await RefusedAsync(() => control.UpdateGroupAsync(Group("web", policies: ["nope"]), Ct), ErrorKind.NotFound, "policy default:nope does not exist");
        await RefusedAsync(() => control.UpdateNetProfileAsync(new NetProfileConfig { TenantName = "default", ProfileName = "gold", Dscp = 64 }, Ct), ErrorKind.Invalid, "DSCP 64 is out of range: use 0 to 63");
        await RefusedAsync(() => control.CreateNetProfileAsync(new NetProfileConfig { TenantName = "default", ProfileName = "x", Bandwidth = "fast" }, Ct), ErrorKind.Invalid, "invalid bandwidth 'fast': use a number and a unit such as 10 mbps, 500 kbps or 1 gbps");

        // Once unused, each goes.
        await control.DeleteEndpointAsync("contiv-net.default", "ep1", Ct);
        before = await StateAsync();
        await RefusedAsync(() => control.DeleteNetworkAsync("default", "contiv-net", Ct), ErrorKind.Conflict, "cannot delete contiv-net has 2 endpoint groups");
        await control.UpdateGroupAsync(Group("db", policies: [], profile: null), Ct);
        await control.DeletePolicyAsync("default", "db-policy", Ct);
        Assert.Empty(await control.ListRulesAsync("default", null, Ct));
        await control.DeleteNetProfileAsync("default", "gold", Ct);
        await control.DeleteGroupAsync("default", "db", Ct);
        await control.DeleteGroupAsync("default", "web", Ct);
        await control.DeleteNetworkAsync("default", "contiv-net", Ct);
        await control.DeletePolicyAsync("blue", "p", Ct);
        await control.DeleteTenantAsync("blue", Ct);
        Assert.Empty(_store.PoolNames);
    }

    [Fact]
    public async Task Update_attaches_and_detaches_policies_and_the_profile()
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web"), Ct);
        var updated = await control.UpdateGroupAsync(new EndpointGroupConfig { TenantName = "default", GroupName = "web", Policies = ["db-policy"], NetProfile = "gold" }, Ct);
        Assert.Equal(["db-policy"], updated.Policies!);
        Assert.Equal(("gold", "contiv-net"), (updated.NetProfile, updated.NetworkName));
        Assert.Equal(updated.Policies, (await control.GetGroupAsync("default", "web", Ct)).Policies);
        var detached = await control.UpdateGroupAsync(new EndpointGroupConfig { TenantName = "default", GroupName = "web" }, Ct);
        Assert.Equal(((List<string>?)null, (string?)null), (detached.Policies, detached.NetProfile));
    }

    [Fact]
    public async Task Tenant_policy_state_holds_groups_rules_endpoints_and_subnets()
    {
        var control = await SetUpAsync();
        await control.CreateGroupAsync(Group("web"), Ct);
        await control.CreateGroupAsync(Group("db", "10.1.2.100-10.1.2.110", policies: ["db-policy"], profile: "gold"), Ct);
        await control.AddRuleAsync(Rule("1", r => (r.Protocol, r.Action) = ("tcp", "deny")), Ct);
        await control.AddRuleAsync(Rule("2", r => (r.FromEndpointGroup, r.Protocol, r.Port, r.Priority) = ("web", "tcp", 5432, 10)), Ct);
        await control.PutEndpointAsync(new EndpointOper { EndpointId = "ep1", Network = "contiv-net.default", IpAddress = ["10.1.2.100", ""], EndpointGroupKey = "db:default", ServiceName = "db" }, Ct);
        await control.PutEndpointAsync(new EndpointOper { EndpointId = "ep2", Network = "contiv-net.default", IpAddress = ["10.1.2.2", ""], EndpointGroupKey = "web:default", ServiceName = "web" }, Ct);
        await control.PutEndpointAsync(new EndpointOper { EndpointId = "ep3", Network = "contiv-net.default", IpAddress = ["10.1.2.3", ""] }, Ct);

        var state = await control.ReadTenantPolicyAsync("default", Ct);
        Assert.Equal(["db", "web"], state.Groups.Select(g => g.Name).Order(StringComparer.Ordinal));
        Assert.Equal("10.1.2.100-10.1.2.110", state.Groups.Single(g => g.Name == "db").IpPool!.ToString());
        Assert.Equal(
            [
                new PolicyRule("default", "db-policy", "1", RuleDirection.In, 1, RulePeer.Any, PolicyRule.Tcp, null, RuleAction.Deny),
                new PolicyRule("default", "db-policy", "2", RuleDirection.In, 10, new GroupPeer("web"), PolicyRule.Tcp, 5432, RuleAction.Allow),
            ],
            state.Rules);
        Assert.Equal(
            [("10.1.2.100", "contiv-net", "db"), ("10.1.2.2", "contiv-net", "web"), ("10.1.2.3", "contiv-net", (string?)null)],
            state.Endpoints.Select(e => (e.Address.ToString(), e.Network, e.Group)));
        Assert.Equal("10.1.2.0/24", state.NetworkSubnets["contiv-net"].ToString());

        // The compiler takes it as it is.
        Assert.NotNull(PolicyCompiler.Compile(state, "contiv-net"));
        var profiles = await control.ReadNetProfilesAsync("default", Ct);
        Assert.Equal((10_000_000L, (int?)10), (profiles["gold"].BitsPerSecond, profiles["gold"].Dscp));

        var tenant = (await control.InspectTenantAsync("default", Ct)).Oper;
        Assert.Equal((2, 1, 1, 1, 3), (tenant.EndpointGroups, tenant.Networks, tenant.Policies, tenant.TotalNetprofiles, tenant.TotalEndpoints));

        var inspect = await control.InspectPolicyAsync("default", "db-policy", Ct);
        Assert.Equal((1, "ep1"), (inspect.Oper.NumEndpoints, inspect.Oper.Endpoints!.Single().EndpointId));
        var group = await control.InspectGroupAsync("default", "web", Ct);
        Assert.Equal((1, "ep2"), (group.Oper.NumEndpoints, group.Oper.Endpoints!.Single().EndpointId));
    }

    [Fact]
    public async Task Two_concurrent_creates_over_one_range_let_exactly_one_group_have_it()
    {
        for (var round = 0; round < 20; round++)
        {
            var control = new ContivControl(new InMemoryKeyValueStore());
            await control.InitializeAsync(ct: Ct);
            await control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "n", Subnet = "10.1.2.0/24", Encap = "vxlan" }, Ct);
            var results = await Task.WhenAll(
                Attempt(control.CreateGroupAsync(Group("a", "10.1.2.10-10.1.2.20", network: "n"), Ct)),
                Attempt(control.CreateGroupAsync(Group("b", "10.1.2.15-10.1.2.25", network: "n"), Ct)),
                Attempt(control.AllocateAddressAsync("n.default", "10.1.2.17", Ct)));
            Assert.Equal(1, results.Count(ok => ok));
        }

        static async Task<bool> Attempt<T>(Task<T> task)
        {
            try
            {
                await task;
                return true;
            }
            catch (ContivException)
            {
                return false;
            }
        }
    }
}
