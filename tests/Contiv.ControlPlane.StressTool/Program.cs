using System.Globalization;
using Contiv.ControlPlane;
using Contiv.Model;
using Contiv.State;

// Child process for Contiv.ControlPlane.Tests: one "host" allocating through the real control plane.
//   addresses STORE-URL NETWORK-ID COUNT OUTPUT-FILE   COUNT x AllocateAddressAsync (no lease: the bench's figure)
//   leases    STORE-URL NETWORK-ID COUNT OUTPUT-FILE   the same with a lease naming host-PID (what RequestAddress does)
//   networks  STORE-URL NAME-PREFIX COUNT OUTPUT-FILE  COUNT x CreateNetworkAsync (VNI allocation)
//   create-network STORE-URL NAME SUBNET                creates network NAME (tenant default) and exits (profiling set-up)
// Prints "ready", waits for "go" on stdin so all children start together, writes one result per line.
if (args is ["create-network", var url, var name, var subnet])
{
    await using var setupStore = KeyValueStoreFactory.Create(url);
    var setup = new ContivControl(setupStore);
    await setup.InitializeAsync();
    await setup.CreateNetworkAsync(new Network { TenantName = Names.DefaultTenant, NetworkName = name, Subnet = subnet });
    return 0;
}

if (args.Length != 5)
{
    await Console.Error.WriteLineAsync("usage: addresses|leases|networks STORE-URL ARG COUNT OUTPUT-FILE");
    return 2;
}

await using var store = KeyValueStoreFactory.Create(args[1]);
var control = new ContivControl(store);
var count = int.Parse(args[3], CultureInfo.InvariantCulture);
await control.ListTenantsAsync();
Console.WriteLine("ready");
if (Console.ReadLine() != "go")
{
    return 2;
}

var results = new List<string>(count);
for (var i = 0; i < count; i++)
{
    results.Add(args[0] switch
    {
        "addresses" => (await control.AllocateAddressAsync(args[2], null)).Address,
        "leases" => (await control.AllocateAddressAsync(args[2], null, $"host-{Environment.ProcessId}")).Address,
        "networks" => (await control.CreateNetworkAsync(new Network
        {
            TenantName = Names.DefaultTenant,
            NetworkName = $"{args[2]}-{i}",
            Subnet = "10.200.0.0/24",
        })).Tag.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"unknown mode {args[0]}"),
    });
}

await File.WriteAllLinesAsync(args[4], results);
Console.WriteLine("done");
return 0;
