using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Contiv.Datapath.TcBpf.Tc;

/// <summary>
/// A NETLINK_ROUTE socket for tc requests, bound in the network namespace of the thread that
/// creates it (a socket keeps that namespace for life). Sends one request at a time and collects
/// the answer: requests carry NLM_F_ACK, so a plain request ends with an NLMSG_ERROR whose error
/// is 0, a dump with NLMSG_DONE; a negative error becomes a <see cref="NetlinkException"/> with the
/// kernel's extended-ack text. Messages of another sequence number or port (a late answer to an
/// abandoned request) are skipped. Not thread-safe; <see cref="TrafficControl"/> locks.
/// </summary>
internal sealed unsafe class TcNetlinkSocket : IDisposable
{
    private const int AF_NETLINK = 16;
    private const int NETLINK_ROUTE = 0;
    private const int SOL_NETLINK = 270;
    private const int NETLINK_CAP_ACK = 10;
    private const int NETLINK_EXT_ACK = 11;
    private const ushort NLMSG_NOOP = 1;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort NLMSG_OVERRUN = 4;
    private const ushort NLM_F_DUMP_INTR = 0x10;
    private const ushort NLM_F_CAPPED = 0x100; // in NLMSG_ERROR: the echoed request was cut to its header
    private const ushort NLM_F_ACK_TLVS = 0x200; // in NLMSG_ERROR: extended-ack attributes follow
    private const ushort NLMSGERR_ATTR_MSG = 1;
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly int _fd;
    private byte[] _receiveBuffer = new byte[64 * 1024];
    private uint _sequence;
    private bool _disposed;

