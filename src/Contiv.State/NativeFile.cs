using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace Contiv.State;

/// <summary>
/// The few POSIX file calls .NET does not expose: flock on a descriptor .NET does not also lock, and
/// fsync of a directory (which makes a rename durable). Closing a descriptor releases its flock.
/// </summary>
/// <remarks>
/// The lock file is opened with open(2), not FileStream: on Unix, FileStream takes its own
/// non-blocking flock when it opens a file and throws if that fails, so opening the lock file while
/// another process holds it would fail instead of waiting.
/// </remarks>
internal static partial class NativeFile
{
    private const int ExclusiveLock = 2;
    private const int NonBlocking = 4;

    public static unsafe int OpenLockFile(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + '\0');
        fixed (byte* pathBytes = bytes)
        {
            while (true)
            {
                var fd = LibC.open(pathBytes, LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0x1A4 /* 0644 */);
                if (fd >= 0)
                {
                    return fd;
                }

                var errno = Marshal.GetLastSystemError();
                if (errno != LibC.EINTR)
                {
                    throw new IOException($"cannot open lock file {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
        }
    }

    /// <summary>Takes an exclusive flock without blocking; false when another open file holds it.</summary>
    public static bool TryLockExclusive(int fd, string path) => TryLock(fd, ExclusiveLock | NonBlocking, path);

    /// <summary>Takes an exclusive flock, blocking the calling thread until it is free.</summary>
    public static void LockExclusive(int fd, string path) => _ = TryLock(fd, ExclusiveLock, path);

    public static void Close(int fd) => _ = LibC.close(fd);

    /// <summary>Makes renames and creations in <paramref name="directory"/> durable.</summary>
    public static unsafe void FsyncDirectory(string directory)
    {
        var bytes = Encoding.UTF8.GetBytes(directory + '\0');
        int fd;
        fixed (byte* pathBytes = bytes)
        {
            fd = LibC.open(pathBytes, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastSystemError())}");
        }

        try
        {
            if (LibC.fsync(fd) != 0)
            {
                throw new IOException($"cannot fsync directory {directory}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastSystemError())}");
            }
        }
        finally
        {
            _ = LibC.close(fd);
        }
    }

    private static bool TryLock(int fd, int operation, string path)
    {
        while (true)
        {
            if (flock(fd, operation) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.EWOULDBLOCK)
            {
                return false;
            }

            if (errno != LibC.EINTR)
            {
                throw new IOException($"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
    }

    // Tmds.LibC has no flock. "libc" is mapped by the runtime to the platform C library.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);
}
