using System.Text.Json;
using System.Text.RegularExpressions;
using Contiv.Model;
using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// Replays the netctl sessions of the seed tutorials (Contiv legacy-swarm tutorial chapters 2-4 and
/// the Kubernetes tutorial excerpt) against a real netmaster and compares the output byte for byte.
/// Known, deliberate differences are asserted explicitly and explained where they occur.
/// </summary>
public sealed class SeedReplayTests
{
    /// <summary>The element re-written without whitespace (field order kept).</summary>
    private static string Compact(JsonElement element)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            element.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";

    private static async Task<string> OkAsync(NetMasterServer server, params string[] args)
    {
        var run = await server.NetCtlAsync(args);
        Assert.True(run.ExitCode == 0, $"netctl {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
        Assert.Equal(string.Empty, run.Stderr);
        return run.Stdout;
    }

    [Fact]
    public async Task Legacy_swarm_tutorial_chapters_2_to_4_replay_byte_for_byte()
    {
        await using var server = await NetMasterServer.StartAsync();

        // Chapter 2: multi-host networking.
        Assert.Equal("Creating network default:contiv-net\n", await OkAsync(server, "net", "create", "--subnet=10.1.2.0/24", "contiv-net"));
        Assert.Equal(
            Lines(
                "Tenant   Network     Nw Type  Encap type  Packet tag  Subnet       Gateway  IPv6Subnet  IPv6Gateway  Cfgd Tag",
                "------   -------     -------  ----------  ----------  -------      ------   ----------  -----------  ---------",
                "default  contiv-net  data     vxlan       0           10.1.2.0/24"),
            await OkAsync(server, "net", "ls"));

        // Chapter 3: tenants. The legacy tutorial lists the default tenant first (so do we: default
        // first, then the others by name); the Kubernetes excerpt shows "blue" first.
        Assert.Equal("Creating tenant: blue\n", await OkAsync(server, "tenant", "create", "blue"));
        Assert.Equal(Lines("Name", "------", "default", "blue"), await OkAsync(server, "tenant", "ls"));
        Assert.Equal("Creating network blue:contiv-net\n", await OkAsync(server, "net", "create", "-t", "blue", "--subnet=10.1.2.0/24", "contiv-net"));
        Assert.Equal(
            Lines(
                "Tenant  Network     Nw Type  Encap type  Packet tag  Subnet       Gateway  IPv6Subnet  IPv6Gateway  Cfgd Tag",
                "------  -------     -------  ----------  ----------  -------      ------   ----------  -----------  ---------",
                "blue    contiv-net  data     vxlan       0           10.1.2.0/24"),
            await OkAsync(server, "net", "ls", "-t", "blue"));

        // Chapter 4: a VLAN network with a requested tag.
        Assert.Equal("Creating network default:contiv-vlan\n", await OkAsync(server, "net", "create", "-p", "112", "-e", "vlan", "-s", "10.1.3.0/24", "contiv-vlan"));

        // The seed prints contiv-vlan before contiv-net (etcd's order). Our list is ordered by
        // TENANT:NETWORK key (ordinal), so contiv-net comes first; every line is otherwise identical.
        var seedTable = Lines(
            "Tenant   Network      Nw Type  Encap type  Packet tag  Subnet       Gateway  IPv6Subnet  IPv6Gateway  Cfgd Tag",
            "------   -------      -------  ----------  ----------  -------      ------   ----------  -----------  ---------",
            "default  contiv-vlan  data     vlan        112         10.1.3.0/24",
            "default  contiv-net   data     vxlan       0           10.1.2.0/24");
        var ours = await OkAsync(server, "net", "ls");
        Assert.Equal(
            Lines(
                "Tenant   Network      Nw Type  Encap type  Packet tag  Subnet       Gateway  IPv6Subnet  IPv6Gateway  Cfgd Tag",
                "------   -------      -------  ----------  ----------  -------      ------   ----------  -----------  ---------",
                "default  contiv-net   data     vxlan       0           10.1.2.0/24",
                "default  contiv-vlan  data     vlan        112         10.1.3.0/24"),
            ours);
        Assert.Equal(seedTable.Split('\n').Order(StringComparer.Ordinal), ours.Split('\n').Order(StringComparer.Ordinal));

        // The auto VNIs: 1 for default:contiv-net, 2 for blue:contiv-net; the vlan keeps 112.
        Assert.Equal((1, 1), await TagsAsync(server, "default", "contiv-net"));
        Assert.Equal((2, 2), await TagsAsync(server, "blue", "contiv-net"));
        Assert.Equal((112, 112), await TagsAsync(server, "default", "contiv-vlan"));
    }

    private static async Task<(int External, int Pkt)> TagsAsync(NetMasterServer server, string tenant, string network)
    {
        using var doc = JsonDocument.Parse(await OkAsync(server, "net", "inspect", "-t", tenant, network));
        var oper = doc.RootElement.GetProperty("Oper");
        return (oper.GetProperty("externalPktTag").GetInt32(), oper.GetProperty("pktTag").GetInt32());
    }

    /// <summary>The `net inspect` JSON of the Kubernetes excerpt, verbatim.</summary>
    private const string K8sInspectNoEndpoints = """
        {
          "Config": {
            "key": "default:contiv-net",
            "encap": "vxlan",
            "gateway": "10.1.2.1",
            "networkName": "contiv-net",
            "nwType": "data",
            "subnet": "10.1.2.0/24",
            "tenantName": "default",
            "link-sets": {},
            "links": {
              "Tenant": {
                "type": "tenant",
                "key": "default"
              }
            }
          },
          "Oper": {
            "allocatedIPAddresses": "10.1.2.1",
            "availableIPAddresses": "10.1.2.2-10.1.2.254",
            "externalPktTag": 3,
            "networkTag": "contiv-net.default",
            "pktTag": 3
          }
        }

        """;

    [Fact]
    public async Task Inspect_of_a_fresh_network_with_gateway_matches_the_kubernetes_excerpt_config_and_oper()
    {
        await using var server = await NetMasterServer.StartAsync();
        Assert.Equal("Creating network default:contiv-net\n", await OkAsync(server, "net", "create", "--subnet=10.1.2.0/24", "--gateway=10.1.2.1", "contiv-net"));

        var text = await OkAsync(server, "net", "inspect", "contiv-net");
        using var doc = JsonDocument.Parse(text);
        using var seed = JsonDocument.Parse(K8sInspectNoEndpoints);

        // Config: exactly the excerpt's object, same fields in the same order.
        Assert.Equal(Compact(seed.RootElement.GetProperty("Config")), Compact(doc.RootElement.GetProperty("Config")));

        // Oper: same addresses and network tag. On this fresh setup the network has VNI 1; the
        // excerpt's cluster had two networks before it (hence 3). Contiv's pktTag is the host-local
        // OVS VLAN paired with the VNI; we have no OVS, so pktTag repeats the VNI.
        var oper = doc.RootElement.GetProperty("Oper");
        Assert.Equal(
            ["allocatedIPAddresses", "availableIPAddresses", "externalPktTag", "networkTag", "pktTag"],
            oper.EnumerateObject().Select(p => p.Name));
        Assert.Equal("10.1.2.1", oper.GetProperty("allocatedIPAddresses").GetString());
        Assert.Equal("10.1.2.2-10.1.2.254", oper.GetProperty("availableIPAddresses").GetString());
        Assert.Equal("contiv-net.default", oper.GetProperty("networkTag").GetString());
        Assert.Equal(1, oper.GetProperty("externalPktTag").GetInt32());
        Assert.Equal(1, oper.GetProperty("pktTag").GetInt32());
    }

    [Fact]
    public async Task Kubernetes_excerpt_replays_byte_for_byte_including_inspect_with_endpoints()
    {
        await using var server = await NetMasterServer.StartAsync();

        // The excerpt's cluster already had contivh1 (infra) and default-net, so contiv-net got VNI 3.
        await OkAsync(server, "net", "create", "-n", "infra", "-s", "132.1.1.0/24", "-g", "132.1.1.1", "contivh1");
        await OkAsync(server, "net", "create", "-t", "default", "--subnet=20.1.1.0/24", "-g", "20.1.1.1", "default-net");
        Assert.Equal("Creating network default:contiv-net\n", await OkAsync(server, "net", "create", "--subnet=10.1.2.0/24", "--gateway=10.1.2.1", "contiv-net"));

        // Same rows and column widths as the excerpt; ordered by name (the excerpt shows creation order).
        Assert.Equal(
            Lines(
                "Tenant   Network      Nw Type  Encap type  Packet tag  Subnet        Gateway    IPv6Subnet  IPv6Gateway  Cfgd Tag",
                "------   -------      -------  ----------  ----------  -------       ------     ----------  -----------  ---------",
                "default  contiv-net   data     vxlan       0           10.1.2.0/24   10.1.2.1",
                "default  contivh1     infra    vxlan       0           132.1.1.0/24  132.1.1.1",
                "default  default-net  data     vxlan       0           20.1.1.0/24   20.1.1.1"),
            await OkAsync(server, "net", "ls"));

        Assert.Equal(K8sInspectNoEndpoints.ReplaceLineEndings("\n"), await OkAsync(server, "net", "inspect", "contiv-net"));

        // Two pods, as netplugin records them (address from the IPAM, endpoint record in the store).
        foreach (var (pod, epid, host) in new[]
        {
            ("contiv-c1", "21f97ca11caa355fd56c75869b60587f149257932095c552fc3af76b0be0d91f", "kubeadm-master"),
            ("contiv-c2", "a9506061759f9d36304997929ed66c360e09ae01aaa98b65394ae8c463cad158", "kubeadm-worker0"),
        })
        {
            var lease = await server.Control.AllocateAddressAsync("contiv-net.default", null, TestContext.Current.CancellationToken);
            await server.Control.PutEndpointAsync(new EndpointOper
            {
                ContainerName = pod,
                EndpointId = epid,
                HomingHost = host,
                IpAddress = [lease.Address, string.Empty],
                MacAddress = lease.MacAddress,
                Network = "contiv-net.default",
            }, TestContext.Current.CancellationToken);
        }

        Assert.Equal(
            """
            {
              "Config": {
                "key": "default:contiv-net",
                "encap": "vxlan",
                "gateway": "10.1.2.1",
                "networkName": "contiv-net",
                "nwType": "data",
                "subnet": "10.1.2.0/24",
                "tenantName": "default",
                "link-sets": {},
                "links": {
                  "Tenant": {
                    "type": "tenant",
                    "key": "default"
                  }
                }
              },
              "Oper": {
                "allocatedAddressesCount": 2,
                "allocatedIPAddresses": "10.1.2.1-10.1.2.3",
                "availableIPAddresses": "10.1.2.4-10.1.2.254",
                "endpoints": [
                  {
                    "containerName": "contiv-c1",
                    "endpointID": "21f97ca11caa355fd56c75869b60587f149257932095c552fc3af76b0be0d91f",
                    "homingHost": "kubeadm-master",
                    "ipAddress": [
                      "10.1.2.2",
                      ""
                    ],
                    "labels": "map[]",
                    "macAddress": "02:02:0a:01:02:02",
                    "network": "contiv-net.default"
                  },
                  {
                    "containerName": "contiv-c2",
                    "endpointID": "a9506061759f9d36304997929ed66c360e09ae01aaa98b65394ae8c463cad158",
                    "homingHost": "kubeadm-worker0",
                    "ipAddress": [
                      "10.1.2.3",
                      ""
                    ],
                    "labels": "map[]",
                    "macAddress": "02:02:0a:01:02:03",
                    "network": "contiv-net.default"
                  }
                ],
                "externalPktTag": 3,
                "networkTag": "contiv-net.default",
                "numEndpoints": 2,
                "pktTag": 3
              }
            }

            """.ReplaceLineEndings("\n"),
            await OkAsync(server, "net", "inspect", "contiv-net"));

        // Chapter "multiple tenants" of the excerpt.
        Assert.Equal("Creating tenant: blue\n", await OkAsync(server, "tenant", "create", "blue"));
        Assert.Equal("Creating network blue:contiv-net\n", await OkAsync(server, "net", "create", "-t", "blue", "--subnet=10.1.2.0/24", "-g", "10.1.2.1", "contiv-net"));
        Assert.Equal(
            Lines(
                "Tenant  Network     Nw Type  Encap type  Packet tag  Subnet       Gateway   IPv6Subnet  IPv6Gateway  Cfgd Tag",
                "------  -------     -------  ----------  ----------  -------      ------    ----------  -----------  ---------",
                "blue    contiv-net  data     vxlan       0           10.1.2.0/24  10.1.2.1"),
            await OkAsync(server, "net", "ls", "-t", "blue"));
    }

    [Fact]
    public async Task Version_prints_client_and_server_blocks_like_the_tutorial()
    {
        await using var server = await NetMasterServer.StartAsync();
        var text = await OkAsync(server, "version");

        // Tutorial: "Client Version:\nVersion: 1.0.3\nGitCommit: c61eb64\nBuildTime: 06-08-2017.01-26-14.UTC\n\nServer Version:\n..."
        var block = @"Version: (?<v>\d+\.\d+\.\d+[^\n]*)\nGitCommit: (?<c>[0-9a-f]{7}|unknown)\nBuildTime: (?<t>\d{2}-\d{2}-\d{4}\.\d{2}-\d{2}-\d{2}\.UTC|unknown)\n";
        var match = Regex.Match(text, $"^Client Version:\n{block}\nServer Version:\n{block.Replace("?<", "?<s", StringComparison.Ordinal)}$");
        Assert.True(match.Success, "unexpected version output:\n" + text);

        // netctl and netmaster come from the same build.
        Assert.Equal(match.Groups["v"].Value, match.Groups["sv"].Value);
        Assert.Equal(match.Groups["c"].Value, match.Groups["sc"].Value);
        Assert.Equal(match.Groups["t"].Value, match.Groups["st"].Value);
    }

    [Fact]
    public async Task Global_info_set_and_inspect()
    {
        await using var server = await NetMasterServer.StartAsync();
        Assert.Equal(
            Lines("Fabric mode: default", "Forward mode: bridge", "ARP mode: proxy", "Vlan Range: 1-4094", "Vxlan range: 1-10000", "Private subnet: 172.19.0.0/16"),
            await OkAsync(server, "global", "info"));

        // The tutorial's first step, then a narrower VLAN range; only the given flags change.
        Assert.Equal(string.Empty, await OkAsync(server, "global", "set", "--fwd-mode", "routing", "--vlan-range", "100-200"));
        Assert.Equal(
            Lines("Fabric mode: default", "Forward mode: routing", "ARP mode: proxy", "Vlan Range: 100-200", "Vxlan range: 1-10000", "Private subnet: 172.19.0.0/16"),
            await OkAsync(server, "global", "info"));

        await OkAsync(server, "net", "create", "-s", "10.1.2.0/24", "contiv-net");
        await OkAsync(server, "net", "create", "-e", "vlan", "-s", "10.1.3.0/24", "contiv-vlan");
        Assert.Equal(
            """
            {
              "Config": {
                "key": "global",
                "arpMode": "proxy",
                "fwdMode": "routing",
                "name": "global",
                "networkInfraType": "default",
                "pvtSubnet": "172.19.0.0/16",
                "vlans": "100-200",
                "vxlans": "1-10000"
              },
              "Oper": {
                "clusterMode": "docker",
                "numNetworks": 2,
                "vlansInUse": "100",
                "vxlansInUse": "1"
              }
            }

            """.ReplaceLineEndings("\n"),
            await OkAsync(server, "global", "inspect"));
    }

    [Fact]
    public async Task Json_and_quiet_listings()
    {
        await using var server = await NetMasterServer.StartAsync();
        await OkAsync(server, "tenant", "create", "blue");
        await OkAsync(server, "net", "create", "-s", "10.1.2.0/24", "contiv-net");
        await OkAsync(server, "net", "create", "-t", "blue", "-s", "10.1.2.0/24", "-g", "10.1.2.1", "contiv-net");

        using (var nets = JsonDocument.Parse(await OkAsync(server, "net", "ls", "-j")))
        {
            Assert.Equal(JsonValueKind.Array, nets.RootElement.ValueKind);
            var only = Assert.Single(nets.RootElement.EnumerateArray());
            Assert.Equal("default:contiv-net", only.GetProperty("key").GetString());
            Assert.Equal("10.1.2.0/24", only.GetProperty("subnet").GetString());
        }

        using (var all = JsonDocument.Parse(await OkAsync(server, "net", "ls", "-a", "--json")))
        {
            Assert.Equal(["default:contiv-net", "blue:contiv-net"], all.RootElement.EnumerateArray().Select(n => n.GetProperty("key").GetString()).Order(StringComparer.Ordinal).Reverse());
        }

        using (var tenants = JsonDocument.Parse(await OkAsync(server, "tenant", "ls", "-j")))
        {
            Assert.Equal(JsonValueKind.Array, tenants.RootElement.ValueKind);
            Assert.Equal(["default", "blue"], tenants.RootElement.EnumerateArray().Select(t => t.GetProperty("tenantName").GetString()));
        }

        Assert.Equal("default\nblue\n", await OkAsync(server, "tenant", "ls", "-q"));
        Assert.Equal("contiv-net\n", await OkAsync(server, "net", "ls", "-q", "-t", "blue"));
        Assert.Equal("Deleting network blue:contiv-net\n", await OkAsync(server, "net", "rm", "-t", "blue", "contiv-net"));
        Assert.Equal("Deleting tenant blue\n", await OkAsync(server, "tenant", "delete", "blue"));
        Assert.Equal("default\n", await OkAsync(server, "tenant", "list", "-q"));
    }
}