    public TcNetlinkSocket()
    {
        _fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (_fd < 0)
        {
            throw new NetlinkException(errno, "open netlink socket", null);
        }

        try
        {
            // Extended acks carry the kernel's reason ("Parent Qdisc doesn't exists"); capped acks
            // keep an error from echoing the whole request. Both are best effort.
            SetOption(SOL_NETLINK, NETLINK_EXT_ACK, 1);
            SetOption(SOL_NETLINK, NETLINK_CAP_ACK, 1);
            var timeout = new Timeval { Seconds = (nint)ReplyTimeout.TotalSeconds };
            _ = setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, (socklen_t)sizeof(Timeval));

            var local = new SockaddrNetlink { Family = AF_NETLINK };
            socklen_t length = (socklen_t)sizeof(SockaddrNetlink);
            if (bind(_fd, (sockaddr*)&local, length) != 0 || getsockname(_fd, (sockaddr*)&local, &length) != 0)
            {
                throw new NetlinkException(errno, "bind netlink socket", null);
            }

            PortId = local.PortId;
            _sequence = (uint)Environment.TickCount;
        }
        catch
        {
            _ = close(_fd);
            throw;
        }
    }

    public uint PortId { get; }

    /// <summary>Sends <paramref name="request"/>; returns the reply's data messages and whether a dump was interrupted (NLM_F_DUMP_INTR).</summary>
    public (List<NetlinkMessage> Messages, bool DumpInterrupted) Execute(NetlinkRequest request, string operation, string? objectName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var sequence = unchecked(++_sequence);
        Send(request.Build(sequence, PortId), operation, objectName);

        var messages = new List<NetlinkMessage>();
        var interrupted = false;
        while (true)
        {
            // Copy: the receive buffer is reused, the messages point into their datagram.
            foreach (var message in NetlinkMessage.ParseAll(Receive(operation, objectName).ToArray()))
            {
                if (message.Sequence != sequence || message.PortId != PortId)
                {
                    continue;
                }

                interrupted |= (message.Flags & NLM_F_DUMP_INTR) != 0;
                switch (message.Type)
                {
                    case NLMSG_NOOP:
                        break;
                    case NLMSG_ERROR:
                        ThrowIfError(message, operation, objectName);
                        return (messages, interrupted);
                    case NLMSG_DONE:
                        // A dump that failed part-way puts the negative errno in NLMSG_DONE's payload.
                        if (message.Payload.Length >= 4 && MemoryMarshal.Read<int>(message.Payload.Span) is var error and < 0)
                        {
                            throw new NetlinkException(-error, operation, objectName, ExtendedAckMessage(message, 4));
                        }

                        return (messages, interrupted);
                    case NLMSG_OVERRUN:
                        throw new NetlinkException(LinuxErrno.ENOBUFS, operation, objectName, "netlink overrun: reply data lost");
                    default:
                        messages.Add(message);
                        break;
                }
            }
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _ = close(_fd);
        }
    }

    private void Send(byte[] bytes, string operation, string? objectName)
    {
        var kernel = new SockaddrNetlink { Family = AF_NETLINK };
        fixed (byte* data = bytes)
        {
            while (sendto(_fd, data, (size_t)bytes.Length, 0, (sockaddr*)&kernel, (socklen_t)sizeof(SockaddrNetlink)) < 0)
            {
                if (errno != EINTR)
                {
                    throw new NetlinkException(errno, operation, objectName, "sending the netlink request failed");
                }
            }
        }
    }

    /// <summary>One datagram; MSG_PEEK|MSG_TRUNC first learns its size so a big dump part is never cut.</summary>
    private ReadOnlySpan<byte> Receive(string operation, string? objectName)
    {
        while (true)
        {
            long size;
            fixed (byte* data = _receiveBuffer)
            {
                size = recv(_fd, data, (size_t)_receiveBuffer.Length, MSG_PEEK | MSG_TRUNC);
            }

            if (size > _receiveBuffer.Length)
            {
                _receiveBuffer = new byte[NetlinkRequest.Align((int)size)];
            }

            if (size >= 0)
            {
                fixed (byte* data = _receiveBuffer)
                {
                    size = recv(_fd, data, (size_t)_receiveBuffer.Length, 0);
                }
            }

            if (size >= 0)
            {
                return _receiveBuffer.AsSpan(0, (int)size);
            }

            var error = errno;
            if (error != EINTR)
            {
                throw new NetlinkException(error, operation, objectName,
                    error == EAGAIN ? $"no reply from the kernel within {ReplyTimeout.TotalSeconds} s" : "receiving the netlink reply failed");
            }
        }
    }

    /// <summary>
    /// NLMSG_ERROR carries <c>struct nlmsgerr</c>: int error, the request's nlmsghdr (all of the
    /// request unless NLM_F_CAPPED), then with NLM_F_ACK_TLVS the extended-ack attributes.
    /// </summary>
    private static void ThrowIfError(NetlinkMessage message, string operation, string? objectName)
    {
        if (message.Payload.Length < 4)
        {
            throw new FormatException("NLMSG_ERROR without an error code");
        }

        var error = MemoryMarshal.Read<int>(message.Payload.Span);
        if (error == 0)
        {
            return;
        }

        var echoedLength = NetlinkRequest.HeaderSize;
        if ((message.Flags & NLM_F_CAPPED) == 0 && message.Payload.Length >= 4 + NetlinkRequest.HeaderSize)
        {
            echoedLength = NetlinkRequest.Align((int)MemoryMarshal.Read<uint>(message.Payload.Span[4..]));
        }

        var kernelMessage = (message.Flags & NLM_F_ACK_TLVS) != 0 ? ExtendedAckMessage(message, 4 + echoedLength) : null;
        throw new NetlinkException(-error, operation, objectName, kernelMessage);
    }

    private static string? ExtendedAckMessage(NetlinkMessage message, int attributesOffset) =>
        attributesOffset < message.Payload.Length
            ? NetlinkAttributes.Parse(message.Payload[attributesOffset..]).GetString(NLMSGERR_ATTR_MSG)
            : null;

    private void SetOption(int level, int option, int value) =>
        _ = setsockopt(_fd, level, option, &value, (socklen_t)sizeof(int));

    /// <summary><c>struct sockaddr_nl</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrNetlink
    {
        public ushort Family;
        public ushort Padding;
        public uint PortId;
        public uint Groups;
    }

    /// <summary><c>struct timeval</c> for SO_RCVTIMEO.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public nint Seconds;
        public nint Microseconds;
    }
}
