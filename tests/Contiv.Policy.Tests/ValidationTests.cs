using System.Net;

namespace Contiv.Policy.Tests;

public sealed class ValidationTests
{
    private static readonly Catalog Names = new();

    private static RuleConfig Rule(string direction = "in") => new("default", "db-policy", "1", Direction: direction);

    private static string Refusal(RuleConfig rule) => Assert.Throws<PolicyException>(() => rule.Validate(Names)).Message;

    [Fact]
    public void Classic_rules_validate_with_contiv_defaults()
    {
        var deny = (Rule() with { Protocol = "tcp", Action = "deny" }).Validate(Names);
        Assert.Equal(new PolicyRule("default", "db-policy", "1", RuleDirection.In, 1, RulePeer.Any, PolicyRule.Tcp, null, RuleAction.Deny), deny);

        var allow = (Rule() with { Protocol = "tcp", FromEndpointGroup = "web", Port = 5432, Priority = 10 }).Validate(Names);
        Assert.Equal(new GroupPeer("web"), allow.Peer);
        Assert.Equal((ushort)5432, allow.Port);
        Assert.Equal(RuleAction.Allow, allow.Action);
        Assert.Equal("default:db-policy:1", allow.Key);

        var defaults = new RuleConfig("default", "db-policy", "9", Direction: null, Action: null).Validate(Names);
        Assert.Equal((RuleDirection.In, 1, RuleAction.Allow, (byte?)null), (defaults.Direction, defaults.Priority, defaults.Action, defaults.Protocol));
    }

    [Theory]
    [InlineData("tcp", 6)]
    [InlineData("UDP", 17)]
    [InlineData("icmp", 1)]
    [InlineData("0", 0)]
    [InlineData("47", 47)]
    [InlineData("255", 255)]
    public void Protocols_by_name_or_number(string text, int number) =>
        Assert.Equal((byte)number, RuleConfig.ParseProtocol(text));

    [Theory]
    [InlineData("256")]
    [InlineData("-1")]
    [InlineData("sctpx")]
    [InlineData("6.0")]
    public void Bad_protocol_is_one_line(string text) =>
        Assert.Equal($"invalid protocol '{text}': use tcp, udp, icmp or a protocol number 0-255", Refusal(Rule() with { Protocol = text }));

    [Fact]
    public void Contradictory_peers_are_refused_with_contivs_messages()
    {
        Assert.Equal("Can not specify both from EndpointGroup and from ip address", Refusal(Rule() with { FromEndpointGroup = "web", FromIpAddress = "10.0.0.0/8" }));
        Assert.Equal("Can not specify both from network and from ip address", Refusal(Rule() with { FromNetwork = "other-net", FromIpAddress = "10.0.0.1" }));
        Assert.Equal("Can not specify both from network and from EndpointGroup", Refusal(Rule() with { FromNetwork = "other-net", FromEndpointGroup = "web" }));
        Assert.Equal("Can not specify 'to' parameters in incoming rule", Refusal(Rule() with { ToEndpointGroup = "web" }));
        Assert.Equal("Can not specify 'from' parameters in outgoing rule", Refusal(Rule("out") with { FromIpAddress = "1.2.3.4" }));
        Assert.Equal("Can not specify both to-EndpointGroup and to-ip address", Refusal(Rule("out") with { ToEndpointGroup = "web", ToIpAddress = "1.2.3.4" }));
        Assert.Equal("Can not specify both to-network and to-ip address", Refusal(Rule("out") with { ToNetwork = "other-net", ToIpAddress = "1.2.3.4" }));
        Assert.Equal("Can not specify both to-network and to-EndpointGroup", Refusal(Rule("out") with { ToNetwork = "other-net", ToEndpointGroup = "web" }));
        Assert.Equal("Invalid direction for the rule", Refusal(Rule("both")));
    }

    [Fact]
    public void Ranges_and_references_are_checked()
    {
        Assert.Equal("priority 0 is out of range: use 1 to 100", Refusal(Rule() with { Priority = 0 }));
        Assert.Equal("priority 101 is out of range: use 1 to 100", Refusal(Rule() with { Priority = 101 }));
        Assert.Equal("port 65536 is out of range: use 0 (any) to 65535", Refusal(Rule() with { Protocol = "tcp", Port = 65536 }));
        Assert.Equal("port -1 is out of range: use 0 (any) to 65535", Refusal(Rule() with { Port = -1 }));
        Assert.Equal("port 53 needs protocol tcp or udp", Refusal(Rule() with { Port = 53 }));
        Assert.Equal("port 53 needs protocol tcp or udp", Refusal(Rule() with { Protocol = "icmp", Port = 53 }));
        Assert.Equal("invalid action 'reject': use allow or deny", Refusal(Rule() with { Action = "reject" }));
        Assert.Equal("endpoint group not found", Refusal(Rule() with { FromEndpointGroup = "nope" }));
        Assert.Equal("From Network not found", Refusal(Rule() with { FromNetwork = "nope" }));
        Assert.Equal("To Network not found", Refusal(Rule("out") with { ToNetwork = "nope" }));
        Assert.Equal("Policy not found", Refusal(Rule() with { PolicyName = "nope" }));
        Assert.Equal("invalid from-ip-address '10.1.2.300/24': use an IPv4 address or CIDR such as 10.1.2.0/24", Refusal(Rule() with { FromIpAddress = "10.1.2.300/24" }));
        Assert.Equal("invalid to-ip-address 'fe80::/64': use an IPv4 address or CIDR such as 10.1.2.0/24", Refusal(Rule("out") with { ToIpAddress = "fe80::/64" }));
    }

