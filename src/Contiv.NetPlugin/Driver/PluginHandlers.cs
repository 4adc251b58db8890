using System.Globalization;
using System.Text.Json;
using Contiv.ControlPlane;
using Contiv.DockerEngine;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>
/// The libnetwork NetworkDriver and IpamDriver calls, as plain methods: request object in, reply
/// object out, <see cref="ContivException"/> for anything the user must act on. Addresses and
/// endpoint records go to the shared store through <see cref="ContivControl"/>; kernel objects go
/// through <see cref="IHostDatapath"/>.
/// </summary>
public sealed partial class PluginHandlers(
    ContivControl control,
    IHostDatapath datapath,
    DockerNetworkMap networks,
    PluginOptions options,
    ILogger<PluginHandlers> logger,
    IDockerEngine? docker = null,
    PluginMetrics? metrics = null,
    ReconcileSignal? reconcile = null,
    TimeProvider? clock = null,
    HostPolicy? policy = null)
{
    private readonly SwarmAddressEchoes _echoes = control.SwarmEchoes(options.HostName);
    private readonly HandMadeNetworks _handMade = new(control, datapath, networks, docker, logger, clock ?? TimeProvider.System);

    /// <summary>
    /// Finds the Contiv network a Docker request is about: by tenant + network name options (what
    /// netplugin passes when it creates Docker networks), by tenant + encap + tag, or by subnet
    /// within the tenant when the user created the Docker network by hand.
    /// </summary>
    private async Task<NetworkRecord> ResolveNetworkAsync(IReadOnlyDictionary<string, string> opts, string? pool, CancellationToken ct)
    {
        var tenant = opts.GetValueOrDefault("tenant") is { Length: > 0 } t ? t : Names.DefaultTenant;
        if (opts.GetValueOrDefault("network") is { Length: > 0 } name)
        {
            return await control.GetNetworkAsync(tenant, name, ct);
        }

        var candidates = await control.ListNetworksAsync(tenant, ct);
        if (opts.GetValueOrDefault("pkt-tag") is { Length: > 0 } tagText && int.TryParse(tagText, NumberStyles.None, CultureInfo.InvariantCulture, out var tag))
        {
            var encap = opts.GetValueOrDefault("encap") ?? "vxlan";
            var byTag = candidates.FirstOrDefault(n => n.Tag == tag && n.Config.Encap == encap);
            if (byTag is not null)
            {
                return byTag;
            }
        }

        if (pool is not null)
        {
            var cidr = Ipv4Subnet.Parse(pool).Cidr;
            var bySubnet = candidates.Where(n => Ipv4Subnet.Parse(n.Config.Subnet).Cidr == cidr).ToList();
            if (bySubnet.Count == 1)
            {
                return bySubnet[0];
            }

            if (bySubnet.Count > 1)
            {
                throw ContivException.Invalid($"several networks of tenant {tenant} use subnet {cidr}; pass --ipam-opt network=NAME");
            }
        }

        throw ContivException.NotFound(
            $"no Contiv network of tenant {tenant} matches subnet {pool ?? "(none)"}; create it first with: netctl net create -t {tenant} --subnet {pool ?? "CIDR"} NAME");
    }

    /// <summary>Docker's <c>com.docker.network.generic</c> option bag (the <c>-o key=value</c> pairs).</summary>
    private static Dictionary<string, string> GenericOptions(Dictionary<string, JsonElement>? options)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options is not null && options.TryGetValue("com.docker.network.generic", out var generic) && generic.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in generic.EnumerateObject())
            {
                result[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }

        return result;
    }

    private static string Required(string? value, string field) =>
        string.IsNullOrEmpty(value) ? throw ContivException.Invalid($"request is missing {field}") : value;
}
