using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath;

namespace Contiv.NetPlugin;

/// <summary>Static FDB and permanent ARP entries that reach remote endpoints and flood to remote VTEPs.</summary>
public sealed partial class LinuxBridgeDatapath
{
    private static readonly PhysicalAddress FloodMac = PhysicalAddress.Parse("00-00-00-00-00-00");

    public void SyncRemoteEndpoints(NetworkDatapathSpec network, IReadOnlyCollection<RemoteEndpoint> endpoints, IReadOnlyCollection<string> vteps)
    {
        if (network.Encap != "vxlan")
        {
            return;
        }

        lock (_lock)
        {
            if (!NetworkNamespace.IsMountedNamespace(NamespacePath(network)))
            {
                return;
            }

            var inside = Inside(network);
            var device = DatapathNames.Vxlan(network.Tag);
            var link = inside.GetLink(device);
            if (link is null)
            {
                return;
            }

            var wantedUnicast = endpoints.ToDictionary(e => NormalizeMac(e.MacAddress), e => IPAddress.Parse(e.VtepIp), StringComparer.Ordinal);
            var wantedFlood = vteps.Select(IPAddress.Parse).ToHashSet();
            var current = inside.ListFdbEntries(device).Where(f => f.IsSelf && f.Destination is not null).ToList();
            var flood = NormalizeMac(FloodMac.ToString());

            foreach (var entry in current)
            {
                var mac = NormalizeMac(entry.MacAddress.ToString());
                var keep = mac == flood
                    ? wantedFlood.Contains(entry.Destination!)
                    : wantedUnicast.TryGetValue(mac, out var vtep) && vtep.Equals(entry.Destination);
                if (!keep)
                {
                    inside.DeleteFdbEntry(device, entry.MacAddress, entry.Destination);
                }
            }

            foreach (var vtep in wantedFlood.Where(v => !current.Any(f => NormalizeMac(f.MacAddress.ToString()) == flood && v.Equals(f.Destination))))
            {
                inside.AppendFdbEntry(device, FloodMac, vtep);
            }

            foreach (var (mac, vtep) in wantedUnicast)
            {
                if (!current.Any(f => NormalizeMac(f.MacAddress.ToString()) == mac && vtep.Equals(f.Destination)))
                {
                    inside.ReplaceFdbEntry(device, ParseMac(mac), vtep);
                }
            }

            // Permanent ARP entries for remote endpoints on the vxlan device: the desired set, exactly.
            var wantedArp = endpoints.ToDictionary(e => IPAddress.Parse(e.IpAddress), e => NormalizeMac(e.MacAddress));
            var currentArp = inside.ListNeighbours(device).Where(n => n.LinkIndex == link.Index && n.IsPermanent).ToList();
            foreach (var neighbour in currentArp)
            {
                if (!wantedArp.TryGetValue(neighbour.Address, out var mac) || mac != NormalizeMac(neighbour.MacAddress?.ToString() ?? string.Empty))
                {
                    inside.DeleteNeighbour(device, neighbour.Address);
                }
            }

            foreach (var (ip, mac) in wantedArp)
            {
                if (!currentArp.Any(n => n.Address.Equals(ip) && NormalizeMac(n.MacAddress?.ToString() ?? string.Empty) == mac))
                {
                    inside.ReplaceNeighbour(device, ip, ParseMac(mac));
                }
            }
        }
    }

    private static string NormalizeMac(string mac) => mac.Replace("-", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static PhysicalAddress ParseMac(string normalized) => PhysicalAddress.Parse(normalized.ToUpperInvariant());
}
