using System.Globalization;
using Contiv.ControlPlane;
using Contiv.DockerEngine;
using Contiv.Model;
using Contiv.NetPlugin.Protocol;

namespace Contiv.NetPlugin;

/// <summary>
/// Docker networks made by hand (<c>docker network create -d netplugin --ipam-driver netplugin</c>).
/// Docker tells drivers no network name, so such a network becomes a Contiv network only once Docker
/// has stored it: <see cref="Adopt"/> registers it in the background, and the calls Docker makes in
/// the meantime wait for that, boundedly (<see cref="Timeout"/>).
/// </summary>
public sealed class HandMadeNetworks(
    ContivControl control,
    IHostDatapath datapath,
    DockerNetworkMap networks,
    IDockerEngine? docker,
    ILogger logger,
    TimeProvider clock)
{
    /// <summary>How long calls wait for a hand-made Docker network to be registered in the control plane.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Without a Docker engine to ask (tests, tools), nothing is adopted and nothing waits.</summary>
    public bool IsEnabled => docker is not null;

    /// <summary>The network's binding, waiting while a hand-made network may still be being registered.</summary>
    public async Task<DockerNetworkBinding> WaitForBindingAsync(string dockerNetworkId, CancellationToken ct)
    {
        var deadline = clock.GetUtcNow() + Timeout;
        while (true)
        {
            if (await networks.FindAsync(dockerNetworkId, ct) is { } binding)
            {
                return binding;
            }

            if (docker is null || clock.GetUtcNow() > deadline)
            {
                throw ContivException.NotFound($"network {ShortId.Of(dockerNetworkId)} is not known to netplugin; create Contiv networks with netctl (or docker network create -d netplugin --ipam-driver netplugin)");
            }

            await Task.Delay(PollInterval, clock, ct);
        }
    }

    public async Task<NetworkRecord?> FindBySubnetAsync(string tenant, string cidr, CancellationToken ct) =>
        (await control.ListNetworksAsync(tenant, ct)).FirstOrDefault(n => Ipv4Subnet.Parse(n.Config.Subnet).Cidr == cidr);

    /// <summary>The network id a pending pool turns into once its network is registered.</summary>
    public async Task<string> WaitForNetworkAsync(string tenant, string cidr, CancellationToken ct)
    {
        var deadline = clock.GetUtcNow() + Timeout;
        while (true)
        {
            if (await FindBySubnetAsync(tenant, cidr, ct) is { } record)
            {
                return record.NetworkId;
            }

            if (clock.GetUtcNow() > deadline)
            {
                throw ContivException.NotFound($"no Contiv network of tenant {tenant} has subnet {cidr}; was the Docker network created with --ipam-driver netplugin?");
            }

            await Task.Delay(PollInterval, clock, ct);
        }
    }

    /// <summary>Starts registering the network in the background: Docker stores it only after CreateNetwork returns.</summary>
    public void Adopt(string dockerId, IReadOnlyDictionary<string, string> opts, IpamData ipv4) =>
        _ = Task.Run(() => AdoptAsync(dockerId, opts, ipv4), CancellationToken.None);

    /// <summary>
    /// Registers a Docker network made by hand as a Contiv network named like it (<c>net</c> or
    /// <c>net/tenant</c>), with its subnet, gateway and the encap/pkt-tag options, then binds it.
    /// Other hosts' agents then create it on their engines like any Contiv network.
    /// </summary>
    private async Task AdoptAsync(string dockerId, IReadOnlyDictionary<string, string> opts, IpamData ipv4)
    {
        try
        {
            using var cts = new CancellationTokenSource(Timeout, clock);
            DockerNetworkInfo? info = null;
            while (info is null)
            {
                info = await docker!.InspectNetworkAsync(dockerId, cts.Token);
                if (info is null)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), clock, cts.Token);
                }
            }

            var (tenant, name) = Names.ParseDockerNetworkName(info.Name);
            if (opts.GetValueOrDefault("tenant") is { Length: > 0 } t)
            {
                tenant = t;
            }

            var subnet = Ipv4Subnet.Parse(ipv4.Pool);
            var gateway = ipv4.Gateway?.Split('/')[0];
            var network = new Network
            {
                TenantName = tenant,
                NetworkName = name,
                Subnet = subnet.Cidr,
                Gateway = gateway is null || gateway == Ipv4Subnet.FormatAddress(subnet.NetworkAddress) ? null : gateway,
                Encap = opts.GetValueOrDefault("encap"),
                PktTag = int.TryParse(opts.GetValueOrDefault("pkt-tag"), NumberStyles.None, CultureInfo.InvariantCulture, out var tag) ? tag : 0,
            };
            var record = await control.FindNetworkAsync(tenant, name, cts.Token) ?? await control.CreateNetworkAsync(network, cts.Token);
            var binding = new DockerNetworkBinding(record.NetworkId, record.Config.Encap!, record.Tag);
            datapath.EnsureNetwork(binding.Spec);
            await networks.BindAsync(dockerId, binding, cts.Token);
            logger.LogInformation("registered hand-made docker network {Name} ({DockerId}) as {Key} ({Encap} {Tag})", info.Name, ShortId.Of(dockerId), record.Config.Key, binding.Encap, binding.Tag);
        }
        catch (Exception e)
        {
            logger.LogError("could not register hand-made docker network {DockerId}: {Error}", ShortId.Of(dockerId), e.Message);
        }
    }
}
