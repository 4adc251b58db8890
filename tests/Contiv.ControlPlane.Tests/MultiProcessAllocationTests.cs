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
        var url = redis.UrlWithPrefix("ipam/");
        await using (var store = KeyValueStoreFactory.Create(url))
        {
            var control = new ContivControl(store);
            await control.InitializeAsync();
            await control.CreateNetworkAsync(new Network { TenantName = "default", NetworkName = "big", Subnet = "10.8.0.0/20" });
        }

        var results = await RunAsync("addresses", url, "big.default", 1000);
        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(Processes * 1000, all.Count);
        Assert.Empty(all.GroupBy(a => a).Where(g => g.Count() > 1).Select(g => g.Key));

        // Nothing was released, so exactly the lowest 3000 host addresses are taken (10.8.0.1 ...).
        var subnet = Ipv4Subnet.Parse("10.8.0.0/20");
        var expected = Enumerable.Range(1, all.Count).Select(i => Ipv4Subnet.FormatAddress(subnet.AddressAt(i))).Order(StringComparer.Ordinal);
        Assert.Equal(expected, all.Order(StringComparer.Ordinal));
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
