using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Contiv.Datapath.Netlink;

/// <summary>
/// A netlink socket (NETLINK_ROUTE unless told otherwise, e.g. NETLINK_NETFILTER for nf_tables)
/// bound in the network namespace of the thread that created it (a socket keeps that namespace for
/// life, whichever thread uses it later). Sends one request (or one batch) at a time and reads until
/// its reply is complete. Not thread-safe; <see cref="RouteNetlink"/> (and tc's TrafficControl in
/// Contiv.Datapath.TcBpf, nf_tables' NftablesNetlink) lock.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly int _fd;
    private byte[] _receiveBuffer = new byte[64 * 1024];
    private uint _sequence;
    private bool _disposed;

    public NetlinkSocket(int protocol = Uapi.NETLINK_ROUTE)
    {
        _fd = socket(Uapi.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        if (_fd < 0)
        {
            throw new NetlinkException(errno, "open netlink socket", null);
        }

        try
        {
            // Ask for the kernel's error text (NETLINK_EXT_ACK) and for errors to echo only the
            // request's header, not the whole request (NETLINK_CAP_ACK). Both are best effort.
            SetOption(Uapi.SOL_NETLINK, Uapi.NETLINK_EXT_ACK, 1);
            SetOption(Uapi.SOL_NETLINK, Uapi.NETLINK_CAP_ACK, 1);

            // A reply should never take long; a timeout beats hanging a plugin request forever.
            var timeout = new Timeval { Seconds = (nint)ReplyTimeout.TotalSeconds };
            _ = setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, (socklen_t)sizeof(Timeval));

            var local = new SockaddrNetlink { Family = Uapi.AF_NETLINK };
            if (bind(_fd, (sockaddr*)&local, (socklen_t)sizeof(SockaddrNetlink)) != 0)
            {
                throw new NetlinkException(errno, "bind netlink socket", null);
            }

            // The kernel picked our port id; replies carry it in nlmsg_pid.
            socklen_t length = (socklen_t)sizeof(SockaddrNetlink);
            if (getsockname(_fd, (sockaddr*)&local, &length) != 0)
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

    /// <summary>Sends <paramref name="request"/> and returns the reply's data messages.</summary>
    public NetlinkReply Execute(NetlinkMessageBuilder request, string operation, string? objectName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var sequence = unchecked(++_sequence);
        var bytes = request.Build(sequence, PortId);
        Send(bytes, operation, objectName);

        var reply = new NetlinkReply(sequence, PortId, operation, objectName);
        while (!reply.Accept(Receive(operation, objectName)))
        {
        }

        return reply;
    }

    /// <summary>
    /// Sends <paramref name="messages"/> in one datagram (an nfnetlink batch: the caller includes the
    /// BATCH_BEGIN and BATCH_END messages) with consecutive sequence numbers, and waits for the
    /// NLMSG_ERROR (ack or error) of every message whose flags ask for an ack. Each message's error
    /// becomes a <see cref="NetlinkException"/> naming that message through <paramref name="describe"/>;
    /// the first is thrown once all answers are in (the kernel aborts the whole batch on any error).
    /// An error about a message that asked no ack (the batch header: out of memory) ends the wait.
    /// </summary>
    public void ExecuteBatch(IReadOnlyList<NetlinkMessageBuilder> messages, string operation, Func<int, string?> describe)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var first = unchecked(_sequence + 1);
        var pending = new HashSet<uint>();
        using var datagram = new MemoryStream();
        for (var i = 0; i < messages.Count; i++)
        {
            var sequence = unchecked(++_sequence);
            if ((messages[i].Flags & Uapi.NLM_F_ACK) != 0)
            {
                pending.Add(sequence);
            }

            datagram.Write(messages[i].Build(sequence, PortId));
        }

        Send(datagram.ToArray(), operation, null);
        NetlinkException? failure = null;
        while (pending.Count > 0)
        {
            foreach (var message in NetlinkMessage.ParseAll(Receive(operation, null).ToArray()))
            {
                if (message.Header.Type != Uapi.NLMSG_ERROR || message.Header.PortId != PortId)
                {
                    continue;
                }

                var sequence = message.Header.Sequence;
                var index = unchecked((int)(sequence - first));
                if (index < 0 || index >= messages.Count)
                {
                    continue; // a late answer to an earlier request
                }

                if (NetlinkReply.ErrorOf(message) is { } error)
                {
                    failure ??= new NetlinkException(error.Errno, operation, describe(index), error.KernelMessage);
                    if (!pending.Contains(sequence))
                    {
                        pending.Clear();
                    }
                }

                pending.Remove(sequence);
            }
        }

        if (failure is not null)
        {
            throw failure;
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
        var kernel = new SockaddrNetlink { Family = Uapi.AF_NETLINK };
        fixed (byte* data = bytes)
        {
            while (true)
            {
                var sent = (long)sendto(_fd, data, (size_t)bytes.Length, 0, (sockaddr*)&kernel, (socklen_t)sizeof(SockaddrNetlink));
                if (sent >= 0)
                {
                    return;
                }

                if (errno != EINTR)
                {
                    throw new NetlinkException(errno, operation, objectName, "sending the netlink request failed");
                }
            }
        }
    }

    /// <summary>
    /// Reads one datagram. MSG_PEEK|MSG_TRUNC first reports its real size so a large dump part is
    /// never silently cut to the buffer's size.
    /// </summary>
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
                _receiveBuffer = new byte[NetlinkHeader.Align((int)size)];
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
            if (error == EINTR)
            {
                continue;
            }

            throw error == EAGAIN
                ? new NetlinkException(error, operation, objectName, $"no reply from the kernel within {ReplyTimeout.TotalSeconds} s")
                : new NetlinkException(error, operation, objectName, "receiving the netlink reply failed");
        }
    }

    private void SetOption(int level, int option, int value) =>
        _ = setsockopt(_fd, level, option, &value, (socklen_t)sizeof(int));

    /// <summary><c>struct sockaddr_nl</c> (Tmds.LibC has no netlink address type).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrNetlink
    {
        public ushort Family;
        public ushort Padding;
        public uint PortId;
        public uint Groups;
    }

    /// <summary><c>struct timeval</c> for SO_RCVTIMEO (long-sized fields on Linux).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public nint Seconds;
        public nint Microseconds;
    }
}