    [Theory]
    [InlineData("10.1.2.0/24", "10.1.2.0/24")]
    [InlineData("10.1.2.7/24", "10.1.2.0/24")]
    [InlineData("10.1.2.7", "10.1.2.7/32")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    public void Cidr_peers_are_normalised(string text, string block) =>
        Assert.Equal(new CidrPeer(IPNetwork.Parse(block)), (Rule() with { FromIpAddress = text }).Validate(Names).Peer);

    [Fact]
    public void Groups_check_name_pool_policies_and_profile()
    {
        var subnet = IPNetwork.Parse("10.1.2.0/24");
        var group = ObjectValidation.ValidateGroup("default", "contiv-net", "db", subnet, "10.1.2.10-10.1.2.50", ["db-policy", "db-policy"], "gold", Names);
        Assert.Equal(new AddressRange(IPAddress.Parse("10.1.2.10"), IPAddress.Parse("10.1.2.50")), group.IpPool);
        Assert.Equal(["db-policy"], group.PolicyNames);
        Assert.True(group.IpPool!.Contains(IPAddress.Parse("10.1.2.50")));
        Assert.False(group.IpPool.Contains(IPAddress.Parse("10.1.2.51")));

        string Refused(Action action) => Assert.Throws<PolicyException>(action).Message;
        Assert.Equal("Network other-net conflicts with the endpointGroup name", Refused(() => ObjectValidation.ValidateGroup("default", "contiv-net", "other-net", subnet, null, [], null, Names)));
        Assert.Equal("Network nope not found", Refused(() => ObjectValidation.ValidateGroup("default", "nope", "g", subnet, null, [], null, Names)));
        Assert.Equal("ip-pool 10.1.2.10-10.1.3.5 is not inside the subnet 10.1.2.0/24 of network contiv-net", Refused(() => ObjectValidation.ValidateGroup("default", "contiv-net", "g", subnet, "10.1.2.10-10.1.3.5", [], null, Names)));
        Assert.Equal("invalid ip-pool '10.1.2.50-10.1.2.10': use a range such as 10.1.2.10-10.1.2.50", Refused(() => ObjectValidation.ParseRange("10.1.2.50-10.1.2.10")));
        Assert.Equal("Policy not found", Refused(() => ObjectValidation.ValidateGroup("default", "contiv-net", "g", subnet, null, ["nope"], null, Names)));
        Assert.Equal("netprofile silver not found", Refused(() => ObjectValidation.ValidateGroup("default", "contiv-net", "g", subnet, null, [], "silver", Names)));
    }

    [Theory]
    [InlineData("10 mbps", 10_000_000L)]
    [InlineData("1 gbps", 1_000_000_000L)]
    [InlineData("500kbps", 500_000L)]
    [InlineData("10M", 10_000_000L)]
    [InlineData("2 Gb", 2_000_000_000L)]
    [InlineData("50Mbps", 50_000_000L)]
    [InlineData("", 0L)]
    public void Bandwidths_like_contivs(string text, long bits) =>
        Assert.Equal(bits, ObjectValidation.ValidateNetProfile("default", "p", text, null, null).BitsPerSecond);

    [Fact]
    public void Netprofile_refusals()
    {
        string Refused(string? bandwidth, int? dscp, int? burst) =>
            Assert.Throws<PolicyException>(() => ObjectValidation.ValidateNetProfile("default", "p", bandwidth, dscp, burst)).Message;
        Assert.Equal("invalid bandwidth '10 tbps': use a number and a unit such as 10 mbps, 500 kbps or 1 gbps", Refused("10 tbps", null, null));
        Assert.Equal("invalid bandwidth '0 mbps': use a number and a unit such as 10 mbps, 500 kbps or 1 gbps", Refused("0 mbps", null, null));
        Assert.Equal("invalid bandwidth '10': use a number and a unit such as 10 mbps, 500 kbps or 1 gbps", Refused("10", null, null));
        Assert.Equal("DSCP 64 is out of range: use 0 to 63", Refused("10 mbps", 64, null));
        Assert.Equal("DSCP -1 is out of range: use 0 to 63", Refused("10 mbps", -1, null));
        Assert.Equal("burst -5 is out of range: use a size in KB, 0 or more", Refused("10 mbps", 10, -5));
        Assert.Equal(46, ObjectValidation.ValidateNetProfile("default", "p", "1 gbps", 46, 64).Dscp);
    }

    [Fact]
    public void Deletes_in_use_are_refused()
    {
        EndpointGroup[] groups = [new("default", "db", "contiv-net", Policies: ["db-policy"], NetProfile: "gold")];
        Assert.Equal("Policy is being used", Assert.Throws<PolicyException>(() => ObjectValidation.CheckPolicyDelete("db-policy", groups)).Message);
        ObjectValidation.CheckPolicyDelete("other", groups);
        Assert.Equal("cannot delete contiv-net has 1 endpoint groups", Assert.Throws<PolicyException>(() => ObjectValidation.CheckNetworkDelete("contiv-net", groups)).Message);
        ObjectValidation.CheckNetworkDelete("other-net", groups);
        Assert.Equal("cannot delete group db: it has 2 active endpoints", Assert.Throws<PolicyException>(() => ObjectValidation.CheckGroupDelete("db", 2)).Message);
        ObjectValidation.CheckGroupDelete("db", 0);
        Assert.Equal("netprofile gold is used by group db", Assert.Throws<PolicyException>(() => ObjectValidation.CheckNetProfileDelete("gold", groups)).Message);
    }
}
