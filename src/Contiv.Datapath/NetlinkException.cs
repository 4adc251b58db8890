using System.Runtime.InteropServices;

namespace Contiv.Datapath;

/// <summary>
/// The kernel refused a netlink request (or the socket failed). The message names the operation,
/// the object and the errno, e.g. <c>create link cvbr-7: File exists (EEXIST)</c>, followed by the
/// kernel's extended-ack text when it sent one (e.g. "Unknown device type").
/// </summary>
public sealed class NetlinkException : Exception
{
    public NetlinkException(int errno, string operation, string? objectName, string? kernelMessage = null)
        : base(Format(errno, operation, objectName, kernelMessage))
    {
        Errno = errno;
        Operation = operation;
        ObjectName = objectName;
        KernelMessage = kernelMessage;
    }

    /// <summary>A positive Linux errno (see <see cref="LinuxErrno"/>).</summary>
    public int Errno { get; }

    public string ErrnoName => LinuxErrno.Name(Errno);

    public string Operation { get; }

    public string? ObjectName { get; }

    /// <summary>The NLMSGERR_ATTR_MSG text from the kernel's extended ack, if any.</summary>
    public string? KernelMessage { get; }

    private static string Format(int errno, string operation, string? objectName, string? kernelMessage)
    {
        var subject = objectName is null ? operation : $"{operation} {objectName}";
        var text = $"{subject}: {Marshal.GetPInvokeErrorMessage(errno)} ({LinuxErrno.Name(errno)})";
        return string.IsNullOrEmpty(kernelMessage) ? text : $"{text}: {kernelMessage}";
    }
}

/// <summary>Linux errno values a caller of <see cref="INetlink"/> is likely to test for.</summary>
public static class LinuxErrno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ERANGE = 34;
    public const int EPROTONOSUPPORT = 93;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETUNREACH = 101;
    public const int ENOBUFS = 105;

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ERANGE => "ERANGE",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
        EOPNOTSUPP => "EOPNOTSUPP",
        EAFNOSUPPORT => "EAFNOSUPPORT",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENETUNREACH => "ENETUNREACH",
        ENOBUFS => "ENOBUFS",
        _ => $"errno {errno}",
    };
}
