using System.Net;
using System.Net.NetworkInformation;
using Contiv.Datapath;
using Contiv.Model;

namespace Contiv.NetPlugin;

/// <summary>Static FDB and permanent ARP entries that reach remote endpoints and flood to remote VTEPs.</summary>
public sealed partial class LinuxBridgeDatapath
{
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

            var wantedUnicast = endpoints.ToDictionary(e => MacAddress.Parse(e.MacAddress), e => IPAddress.Parse(e.VtepIp));
            var wantedFlood = vteps.Select(IPAddress.Parse).ToHashSet();
            var current = inside.ListFdbEntries(device).Where(f => f.IsSelf && f.Destination is not null).ToList();
            var flood = MacAddress.Zero;

            foreach (var entry in current)
            {
                var mac = MacOf(entry.MacAddress);
                var keep = mac == flood
                    ? wantedFlood.Contains(entry.Destination!)
                    : mac is { } unicast && wantedUnicast.TryGetValue(unicast, out var vtep) && vtep.Equals(entry.Destination);
                if (!keep)
                {
                    inside.DeleteFdbEntry(device, entry.MacAddress, entry.Destination);
                }
            }

            foreach (var vtep in wantedFlood.Where(v => !current.Any(f => MacOf(f.MacAddress) == flood && v.Equals(f.Destination))))
            {
                inside.AppendFdbEntry(device, flood.ToPhysicalAddress(), vtep);
            }

            foreach (var (mac, vtep) in wantedUnicast)
            {
                if (!current.Any(f => MacOf(f.MacAddress) == mac && vtep.Equals(f.Destination)))
                {
                    inside.ReplaceFdbEntry(device, mac.ToPhysicalAddress(), vtep);
                }
            }

            // Permanent ARP entries for remote endpoints on the vxlan device: the desired set, exactly.
            var wantedArp = endpoints.ToDictionary(e => IPAddress.Parse(e.IpAddress), e => MacAddress.Parse(e.MacAddress));
            var currentArp = inside.ListNeighbours(device).Where(n => n.LinkIndex == link.Index && n.IsPermanent).ToList();
            foreach (var neighbour in currentArp)
            {
                if (!wantedArp.TryGetValue(neighbour.Address, out var mac) || MacOf(neighbour.MacAddress) != mac)
                {
                    inside.DeleteNeighbour(device, neighbour.Address);
                }
            }

            foreach (var (ip, mac) in wantedArp)
            {
                if (!currentArp.Any(n => n.Address.Equals(ip) && MacOf(n.MacAddress) == mac))
                {
                    inside.ReplaceNeighbour(device, ip, mac.ToPhysicalAddress());
                }
            }
        }
    }

    /// <summary>The kernel's address of an entry; null when it is not a 48-bit MAC (such an entry is never wanted).</summary>
    private static MacAddress? MacOf(PhysicalAddress? address) =>
        address is not null && address.GetAddressBytes().Length == 6 ? MacAddress.FromPhysicalAddress(address) : null;
}
