using System.Buffers.Binary;
using System.Net;
using Contiv.Datapath.Netlink;
using static Contiv.Datapath.Netlink.Uapi;

namespace Contiv.Datapath.Nftables;

/// <summary>One IPv4 connection tracking entry: its original direction (who opened it) and its mark.</summary>
/// <param name="SourcePort">TCP/UDP source port, or the ICMP id.</param>
/// <param name="DestinationPort">TCP/UDP destination port, or ICMP type (high byte) and code (low byte).</param>
public sealed record ConntrackEntry(IPAddress Source, IPAddress Destination, byte Protocol, ushort SourcePort, ushort DestinationPort, uint Mark);

/// <summary>
/// The little of ctnetlink policy needs: forget a namespace's IPv4 connection tracking entries, or
/// re-mark them by what the current rules say of their original direction. After a flush, the next
/// packet of a TCP connection is picked up mid-stream as a new connection (the kernel's default
/// nf_conntrack_tcp_loose=1) and goes through the rules again, in whatever direction it travels;
/// UDP flows likewise.
/// </summary>
public static class ConntrackNetlink
{
    private const ushort NFNL_SUBSYS_CTNETLINK = 1;
    private const ushort IPCTNL_MSG_CT_NEW = 0;
    private const ushort IPCTNL_MSG_CT_GET = 1;
    private const ushort IPCTNL_MSG_CT_DELETE = 2;

    // enum ctattr_type / ctattr_tuple / ctattr_ip / ctattr_l4 (linux/netfilter/nfnetlink_conntrack.h)
    private const ushort CTA_TUPLE_ORIG = 1;
    private const ushort CTA_MARK = 8;
    private const ushort CTA_TUPLE_IP = 1;
    private const ushort CTA_TUPLE_PROTO = 2;
    private const ushort CTA_IP_V4_SRC = 1;
    private const ushort CTA_IP_V4_DST = 2;
    private const ushort CTA_PROTO_NUM = 1;
    private const ushort CTA_PROTO_SRC_PORT = 2;
    private const ushort CTA_PROTO_DST_PORT = 3;
    private const ushort CTA_PROTO_ICMP_ID = 4;
    private const ushort CTA_PROTO_ICMP_TYPE = 5;
    private const ushort CTA_PROTO_ICMP_CODE = 6;

    /// <summary>Deletes every IPv4 conntrack entry in <paramref name="networkNamespace"/> (`conntrack -F`).</summary>
    public static void FlushIpv4(NetworkNamespace networkNamespace)
    {
        ArgumentNullException.ThrowIfNull(networkNamespace);
        networkNamespace.RunInside(() =>
        {
            using var socket = new NetlinkSocket(NftUapi.NETLINK_NETFILTER);

            // A delete without a tuple attribute deletes the family's whole table.
            socket.Execute(Message(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK), "flush conntrack", networkNamespace.Path);
            return true;
        });
    }

    /// <summary>
    /// Sets every IPv4 entry's mark to <paramref name="markOf"/>(entry) where it differs (`conntrack -U
    /// --mark`), in one pass inside the namespace; returns how many entries changed. Entries that end
    /// meanwhile are skipped. Only ICMP, TCP and UDP entries are considered (the others keep their mark).
    /// </summary>
    public static int Remark(NetworkNamespace networkNamespace, Func<ConntrackEntry, uint> markOf)
    {
        ArgumentNullException.ThrowIfNull(networkNamespace);
        ArgumentNullException.ThrowIfNull(markOf);
        return networkNamespace.RunInside(() =>
        {
            using var socket = new NetlinkSocket(NftUapi.NETLINK_NETFILTER);
            var reply = socket.Execute(Message(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP), "list conntrack", networkNamespace.Path);
            var changed = 0;
            foreach (var entry in reply.Messages.Select(Parse).OfType<ConntrackEntry>())
            {
                var mark = markOf(entry);
                if (mark == entry.Mark)
                {
                    continue;
                }

                try
                {
                    socket.Execute(UpdateMark(entry, mark), "mark conntrack entry", $"{entry.Source} > {entry.Destination} proto {entry.Protocol}");
                    changed++;
                }
                catch (NetlinkException e) when (e.Errno == LinuxErrno.ENOENT)
                {
                    // The connection ended between the dump and the update.
                }
            }

            return changed;
        });
    }

