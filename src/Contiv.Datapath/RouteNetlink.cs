using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.Uapi;

namespace Contiv.Datapath;

/// <summary>
/// <see cref="INetlink"/> over a NETLINK_ROUTE socket in the network namespace of the thread that
/// constructs it (use <see cref="NetworkNamespace"/> for another namespace). Requests are serialised
/// on one socket, so an instance may be shared between threads.
/// </summary>
public sealed class RouteNetlink : INetlink, IDisposable
{
    /// <summary>IFNAMSIZ is 16 including the terminating NUL.</summary>
    private const int MaxNameBytes = 15;

    /// <summary>How often a dump is redone when the kernel flags it inconsistent (NLM_F_DUMP_INTR).</summary>
    private const int DumpAttempts = 3;

    private readonly NetlinkSocket _socket = new();
    private readonly Lock _lock = new();
    private bool? _supportsVlanDevices;

    public LinkInfo? GetLink(string name)
    {
        ValidateName(name);
        return GetLinkOrNull(RtnetlinkRequests.GetLink(name), name);
    }

    public LinkInfo? GetLink(int index) => GetLinkOrNull(RtnetlinkRequests.GetLink(index), $"#{index}");

    public IReadOnlyList<LinkInfo> ListLinks() =>
        [.. Dump(RtnetlinkRequests.DumpLinks(), "list links").Select(RtnetlinkReplies.ParseLink)];

    public void CreateBridge(string name, int? mtu = null)
    {
        ValidateName(name);
        Execute(RtnetlinkRequests.CreateBridge(name, mtu), "create link", name);
    }

    public void CreateVxlan(VxlanOptions options)
    {
        ValidateName(options.Name);
        if (options.Vni is < 0 or > 0xFFFFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Vni, "a VXLAN id has 24 bits");
        }

