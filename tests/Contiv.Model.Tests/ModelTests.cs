using Xunit;

namespace Contiv.Model.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("default", "contiv-net", "contiv-net")]
    [InlineData("blue", "contiv-net", "contiv-net/blue")]
    public void Docker_network_names_follow_contiv(string tenant, string network, string docker)
    {
        Assert.Equal(docker, Names.DockerNetworkName(tenant, network));
        Assert.Equal((tenant, network), Names.ParseDockerNetworkName(docker));
    }

    [Fact]
    public void Ids_and_keys_round_trip()
    {
        Assert.Equal("contiv-net.default", Names.NetworkId("default", "contiv-net"));
        Assert.Equal(("blue", "my.net"), Names.ParseNetworkId("my.net.blue"));
        Assert.Equal(("blue", "contiv-net"), Names.ParseNetworkKey("blue:contiv-net"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/name")]
    [InlineData("-leading")]
    [InlineData("trailing-")]
    [InlineData("colon:name")]
    public void Bad_network_names_are_refused(string name) =>
        Assert.Equal(ErrorKind.Invalid, Assert.Throws<ContivException>(() => Names.ValidateNetwork(name)).Kind);

    [Fact]
    public void Tenant_names_cannot_contain_dots() => Assert.Throws<ContivException>(() => Names.ValidateTenant("a.b"));
}

public sealed class SubnetTests
{
    [Fact]
    public void Parses_cidr()
    {
        var s = Ipv4Subnet.Parse("10.1.2.0/24");
        Assert.Equal((256, 1, 254, "10.1.2.0/24"), (s.Size, s.FirstHostIndex, s.LastHostIndex, s.Cidr));
    }

    [Fact]
    public void Parses_contiv_range_form()
    {
        var s = Ipv4Subnet.Parse("10.1.1.10-20/24");
        Assert.Equal((10, 20, "10.1.1.0/24"), (s.FirstHostIndex, s.LastHostIndex, s.Cidr));
    }

    [Theory]
    [InlineData("10.1.2.0", "CIDR")]
    [InlineData("10.1.2.0/33", "prefix length")]
    [InlineData("10.1.2.5/24", "host bits are set; did you mean 10.1.2.0/24?")]
    [InlineData("300.1.2.0/24", "not an IPv4 address")]
    [InlineData("10.1.2.0/8", "prefix length")]
    [InlineData("10.1.1.20-10/24", "range")]
    [InlineData("", "subnet is required")]
    public void Bad_subnets_are_explained(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<ContivException>(() => Ipv4Subnet.Parse(text)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("10.1.3.1", "not inside subnet")]
    [InlineData("10.1.2.0", "network address")]
    [InlineData("10.1.2.255", "broadcast address")]
    [InlineData("bogus", "not an IPv4 address")]
    public void Gateways_must_be_host_addresses_in_the_subnet(string gateway, string expected) =>
        Assert.Contains(expected, Assert.Throws<ContivException>(() => Ipv4Subnet.Parse("10.1.2.0/24").ParseHostIndex(gateway, "gateway")).Message, StringComparison.Ordinal);
}

public sealed class RangeTextTests
{
    [Fact]
    public void Formats_runs_like_contiv() =>
        Assert.Equal("1-3, 5, 7-8", RangeText.Format([1, 2, 3, 5, 7, 8], v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Number_sets_round_trip()
    {
        var set = RangeText.ParseNumberSet("1-3,112");
        Assert.Equal([1, 2, 3, 112], set);
        Assert.Equal("1-3,112", RangeText.FormatNumbers(set));
        Assert.Empty(RangeText.ParseNumberSet(null));
    }

    [Theory]
    [InlineData("0-10")]
    [InlineData("10-5")]
    [InlineData("a-b")]
    [InlineData("1-5000")]
    public void Bad_vlan_ranges_are_refused(string text) =>
        Assert.Throws<ContivException>(() => RangeText.ParseNumberRanges(text, 1, 4094, "vlan-range"));
}

public sealed class MacTests
{
    [Fact]
    public void Mac_is_derived_from_ipv4()
    {
        Assert.True(Ipv4Subnet.TryParseAddress("10.1.2.2", out var a));
        Assert.Equal("02:02:0a:01:02:02", MacAddress.FromIPv4(a).ToString());
    }
}

public sealed class NetworkRulesTests
{
    [Fact]
    public void Normalize_fills_defaults_and_links()
    {
        var n = new Network { TenantName = "default", NetworkName = "contiv-net", Subnet = "10.1.2.0/24", Gateway = "" };
        NetworkRules.Normalize(n);
        Assert.Equal(("default:contiv-net", "vxlan", "data", null), (n.Key, n.Encap, n.NwType, n.Gateway));
        Assert.Equal("default", n.Links!.Tenant!.Key);
    }

    [Theory]
    [InlineData("gre", null, null, "invalid encap")]
    [InlineData("vxlan", "2001:db8::/64", "2001:db9::1", "not inside subnet")]
    [InlineData("vxlan", "2001:db8::1/64", null, "invalid IPv6 subnet")]
    [InlineData("vxlan", null, "2001:db8::1", "needs an IPv6 subnet")]
    public void Normalize_rejects_bad_fields(string encap, string? v6, string? gw6, string expected)
    {
        var n = new Network { TenantName = "default", NetworkName = "n", Subnet = "10.1.2.0/24", Encap = encap, Ipv6Subnet = v6, Ipv6Gateway = gw6 };
        Assert.Contains(expected, Assert.Throws<ContivException>(() => NetworkRules.Normalize(n)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tag_allocation_takes_lowest_free_in_range()
    {
        var global = new GlobalSettings { Vxlans = "100-102,200" };
        Assert.Equal(100, NetworkRules.AllocateTag(global, "vxlan", 0, new HashSet<int>()));
        Assert.Equal(200, NetworkRules.AllocateTag(global, "vxlan", 0, new HashSet<int> { 100, 101, 102 }));
        Assert.Throws<ContivException>(() => NetworkRules.AllocateTag(global, "vxlan", 0, new HashSet<int> { 100, 101, 102, 200 }));
    }
}
