using System.Globalization;
using Contiv.Model;
using Contiv.State;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.ControlPlane.Tests;

/// <summary>
/// Several processes ("hosts") allocating through the real control plane against one real Redis, all
/// at once: no address and no VNI is ever handed out twice, and lowest-free stays exact.
/// </summary>
public sealed class MultiProcessAllocationTests
{
    private const int Processes = 3;

    [Fact(Timeout = 120_000)]
    public async Task Hosts_allocating_addresses_concurrently_never_share_one()
    {
        await using var redis = await RedisServer.StartOrSkipAsync();
        await AllocateConcurrentlyAsync(redis.UrlWithPrefix("ipam/"), "addresses", 1000);
    }

    [Fact(Timeout = 120_000)]
    public async Task Hosts_allocating_with_leases_write_exactly_one_lease_per_address_naming_its_host()
    {
        await using var redis = await RedisServer.StartOrSkipAsync();
        await AllocateConcurrentlyAsync(redis.UrlWithPrefix("leases/"), "leases", 1000);
    }

    [Fact(Timeout = 120_000)]
    public async Task Hosts_allocating_with_leases_from_a_three_member_etcd_cluster_never_share_an_address()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);
        await AllocateConcurrentlyAsync(etcd.UrlWithPrefix("leases/"), "leases", 200);
    }

    [Fact(Timeout = 120_000)]
    public async Task Hosts_creating_networks_concurrently_on_etcd_never_share_a_vni()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(members: 3);
        var url = etcd.UrlWithPrefix("tags/");
        await using (var store = KeyValueStoreFactory.Create(url))
        {
            await new ContivControl(store).InitializeAsync();
        }

        var results = await RunAsync("networks", url, "net", 30, i => $"p{i}");
        var vnis = results.SelectMany(r => r).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, Processes * 30), vnis.Order());
    }

    [Fact(Timeout = 120_000)]
    public async Task Processes_allocating_from_one_embedded_store_never_share_an_address()
    {
        using var directory = TempDirectory.Create("contiv-cp-embedded-");
        await AllocateConcurrentlyAsync("embedded://" + directory.Path, "leases", 100);
    }

    /// <summary>
    /// Every process allocates <paramref name="count"/> addresses at once: none twice, exactly the
    /// lowest ones (nothing was released), and with leases one per address naming the process that got it.
    /// </summary>
    private static async Task AllocateConcurrentlyAsync(string url, string mode, int count)
    {
        await using (var store = KeyValueStoreFactory.Create(url))
        {
            var control = new ContivControl(store);
            await control.InitializeAsync();
            await control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "big", Subnet = "10.8.0.0/20" });
        }

        var results = await RunAsync(mode, url, "big.default", count);
        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(Processes * count, all.Count);
        Assert.Empty(all.GroupBy(a => a).Where(g => g.Count() > 1).Select(g => g.Key));

        // Nothing was released, so exactly the lowest host addresses are taken (10.8.0.1 ...).
        var subnet = Ipv4Subnet.Parse("10.8.0.0/20");
        var expected = Enumerable.Range(1, all.Count).Select(i => Ipv4Subnet.FormatAddress(subnet.AddressAt(i))).Order(StringComparer.Ordinal);
        Assert.Equal(expected, all.Order(StringComparer.Ordinal));

        await using (var store = KeyValueStoreFactory.Create(url))
        {
            var control = new ContivControl(store);
            var inspect = await control.InspectNetworkAsync("default", "big");
            Assert.Equal(all.Count, inspect.Oper.AllocatedAddressesCount);
            var leases = await control.ListLeasesAsync(null);
            if (mode == "leases")
            {
                Assert.Equal(all.Order(StringComparer.Ordinal), leases.Select(l => l.Address).Order(StringComparer.Ordinal));
                // Each process's addresses carry one holder, and the processes' holders differ.
                var holders = results.Select(r => leases.Where(l => r.Contains(l.Address)).Select(l => l.Host).Distinct().Single()).ToList();
                Assert.Equal(Processes, holders.Distinct().Count());
            }
            else
            {
                Assert.Empty(leases);
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Hosts_creating_networks_concurrently_never_share_a_vni()
    {
        await using var redis = await RedisServer.StartOrSkipAsync();
        var url = redis.UrlWithPrefix("tags/");
        await using (var store = KeyValueStoreFactory.Create(url))
        {
            await new ContivControl(store).InitializeAsync();
        }

        var results = await RunAsync("networks", url, "net", 60, i => $"p{i}");
        var vnis = results.SelectMany(r => r).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, Processes * 60), vnis.Order());
    }

    /// <summary>Starts the children together and returns each one's results.</summary>
    private static async Task<List<string[]>> RunAsync(string mode, string url, string argument, int count, Func<int, string>? perProcess = null)
    {
        using var outputs = TempDirectory.Create("contiv-cp-");
        await DotNetHost.RunTogetherAsync(
            DotNetHost.BesideTests("Contiv.ControlPlane.StressTool.dll"),
            Enumerable.Range(0, Processes).Select(i => new[]
            {
                mode, url, perProcess is null ? argument : $"{argument}-{perProcess(i)}", count.ToString(CultureInfo.InvariantCulture), outputs.Combine($"out-{i}.txt"),
            }),
            readyTimeout: TimeSpan.FromSeconds(30),
            finishTimeout: TimeSpan.FromSeconds(90));
        return [.. Enumerable.Range(0, Processes).Select(i => File.ReadAllLines(outputs.Combine($"out-{i}.txt")))];
    }
}