    internal static ConntrackEntry? Parse(NetlinkMessage message)
    {
        var attributes = message.AttributesAfter<NfGenMessage>();
        var tuple = attributes.GetNested(CTA_TUPLE_ORIG);
        var ip = tuple?.GetNested(CTA_TUPLE_IP);
        var proto = tuple?.GetNested(CTA_TUPLE_PROTO);
        if (ip?.GetAddress(CTA_IP_V4_SRC) is not { } source || ip.GetAddress(CTA_IP_V4_DST) is not { } destination
            || proto?.GetUInt8(CTA_PROTO_NUM) is not { } protocol)
        {
            return null;
        }

        var mark = attributes.GetUInt32BigEndian(CTA_MARK) ?? 0;
        return protocol switch
        {
            6 or 17 => new ConntrackEntry(source, destination, protocol, Port(proto, CTA_PROTO_SRC_PORT), Port(proto, CTA_PROTO_DST_PORT), mark),
            1 => new ConntrackEntry(source, destination, protocol, Port(proto, CTA_PROTO_ICMP_ID),
                (ushort)((proto.GetUInt8(CTA_PROTO_ICMP_TYPE) ?? 0) << 8 | (proto.GetUInt8(CTA_PROTO_ICMP_CODE) ?? 0)), mark),
            _ => null,
        };
    }

    /// <summary>IPCTNL_MSG_CT_NEW without NLM_F_CREATE: changes the entry with this original tuple (ENOENT when there is none).</summary>
    internal static NetlinkMessageBuilder UpdateMark(ConntrackEntry entry, uint mark)
    {
        var request = Message(IPCTNL_MSG_CT_NEW, NLM_F_REQUEST | NLM_F_ACK);
        var tuple = request.BeginNested(CTA_TUPLE_ORIG | NLA_F_NESTED);
        var ip = request.BeginNested(CTA_TUPLE_IP | NLA_F_NESTED);
        request.AddAddress(CTA_IP_V4_SRC, entry.Source);
        request.AddAddress(CTA_IP_V4_DST, entry.Destination);
        request.EndNested(ip);
        var proto = request.BeginNested(CTA_TUPLE_PROTO | NLA_F_NESTED);
        request.AddUInt8(CTA_PROTO_NUM, entry.Protocol);
        if (entry.Protocol == 1)
        {
            request.AddUInt16BigEndian(CTA_PROTO_ICMP_ID, entry.SourcePort);
            request.AddUInt8(CTA_PROTO_ICMP_TYPE, (byte)(entry.DestinationPort >> 8));
            request.AddUInt8(CTA_PROTO_ICMP_CODE, (byte)entry.DestinationPort);
        }
        else
        {
            request.AddUInt16BigEndian(CTA_PROTO_SRC_PORT, entry.SourcePort);
            request.AddUInt16BigEndian(CTA_PROTO_DST_PORT, entry.DestinationPort);
        }

        request.EndNested(proto);
        request.EndNested(tuple);
        request.AddUInt32BigEndian(CTA_MARK, mark);
        return request;
    }

    private static ushort Port(NetlinkAttributes proto, ushort type) =>
        proto.TryGet(type, out var value) && value.Value.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(value.Value.Span) : (ushort)0;

    private static NetlinkMessageBuilder Message(ushort type, ushort flags)
    {
        var request = new NetlinkMessageBuilder((ushort)((NFNL_SUBSYS_CTNETLINK << 8) | type), flags);
        request.AddHeader(new NfGenMessage(AF_INET, NftUapi.NFNETLINK_V0, 0));
        return request;
    }
}
