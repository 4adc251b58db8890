using System.Runtime.ExceptionServices;
using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Contiv.Datapath;

/// <summary>
/// An open network namespace file: a /var/run/netns/NAME bind mount (what `ip netns add` and Docker
/// create) or /proc/PID/ns/net. <see cref="Run(Action{INetlink})"/> does netlink work inside it on a dedicated thread
/// that enters it with setns(CLONE_NEWNET); that thread ends afterwards, so no pooled thread (and
/// no other code) ever runs in the wrong namespace. Links can be moved or created into it by fd.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private readonly SafeFileHandle _handle;

    private NetworkNamespace(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    public string Path { get; }

    public static unsafe NetworkNamespace Open(string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* pathBytes = bytes)
        {
            fd = open(pathBytes, O_RDONLY | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            throw new NetlinkException(errno, "open network namespace", path);
        }

        return new NetworkNamespace(new SafeFileHandle(fd, ownsHandle: true), path);
    }

    /// <summary>
    /// Creates a new, empty network namespace that outlives this process, the way `ip netns add`
    /// does: a dedicated thread unshares into it and bind-mounts its namespace file onto
    /// <paramref name="path"/>. An existing namespace at that path is kept (idempotent).
    /// </summary>
    public static unsafe NetworkNamespace CreatePersistent(string path)
    {
        if (IsMountedNamespace(path))
        {
            return Open(path);
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
        OnDedicatedThread($"create netns {path}", () =>
        {
            if (unshare(CLONE_NEWNET) != 0)
            {
                throw new NetlinkException(errno, "create network namespace", path);
            }

            var source = System.Text.Encoding.UTF8.GetBytes("/proc/thread-self/ns/net\0");
            var target = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            var none = System.Text.Encoding.UTF8.GetBytes("none\0");
            fixed (byte* src = source, dst = target, fs = none)
            {
                if (mount(src, dst, fs, MS_BIND, null) != 0)
                {
                    throw new NetlinkException(errno, "bind-mount network namespace", path);
                }
            }

            return true;
        });
        return Open(path);
    }

    /// <summary>Unmounts and removes a namespace made by <see cref="CreatePersistent"/>; missing is fine.</summary>
    public static unsafe void DeletePersistent(string path)
    {
        var target = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* dst = target)
        {
            // MNT_DETACH: links inside go away once nothing else holds the namespace.
            if (umount2(dst, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
            {
                throw new NetlinkException(errno, "unmount network namespace", path);
            }
        }

        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>True when <paramref name="path"/> is a mounted namespace file (not a leftover empty file).</summary>
    public static bool IsMountedNamespace(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var ns = Open(path);
            return ns._handle.IsInvalid is false && IsNetNamespaceFd(ns);
        }
        catch (NetlinkException)
        {
            return false;
        }
    }

    private static bool IsNetNamespaceFd(NetworkNamespace ns)
    {
        // ioctl(NS_GET_NSTYPE) answers CLONE_NEWNET on a network namespace file and fails (ENOTTY)
        // on the plain empty file a crashed CreatePersistent may have left behind.
        var fd = (int)ns._handle.DangerousGetHandle();
        return ioctl(fd, NsGetNsType) == CLONE_NEWNET;
    }

    private const int NsGetNsType = 0xb703; // _IO(NSIO 0xb7, 0x3), linux/nsfs.h

    /// <summary>A namespace made by `ip netns add NAME`.</summary>
    public static NetworkNamespace OpenNamed(string name) => Open($"/var/run/netns/{name}");

    public static NetworkNamespace OpenOfProcess(int pid) => Open($"/proc/{pid}/ns/net");

    /// <summary>Runs <paramref name="action"/> with a netlink socket opened inside the namespace at <paramref name="path"/>.</summary>
    public static void Run(string path, Action<INetlink> action)
    {
        using var ns = Open(path);
        ns.Run(action);
    }

    public static T Run<T>(string path, Func<INetlink, T> func)
    {
        using var ns = Open(path);
        return ns.Run(func);
    }

    public void Run(Action<INetlink> action) => Run<object?>(netlink =>
    {
        action(netlink);
        return null;
    });

    /// <summary>
    /// Runs <paramref name="func"/> on a new thread that has entered this namespace, with a netlink
    /// socket opened there; blocks until it returns and rethrows its exception, if any.
    /// </summary>
    public T Run<T>(Func<INetlink, T> func) => RunInside(() =>
    {
        using var netlink = new RouteNetlink();
        return func(netlink);
    });

    /// <summary>
    /// A netlink socket bound inside this namespace, usable from any thread: a socket keeps the
    /// namespace it was created in, so only its creation needs the dedicated thread.
    /// </summary>
    public RouteNetlink OpenNetlink() => RunInside(() => new RouteNetlink());

    /// <summary>
    /// A socket of this namespace, usable from any thread: a service can listen on addresses that
    /// exist only inside it (netplugin's DNS responder on each network's bridge).
    /// </summary>
    public System.Net.Sockets.Socket OpenSocket(System.Net.Sockets.AddressFamily family, System.Net.Sockets.SocketType type, System.Net.Sockets.ProtocolType protocol) =>
        RunInside(() => new System.Net.Sockets.Socket(family, type, protocol));

    public void Dispose() => _handle.Dispose();

    /// <summary>Lends the namespace's fd to a request (IFLA_NET_NS_FD), keeping it open meanwhile.</summary>
    internal void UseFd(Action<int> action)
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            action((int)_handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="func"/> on a new thread that has entered this namespace (anything it
    /// opens there, such as a socket, stays bound to the namespace); blocks until it returns and
    /// rethrows its exception, if any.
    /// </summary>
    internal T RunInside<T>(Func<T> func) => OnDedicatedThread($"netns {Path}", () =>
    {
        Enter();
        return func();
    });

    /// <summary>
    /// Runs <paramref name="func"/> on a new background thread named <paramref name="threadName"/>
    /// and waits for it: setns and unshare change only the calling thread, and that thread ends
    /// afterwards, so no pooled thread is ever left in another namespace. Its exception is rethrown
    /// here with its original stack.
    /// </summary>
    private static T OnDedicatedThread<T>(string threadName, Func<T> func)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = func();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = threadName,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>Moves the calling thread (only) into this namespace; must run on a thread of our own.</summary>
    private void Enter() => UseFd(fd =>
    {
        if (setns(fd, CLONE_NEWNET) != 0)
        {
            throw new NetlinkException(errno, "enter network namespace", Path);
        }
    });
}
