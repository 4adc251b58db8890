namespace Contiv.Datapath.Netlink;

/// <summary>
/// Collects the kernel's answer to one request from the datagrams read off the socket. Requests are
/// sent with NLM_F_ACK, so a plain request ends with an NLMSG_ERROR whose error is 0 (the ack, after
/// any reply such as RTM_NEWLINK for a get); a dump (NLM_F_DUMP) ends with NLMSG_DONE. Messages whose
/// sequence number or port id are not this request's (a late answer to an earlier, abandoned request)
/// are skipped. A negative error becomes a <see cref="NetlinkException"/>.
/// </summary>
internal sealed class NetlinkReply
{
    private readonly List<NetlinkMessage> _messages = [];

    public NetlinkReply(uint sequence, uint portId, string operation, string? objectName)
    {
        Sequence = sequence;
        PortId = portId;
        Operation = operation;
        ObjectName = objectName;
    }

    public uint Sequence { get; }

    public uint PortId { get; }

    public string Operation { get; }

    public string? ObjectName { get; }

    /// <summary>The data messages of the reply (not the ack or NLMSG_DONE).</summary>
    public IReadOnlyList<NetlinkMessage> Messages => _messages;

    public bool IsComplete { get; private set; }

    /// <summary>Set when the kernel flagged NLM_F_DUMP_INTR: the table changed during the dump; redo it.</summary>
    public bool DumpInterrupted { get; private set; }

    /// <summary>Takes one received datagram; returns true once the reply is complete.</summary>
    public bool Accept(ReadOnlySpan<byte> datagram)
    {
        // The socket's receive buffer is reused, so keep a copy the parsed messages can point into.
        foreach (var message in NetlinkMessage.ParseAll(datagram.ToArray()))
        {
            if (IsComplete)
            {
                break;
            }

            var header = message.Header;
            if (header.Sequence != Sequence || header.PortId != PortId)
            {
                continue;
            }

            if ((header.Flags & Uapi.NLM_F_DUMP_INTR) != 0)
            {
                DumpInterrupted = true;
            }

            switch (header.Type)
            {
                case Uapi.NLMSG_NOOP:
                    break;
                case Uapi.NLMSG_ERROR:
                    ThrowIfError(message);
                    IsComplete = true;
                    break;
                case Uapi.NLMSG_DONE:
                    // A dump that failed part-way puts the negative errno in NLMSG_DONE's payload.
                    if (message.Payload.Length >= 4 && HostOrder.ReadInt32(message.Payload.Span) is var error and < 0)
                    {
                        throw new NetlinkException(-error, Operation, ObjectName, ExtendedAckMessage(message, 4));
                    }

                    IsComplete = true;
                    break;
                case Uapi.NLMSG_OVERRUN:
                    throw new NetlinkException(LinuxErrno.ENOBUFS, Operation, ObjectName, "netlink overrun: reply data lost");
                default:
                    _messages.Add(message);
                    break;
            }
        }

        return IsComplete;
    }

    /// <summary>
    /// NLMSG_ERROR carries <c>struct nlmsgerr</c>: int error, then the request's nlmsghdr (and, unless
    /// NLM_F_CAPPED, the rest of the request), then with NLM_F_ACK_TLVS the extended-ack attributes.
    /// </summary>
    private void ThrowIfError(NetlinkMessage message)
    {
        if (ErrorOf(message) is { } error)
        {
            throw new NetlinkException(error.Errno, Operation, ObjectName, error.KernelMessage);
        }
    }

    /// <summary>
    /// The positive errno and the kernel's extended-ack text of an NLMSG_ERROR message, or null for
    /// an ack (error 0).
    /// </summary>
    internal static (int Errno, string? KernelMessage)? ErrorOf(NetlinkMessage message)
    {
        if (message.Payload.Length < 4)
        {
            throw new FormatException("NLMSG_ERROR without an error code");
        }

        var error = HostOrder.ReadInt32(message.Payload.Span);
        if (error == 0)
        {
            return null;
        }

        var echoedLength = NetlinkHeader.Size;
        if ((message.Header.Flags & Uapi.NLM_F_CAPPED) == 0 && message.Payload.Length >= 4 + NetlinkHeader.Size)
        {
            echoedLength = NetlinkHeader.Align((int)NetlinkHeader.Read(message.Payload.Span[4..]).Length);
        }

        var kernelMessage = (message.Header.Flags & Uapi.NLM_F_ACK_TLVS) != 0
            ? ExtendedAckMessage(message, 4 + echoedLength)
            : null;
        return (-error, kernelMessage);
    }

    private static string? ExtendedAckMessage(NetlinkMessage message, int attributesOffset)
    {
        if (attributesOffset >= message.Payload.Length)
        {
            return null;
        }

        return NetlinkAttributes.Parse(message.Payload[attributesOffset..]).GetString(Uapi.NLMSGERR_ATTR_MSG);
    }
}
