using System.Text.RegularExpressions;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// Every refused netctl command exits non-zero with exactly one line on stderr that says what is
/// wrong, and changes nothing.
/// </summary>
public sealed class NetCtlErrorTests(NetMasterFixture fixture) : IClassFixture<NetMasterFixture>
{
    /// <summary>Arguments, a fragment the error line must contain, and whether the server is asked at all.</summary>
    public static TheoryData<string[], string, bool> Refusals => new()
    {
        // Bad CIDRs are caught by netctl itself (nothing printed, nothing sent).
        { ["net", "create", "-s", "10.1.2.0/33", "n1"], "prefix length must be between /14 and /30", false },
        { ["net", "create", "-s", "10.1.2/24", "n1"], "\"10.1.2\" is not an IPv4 address", false },
        { ["net", "create", "-s", "300.1.2.0/24", "n1"], "is not an IPv4 address", false },
        { ["net", "create", "-s", "10.1.2.0", "n1"], "expected CIDR notation", false },
        { ["net", "create", "-s", "10.1.2.5/24", "n1"], "host bits are set; did you mean 10.1.2.0/24?", false },
        { ["net", "create", "n1"], "subnet is required", false },
        { ["net", "create", "-s", "10.1.1.30-20/24", "n1"], "invalid subnet range", false },

        // Gateways.
        { ["net", "create", "-s", "10.1.2.0/24", "-g", "10.1.3.1", "n1"], "gateway 10.1.3.1 is not inside subnet 10.1.2.0/24", false },
        { ["net", "create", "-s", "10.1.2.0/24", "-g", "10.1.2.255", "n1"], "is the broadcast address", false },
        { ["net", "create", "-s", "10.1.2.0/24", "-g", "10.1.2.0", "n1"], "is the network address", false },
        { ["net", "create", "-s", "10.1.2.0/24", "-g", "gw", "n1"], "invalid gateway \"gw\"", false },
        { ["net", "create", "-s", "10.1.2.0/24", "--gatewayv6", "2001:db8::1", "n1"], "an IPv6 gateway needs an IPv6 subnet", false },
        { ["net", "create", "-s", "10.1.2.0/24", "--subnetv6", "2001:db8::/64", "--gatewayv6", "2001:db9::1", "n1"], "is not inside subnet 2001:db8::/64", false },
        { ["net", "create", "-s", "10.1.2.0/24", "--subnetv6", "2001:db8::1/64", "n1"], "invalid IPv6 subnet", false },

        // Tags: range is the server's (global settings), so these reach it.
        { ["net", "create", "-e", "vlan", "-p", "4095", "-s", "10.1.9.0/24", "n1"], "pkt-tag 4095 is outside the configured vlan range 1-4094", true },
        { ["net", "create", "-p", "10001", "-s", "10.1.9.0/24", "n1"], "pkt-tag 10001 is outside the configured vxlan VNI range 1-10000", true },
        { ["net", "create", "--pkt-tag=-1", "-s", "10.1.9.0/24", "n1"], "must be positive", false },
        { ["net", "create", "-e", "vlan", "-p", "112", "-s", "10.1.9.0/24", "n1"], "pkt-tag 112 is already used by another vlan network", true },
        { ["net", "create", "-p", "2", "-s", "10.1.9.0/24", "n1"], "pkt-tag 2 is already used by another vxlan network", true },
        { ["net", "create", "-e", "vlan2", "-s", "10.1.9.0/24", "n1"], "invalid encap \"vlan2\"", false },
        { ["net", "create", "-n", "mgmt", "-s", "10.1.9.0/24", "n1"], "invalid nw-type \"mgmt\"", false },

        // Existing and missing objects.
        { ["net", "create", "-s", "10.1.5.0/24", "contiv-net"], "network default:contiv-net already exists", true },
        { ["net", "create", "-t", "blue", "-s", "10.1.2.0/24", "contiv-net"], "network blue:contiv-net already exists", true },
        { ["net", "create", "-t", "nope", "-s", "10.1.2.0/24", "n1"], "tenant nope does not exist", true },
        { ["tenant", "create", "blue"], "tenant blue already exists", true },
        { ["tenant", "rm", "blue"], "tenant blue has 1 network(s) (contiv-net); delete them first", true },
        { ["tenant", "rm", "default"], "the default tenant cannot be deleted", true },
        { ["tenant", "rm", "nope"], "tenant nope does not exist", true },
        { ["tenant", "inspect", "nope"], "tenant nope does not exist", true },
        { ["net", "ls", "-t", "nope"], "tenant nope does not exist", true },
        { ["net", "rm", "nope"], "network default:nope does not exist", true },
        { ["net", "rm", "-t", "nope", "contiv-net"], "does not exist", true },
        { ["net", "inspect", "nope"], "network default:nope does not exist", true },
        { ["endpoint", "inspect", "0123456789ab"], "endpoint 0123456789ab not found", true },

        // Names: slashes would break Docker's net/tenant naming, spaces break everything.
        { ["net", "create", "-s", "10.1.9.0/24", "a/b"], "invalid network name \"a/b\"", false },
        { ["net", "create", "-s", "10.1.9.0/24", "a b"], "invalid network name \"a b\"", false },
        { ["net", "create", "-s", "10.1.9.0/24", "-t", "x/y", "n1"], "invalid tenant name \"x/y\"", false },
        { ["net", "create", "-s", "10.1.9.0/24", "-t", "a.b", "n1"], "invalid tenant name \"a.b\"", false },
        { ["net", "create", "-s", "10.1.9.0/24", new string('n', 65)], "is longer than 64 characters", false },
        { ["tenant", "create", "x/y"], "invalid tenant name \"x/y\"", false },
        { ["tenant", "create", "a b"], "invalid tenant name \"a b\"", false },
        { ["tenant", "create", "-x"], "invalid tenant name", false },
        { ["net", "inspect", "a/b"], "invalid network name", true },
        { ["tenant", "rm", "a b"], "invalid tenant name \"a b\"", true },

        // Global settings.
        { ["global", "set", "--fwd-mode", "bogus"], "invalid fwd-mode \"bogus\"", true },
        { ["global", "set", "--arp-mode", "bogus"], "invalid arp-mode \"bogus\"", true },
        { ["global", "set", "--fabric-mode", "bogus"], "invalid fabric-mode \"bogus\"", true },
        { ["global", "set", "--vlan-range", "200-300"], "vlan-range 200-300 excludes vlan 112, which a network uses", true },
        { ["global", "set", "--vxlan-range", "3-100"], "excludes VNI 1", true },
        { ["global", "set", "--vlan-range", "0-4095"], "vlan-range", true },
        { ["global", "set", "--vlan-range", "abc"], "vlan-range", true },
        { ["global", "set", "--private-subnet", "nope"], "invalid private subnet \"nope\"", true },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refused_commands_exit_non_zero_with_one_line_and_change_nothing(string[] args, string fragment, bool reachesServer)
    {
        var before = await fixture.StateAsync();
        var run = await fixture.Server.NetCtlAsync(args);

        Assert.Equal(1, run.ExitCode);
        AssertOneErrorLine(run.Stderr, fragment);

        // Refused by netctl or by the server, stdout stays empty: create/rm print their progress
        // line ("Creating network ...") only once the server has done it.
        Assert.Equal(string.Empty, run.Stdout);
        var after = await fixture.StateAsync();
        Assert.True(before == after, $"refused by {(reachesServer ? "netmaster" : "netctl")}, yet the state changed:\n{before}\n---\n{after}");
    }

    [Fact]
    public async Task An_unreachable_netmaster_is_one_line_naming_the_url()
    {
        var url = $"http://127.0.0.1:{NetMasterServer.ClosedPort()}";
        foreach (var args in new[] { new[] { "net", "ls" }, ["tenant", "create", "blue"], ["global", "info"], ["net", "create", "-s", "10.1.2.0/24", "n1"] })
        {
            var run = await NetMasterServer.RunNetCtlAsync(url, args);
            Assert.Equal(1, run.ExitCode);
            AssertOneErrorLine(run.Stderr, $"netmaster at {url} is unreachable");
        }

        // Also without the scheme, as Contiv's docs write it.
        var bare = await NetMasterServer.RunNetCtlAsync(url["http://".Length..], "tenant", "ls");
        Assert.Equal(1, bare.ExitCode);
        AssertOneErrorLine(bare.Stderr, $"netmaster at {url} is unreachable");
    }

    [Fact]
    public async Task NETMASTER_url_option_accepts_a_trailing_slash()
    {
        var run = await NetMasterServer.RunNetCtlAsync(fixture.Server.Url + "/", "tenant", "ls", "-q");
        Assert.Equal((0, "default\nblue\n", string.Empty), (run.ExitCode, run.Stdout, run.Stderr));
    }

    /// <summary>README: "errors exit non-zero with one line". Also holds for command-line mistakes.</summary>
    [Theory]
    [InlineData(new[] { "net", "create", "-s", "10.1.2.0/24" }, "NETWORK")]
    [InlineData(new[] { "net", "create", "-p", "abc", "-s", "10.1.2.0/24", "n1" }, "abc")]
    [InlineData(new[] { "net", "ls", "--bogus" }, "--bogus")]
    public async Task Command_line_mistakes_are_one_error_line_too(string[] args, string fragment)
    {
        var run = await fixture.Server.NetCtlAsync(args);
        Assert.NotEqual(0, run.ExitCode);
        AssertOneErrorLine(run.Stderr, fragment);
        Assert.Equal(string.Empty, run.Stdout);
    }

    [Fact]
    public async Task Errors_quote_names_as_the_user_typed_them()
    {
        var run = await fixture.Server.NetCtlAsync("net", "inspect", "a/b");
        Assert.Equal(1, run.ExitCode);
        AssertOneErrorLine(run.Stderr, "invalid network name \"a/b\"");
    }

    private static void AssertOneErrorLine(string stderr, string fragment)
    {
        Assert.Matches(new Regex("^Error: [^\n]+\n$"), stderr);
        Assert.Contains(fragment, stderr, StringComparison.Ordinal);
    }
}