        var underlay = options.UnderlayDevice is null ? (int?)null : IndexOf(options.UnderlayDevice, "create link", options.Name);
        Execute(RtnetlinkRequests.CreateVxlan(options, underlay), "create link", options.Name);
    }

    public void CreateVethPair(VethPairOptions options)
    {
        ValidateName(options.Name);
        ValidateName(options.PeerName);
        var objectName = $"{options.Name} (peer {options.PeerName})";
        if (options.PeerNamespace is { } peerNamespace)
        {
            peerNamespace.UseFd(fd => Execute(RtnetlinkRequests.CreateVeth(options.Name, options.PeerName, options.Mtu, fd), "create link", objectName));
        }
        else
        {
            Execute(RtnetlinkRequests.CreateVeth(options.Name, options.PeerName, options.Mtu, null), "create link", objectName);
        }
    }

    public void CreateVlan(string name, string parent, int vlanId)
    {
        ValidateName(name);
        if (vlanId is < 1 or > 4094)
        {
            throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "an 802.1Q vlan id is 1..4094");
        }

        var parentIndex = IndexOf(parent, "create link", name);
        try
        {
            Execute(RtnetlinkRequests.CreateVlan(name, parentIndex, vlanId), "create link", name);
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.EOPNOTSUPP)
        {
            throw new NetlinkException(e.Errno, e.Operation, e.ObjectName,
                $"{e.KernelMessage ?? "unknown device type"}: this kernel has no 802.1Q vlan devices (8021q)");
        }
    }

    /// <summary>
    /// Asks the kernel to create a vlan device without a parent. A kernel that knows the "vlan" kind
    /// rejects the missing IFLA_LINK (EINVAL) before creating anything; one without 8021q answers
    /// EOPNOTSUPP ("Unknown device type"). Lacking the privilege to ask (EPERM) is an error, not an answer.
    /// </summary>
    public bool SupportsVlanDevices()
    {
        if (_supportsVlanDevices is { } known)
        {
            return known;
        }

        const string probeName = "cvvlanprobe0";
        try
        {
            Execute(RtnetlinkRequests.CreateVlan(probeName, null, 1), "probe vlan support", probeName);
            DeleteLink(probeName); // not expected: only if some kernel accepted a parentless vlan
            _supportsVlanDevices = true;
        }
        catch (NetlinkException e) when (e.Errno is not (LinuxErrno.EPERM or LinuxErrno.EACCES))
        {
            _supportsVlanDevices = e.Errno != LinuxErrno.EOPNOTSUPP;
        }

        return _supportsVlanDevices.Value;
    }

    public void DeleteLink(string name)
    {
        ValidateName(name);
        Execute(RtnetlinkRequests.DeleteLink(name), "delete link", name);
    }

    public void SetLinkUp(string name) => ChangeLink(name, "set link up", () => RtnetlinkRequests.SetUp(name, true));

    public void SetLinkDown(string name) => ChangeLink(name, "set link down", () => RtnetlinkRequests.SetUp(name, false));

    public void SetMtu(string name, int mtu) =>
        ChangeLink(name, $"set mtu {mtu} on link", () => RtnetlinkRequests.SetMtu(name, mtu));

    public void SetMacAddress(string name, PhysicalAddress macAddress) =>
        ChangeLink(name, $"set address {FormatMac(macAddress)} on link", () => RtnetlinkRequests.SetMacAddress(name, macAddress));

    public void SetMaster(string name, string master)
    {
        var operation = $"set master {master} on link";
        ChangeLink(name, operation, () => RtnetlinkRequests.SetMaster(name, IndexOf(master, operation, name)));
    }

    public void SetNoMaster(string name) => ChangeLink(name, "set nomaster on link", () => RtnetlinkRequests.SetMaster(name, 0));

    public void RenameLink(string name, string newName)
    {
        ValidateName(newName);
        var operation = $"rename to {newName} link";
        Execute(RtnetlinkRequests.Rename(IndexOf(name, operation, name), newName), operation, name);
    }

    public void MoveToNamespace(string name, NetworkNamespace target)
    {
        ValidateName(name);
        var operation = $"move to namespace {target.Path} link";
        target.UseFd(fd => Execute(RtnetlinkRequests.MoveToNamespaceFd(name, fd), operation, name));
    }

    public void MoveToNamespaceOfProcess(string name, int pid) =>
        ChangeLink(name, $"move to namespace of pid {pid} link", () => RtnetlinkRequests.MoveToNamespaceOfProcess(name, pid));

    public void AddAddress(string device, IPAddress address, int prefixLength)
    {
        var objectName = $"{address}/{prefixLength} dev {device}";
        var index = IndexOf(device, "add address", objectName);
        Execute(RtnetlinkRequests.Address(RTM_NEWADDR, RtnetlinkRequests.CreateFlags, index, address, prefixLength), "add address", objectName);
    }

    public void DeleteAddress(string device, IPAddress address, int prefixLength)
    {
        var objectName = $"{address}/{prefixLength} dev {device}";
        var index = IndexOf(device, "delete address", objectName);
        Execute(RtnetlinkRequests.Address(RTM_DELADDR, RtnetlinkRequests.ChangeFlags, index, address, prefixLength), "delete address", objectName);
    }

    public IReadOnlyList<AddressInfo> ListAddresses(string? device = null)
    {
        var index = device is null ? (int?)null : IndexOf(device, "list addresses of", device);
        return [.. Dump(RtnetlinkRequests.DumpAddresses(), "list addresses")
            .Select(RtnetlinkReplies.ParseAddress)
            .Where(a => index is null || a.LinkIndex == index)];
    }

    public void AddFdbEntry(string device, PhysicalAddress macAddress, IPAddress remoteVtep) =>
        ChangeFdb(RTM_NEWNEIGH, RtnetlinkRequests.CreateFlags, "add fdb entry", device, macAddress, remoteVtep);

    public void ReplaceFdbEntry(string device, PhysicalAddress macAddress, IPAddress remoteVtep) =>
        ChangeFdb(RTM_NEWNEIGH, RtnetlinkRequests.ReplaceFlags, "replace fdb entry", device, macAddress, remoteVtep);

    public void AppendFdbEntry(string device, PhysicalAddress macAddress, IPAddress remoteVtep) =>
        ChangeFdb(RTM_NEWNEIGH, RtnetlinkRequests.AppendFlags, "append fdb entry", device, macAddress, remoteVtep);

    public void DeleteFdbEntry(string device, PhysicalAddress macAddress, IPAddress? remoteVtep = null) =>
        ChangeFdb(RTM_DELNEIGH, RtnetlinkRequests.ChangeFlags, "delete fdb entry", device, macAddress, remoteVtep);

    public IReadOnlyList<FdbEntry> ListFdbEntries(string device)
    {
        var index = IndexOf(device, "list fdb entries of", device);
        return [.. Dump(RtnetlinkRequests.DumpNeighbours(AF_BRIDGE), "list fdb entries")
            .Select(RtnetlinkReplies.ParseFdbEntry)
            .Where(e => e.LinkIndex == index)];
    }

    public void AddNeighbour(string device, IPAddress address, PhysicalAddress macAddress) =>
        ChangeNeighbour(RTM_NEWNEIGH, RtnetlinkRequests.CreateFlags, "add neighbour", device, address, macAddress);

    public void ReplaceNeighbour(string device, IPAddress address, PhysicalAddress macAddress) =>
        ChangeNeighbour(RTM_NEWNEIGH, RtnetlinkRequests.ReplaceFlags, "replace neighbour", device, address, macAddress);

    public void DeleteNeighbour(string device, IPAddress address) =>
        ChangeNeighbour(RTM_DELNEIGH, RtnetlinkRequests.ChangeFlags, "delete neighbour", device, address, null);

    public IReadOnlyList<NeighbourEntry> ListNeighbours(string? device = null)
    {
        var index = device is null ? (int?)null : IndexOf(device, "list neighbours of", device);

        // AF_UNSPEC dumps the ARP and IPv6 neighbour tables (the bridge FDB needs AF_BRIDGE).
        return [.. Dump(RtnetlinkRequests.DumpNeighbours(AF_UNSPEC), "list neighbours")
            .Where(m => RtnetlinkReplies.FamilyOf(m) is AF_INET or AF_INET6)
            .Select(RtnetlinkReplies.ParseNeighbour)
            .Where(n => index is null || n.LinkIndex == index)];
    }

    public void AddRoute(RouteSpec route) => ChangeRoute(RTM_NEWROUTE, RtnetlinkRequests.CreateFlags, "add route", route);

    public void DeleteRoute(RouteSpec route) => ChangeRoute(RTM_DELROUTE, RtnetlinkRequests.ChangeFlags, "delete route", route);

    public IReadOnlyList<RouteEntry> ListRoutes(int table = RouteSpec.MainTable) =>
        [.. Dump(RtnetlinkRequests.DumpRoutes(), "list routes")
            .Where(m => RtnetlinkReplies.FamilyOf(m) is AF_INET or AF_INET6)
            .Select(RtnetlinkReplies.ParseRoute)
            .Where(r => r.Table == table)];

    public void Dispose() => _socket.Dispose();

    private void ChangeFdb(ushort type, ushort flags, string operation, string device, PhysicalAddress macAddress, IPAddress? remoteVtep)
    {
        var objectName = $"{FormatMac(macAddress)}{(remoteVtep is null ? "" : $" dst {remoteVtep}")} dev {device}";
        var index = IndexOf(device, operation, objectName);
        Execute(RtnetlinkRequests.FdbEntry(type, flags, index, macAddress, remoteVtep), operation, objectName);
    }

    private void ChangeNeighbour(ushort type, ushort flags, string operation, string device, IPAddress address, PhysicalAddress? macAddress)
    {
        var objectName = $"{address}{(macAddress is null ? "" : $" lladdr {FormatMac(macAddress)}")} dev {device}";
        var index = IndexOf(device, operation, objectName);
        Execute(RtnetlinkRequests.Neighbour(type, flags, index, address, macAddress), operation, objectName);
    }

    private void ChangeRoute(ushort type, ushort flags, string operation, RouteSpec route)
    {
        var outputIndex = route.OutputDevice is null ? (int?)null : IndexOf(route.OutputDevice, operation, route.ToString());
        Execute(RtnetlinkRequests.Route(type, flags, route, outputIndex), operation, route.ToString());
    }

    private void ChangeLink(string name, string operation, Func<NetlinkMessageBuilder> request)
    {
        ValidateName(name);
        Execute(request(), operation, name);
    }

    private LinkInfo? GetLinkOrNull(NetlinkMessageBuilder request, string objectName)
    {
        try
        {
            var reply = Execute(request, "get link", objectName);
            return reply.Messages.Count == 0 ? null : RtnetlinkReplies.ParseLink(reply.Messages[0]);
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.ENODEV)
        {
            return null;
        }
    }

    /// <summary>Resolves a device name for a request that needs an index; a missing device is ENODEV.</summary>
    private int IndexOf(string device, string operation, string objectName)
    {
        ValidateName(device);
        return GetLink(device)?.Index
            ?? throw new NetlinkException(LinuxErrno.ENODEV, operation, objectName, $"no device named {device}");
    }

    private NetlinkReply Execute(NetlinkMessageBuilder request, string operation, string? objectName)
    {
        lock (_lock)
        {
            return _socket.Execute(request, operation, objectName);
        }
    }

    private List<NetlinkMessage> Dump(NetlinkMessageBuilder request, string operation)
    {
        NetlinkReply reply;
        var attempt = 0;
        do
        {
            reply = Execute(request, operation, null);
        }
        while (reply.DumpInterrupted && ++attempt < DumpAttempts);

        return [.. reply.Messages];
    }

    private static void ValidateName(string name)
    {
        var length = Encoding.UTF8.GetByteCount(name);
        if (length is 0 or > MaxNameBytes || name.AsSpan().IndexOfAny("/ \0:") >= 0)
        {
            throw new ArgumentException($"'{name}' is not a valid device name (1..{MaxNameBytes} bytes, no '/', ':' or spaces)", nameof(name));
        }
    }

    internal static string FormatMac(PhysicalAddress macAddress) =>
        string.Join(':', macAddress.GetAddressBytes().Select(b => b.ToString("x2")));
}
