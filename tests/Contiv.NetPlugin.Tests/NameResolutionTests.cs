using System.Net;
using Contiv.Model;
using Xunit;

namespace Contiv.NetPlugin.Tests;

/// <summary>Who may resolve which names, and which nameservers dockerd forwards to.</summary>
public sealed class NameResolutionTests
{
    private static EndpointOper Endpoint(string network, string ip, string host, string container, string name) => new()
    {
        Network = network,
        IpAddress = [ip, string.Empty],
        HomingHost = host,
        ContainerId = container,
        ContainerName = "/" + name,
        EndpointId = container + network,
    };

    private static readonly EndpointOper[] Endpoints =
    [
        Endpoint("web.default", "10.1.2.2", "h1", "c1", "a1"),
        Endpoint("db.default", "10.1.3.2", "h1", "c1", "a1"),
        Endpoint("web.default", "10.1.2.3", "h2", "c2", "a2"),
        Endpoint("web.red", "10.1.2.2", "h1", "c3", "red1"),
        Endpoint("web.red", "10.1.2.3", "h2", "c4", "red2"),
        Endpoint("db.default", "10.1.3.3", "h2", "c5", "db2"),
    ];

    [Fact]
    public void An_asker_on_a_network_is_found_by_its_address_there_and_brings_all_its_networks()
    {
        var networks = ContainerNameResolution.ClientNetworksOnNetwork(IPAddress.Parse("10.1.2.2"), "web.default", "h1", Endpoints);
        Assert.Equal(["db.default", "web.default"], networks.Order(StringComparer.Ordinal));
        Assert.Equal([IPAddress.Parse("10.1.3.3")], ContainerNameResolution.Resolve("db2", Endpoints, networks));
        Assert.Equal([IPAddress.Parse("10.1.2.3")], ContainerNameResolution.Resolve("a2", Endpoints, networks));
    }

    [Fact]
    public void Tenants_reusing_a_subnet_never_see_each_other()
    {
        var red = ContainerNameResolution.ClientNetworksOnNetwork(IPAddress.Parse("10.1.2.2"), "web.red", "h1", Endpoints);
        Assert.Equal(["web.red"], red);
        Assert.Empty(ContainerNameResolution.Resolve("a2", Endpoints, red));
        Assert.Equal([IPAddress.Parse("10.1.2.3")], ContainerNameResolution.Resolve("red2", Endpoints, red));
    }

    [Fact]
    public void An_unknown_asker_or_one_on_another_host_gets_no_networks()
    {
        Assert.Empty(ContainerNameResolution.ClientNetworksOnNetwork(IPAddress.Parse("10.1.2.9"), "web.default", "h1", Endpoints));
        Assert.Empty(ContainerNameResolution.ClientNetworksOnNetwork(IPAddress.Parse("10.1.2.3"), "web.default", "h1", Endpoints));
    }

    [Fact]
    public void Dockerd_dns_flags_win_over_daemon_json_and_resolv_conf()
    {
        var (servers, source) = DockerNameservers.Effective(["dockerd", "--dns", "192.168.2.50", "--dns=1.1.1.1"], """{"dns": ["9.9.9.9"]}""", "nameserver 8.8.8.8\n");
        Assert.Equal(["192.168.2.50", "1.1.1.1"], servers);
        Assert.Equal("dockerd --dns", source);
    }

    [Fact]
    public void Daemon_json_dns_is_read_from_the_configured_file()
    {
        Assert.Equal("/etc/contiv/daemon.json", DockerNameservers.ConfigFile(["dockerd", "--config-file", "/etc/contiv/daemon.json"]));
        Assert.Equal(DockerNameservers.DefaultDaemonJson, DockerNameservers.ConfigFile(["dockerd"]));
        var (servers, _) = DockerNameservers.Effective(["dockerd"], """{"dns": ["10.0.0.11", "10.0.0.2"], "debug": true}""", "nameserver 8.8.8.8\n");
        Assert.Equal(["10.0.0.11", "10.0.0.2"], servers);
    }

    [Fact]
    public void Resolv_conf_loses_loopback_servers_and_falls_back_like_docker()
    {
        var (servers, _) = DockerNameservers.Effective(["dockerd"], "not json", "# comment\nnameserver 127.0.0.1\nnameserver 10.0.0.11\nsearch lab\n");
        Assert.Equal(["10.0.0.11"], servers);
        Assert.Equal(DockerNameservers.DockerFallback, DockerNameservers.Effective(["dockerd"], null, "nameserver 127.0.0.1\n").Servers);
        Assert.Equal("/run/systemd/resolve/resolv.conf", DockerNameservers.ResolvConfPath("nameserver 127.0.0.53\noptions edns0\n"));
        Assert.Equal("/etc/resolv.conf", DockerNameservers.ResolvConfPath("nameserver 10.0.0.2\n"));
    }

    [Fact]
    public void The_check_is_skipped_when_the_responder_is_off_and_warns_when_dockerd_cannot_be_found()
    {
        var warnings = new List<string>();
        Assert.Null(DockerDnsCheck.Verify(new PluginOptions { DnsListen = null }, warnings.Add));
        Assert.Empty(warnings);
        Assert.Null(DockerDnsCheck.Verify(new PluginOptions { DnsListen = new IPEndPoint(IPAddress.Loopback, 53), DockerEndpoint = "unix:///nonexistent/docker.sock" }, warnings.Add));
        Assert.Single(warnings);
    }
}
