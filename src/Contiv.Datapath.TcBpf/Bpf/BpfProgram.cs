using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Contiv.Datapath.TcBpf.Bpf;

/// <summary>
/// A loaded eBPF program: the fd bpf(BPF_PROG_LOAD) returned. The kernel frees the program once
/// the last reference is gone; a tc filter holds its own reference, so this object may be disposed
/// as soon as the program is attached.
/// </summary>
public sealed partial class BpfProgram : IDisposable
{
    /// <summary>BPF_PROG_TYPE_SCHED_CLS (uapi/linux/bpf.h <c>enum bpf_prog_type</c>).</summary>
    public const int ProgramTypeSchedCls = 3;

    /// <summary>BPF_OBJ_NAME_LEN is 16 including the NUL.</summary>
    public const int MaxNameLength = 15;

    /// <summary>BPF_PROG_LOAD (uapi/linux/bpf.h <c>enum bpf_cmd</c>).</summary>
    private const int BpfProgLoad = 5;

    /// <summary>The attr bytes we fill: up to and including expected_attach_type (offset 68, 4 bytes).</summary>
    private const int ProgLoadAttrSize = 72;

    /// <summary>Large enough for the verifier's log of any program this project loads.</summary>
    private const int VerifierLogSize = 256 * 1024;

    /// <summary>The verifier can fail transiently with EAGAIN; libbpf retries a few times as well.</summary>
    private const int LoadAttempts = 5;

    private const int EAGAIN = 11;
    private const int ENOSPC = 28;
    private const int ENOSYS = 38;

    private readonly SafeFileHandle _handle;

    private BpfProgram(SafeFileHandle handle, string name)
    {
        _handle = handle;
        Name = name;
    }

    public string Name { get; }

    /// <summary>The program fd, valid until <see cref="Dispose"/>.</summary>
    public int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return (int)_handle.DangerousGetHandle();
        }
    }

    /// <summary>
    /// Loads a BPF_PROG_TYPE_SCHED_CLS program under license "GPL" (bpf_skb_vlan_push and friends
    /// are GPL-only helpers). On failure the exception carries the verifier's log.
    /// </summary>
    public static BpfProgram LoadSchedCls(string name, IReadOnlyList<BpfInstruction> program) =>
        Load(ProgramTypeSchedCls, name, program, "GPL");

    public static unsafe BpfProgram Load(int programType, string name, IReadOnlyList<BpfInstruction> program, string license)
    {
        ValidateName(name);
        if (program.Count == 0)
        {
            throw new ArgumentException("an eBPF program needs at least one instruction", nameof(program));
        }

        var instructions = BpfInstruction.Encode(program);
        var licenseBytes = Encoding.ASCII.GetBytes(license + "\0");
        var nameBytes = Encoding.ASCII.GetBytes(name);

        var fd = -1;
        var error = 0;
        for (var attempt = 0; attempt < LoadAttempts; attempt++)
        {
            fd = TryLoad(programType, program.Count, instructions, licenseBytes, nameBytes, null, out error);
            if (fd >= 0 || error != EAGAIN)
            {
                break;
            }
        }

        if (fd >= 0)
        {
            return new BpfProgram(new SafeFileHandle(fd, ownsHandle: true), name);
        }

        // Load again with the verifier log on, only to explain the failure.
        var log = new byte[VerifierLogSize];
        var retryFd = TryLoad(programType, program.Count, instructions, licenseBytes, nameBytes, log, out var logError);
        if (retryFd >= 0)
        {
            // Cannot normally happen (the same program was just refused); keep the program anyway.
            return new BpfProgram(new SafeFileHandle(retryFd, ownsHandle: true), name);
        }

        var end = Array.IndexOf(log, (byte)0);
        var text = Encoding.ASCII.GetString(log, 0, end < 0 ? log.Length : end).TrimEnd();
        if (logError == ENOSPC)
        {
            text += "\n(verifier log truncated)";
        }

        throw new BpfException(error, $"load {name}", text);
    }

    /// <summary>Whether bpf(2) accepts a SCHED_CLS program here; <paramref name="reason"/> says why not.</summary>
    public static bool CanLoadSchedCls(out string? reason)
    {
        try
        {
            using var probe = LoadSchedCls("cv_probe", VlanPrograms.PassAll());
            reason = null;
            return true;
        }
        catch (BpfException e)
        {
            reason = e.Message;
            return false;
        }
        catch (PlatformNotSupportedException e)
        {
            reason = e.Message;
            return false;
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// bpf(BPF_PROG_LOAD, attr, size) with <c>union bpf_attr</c>'s load struct:
    /// prog_type@0 u32, insn_cnt@4 u32, insns@8 u64 pointer, license@16 u64 pointer,
    /// log_level@24 u32, log_size@28 u32, log_buf@32 u64 pointer, kern_version@40 u32,
    /// prog_flags@44 u32, prog_name@48 char[16], prog_ifindex@64 u32, expected_attach_type@68 u32.
    /// The kernel accepts a shorter attr than its own union and zero-fills the rest.
    /// </summary>
    private static unsafe int TryLoad(int programType, int count, byte[] instructions, byte[] license, byte[] name, byte[]? log, out int error)
    {
        var attr = stackalloc byte[ProgLoadAttrSize];
        new Span<byte>(attr, ProgLoadAttrSize).Clear();
        fixed (byte* insns = instructions)
        fixed (byte* licensePointer = license)
        fixed (byte* logPointer = log)
        {
            *(uint*)(attr + 0) = (uint)programType;
            *(uint*)(attr + 4) = (uint)count;
            *(ulong*)(attr + 8) = (ulong)insns;
            *(ulong*)(attr + 16) = (ulong)licensePointer;
            if (log is not null)
            {
                *(uint*)(attr + 24) = 1; // log_level 1: the verifier's path through the program
                *(uint*)(attr + 28) = (uint)log.Length;
                *(ulong*)(attr + 32) = (ulong)logPointer;
            }

            name.CopyTo(new Span<byte>(attr + 48, BpfProgram.MaxNameLength));
            return Bpf(BpfProgLoad, attr, ProgLoadAttrSize, out error);
        }
    }

    private static unsafe int Bpf(int command, byte* attr, int size, out int error)
    {
        var number = SyscallNumber();
        long result;
        do
        {
            result = Syscall(number, command, attr, (ulong)size);
            error = result < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (result < 0 && error == 4); // EINTR

        if (result < 0 && error == ENOSYS)
        {
            throw new PlatformNotSupportedException("this kernel has no bpf(2) syscall (CONFIG_BPF_SYSCALL is off): ENOSYS");
        }

        return (int)result;
    }

    /// <summary>__NR_bpf differs per architecture (arch/*/entry/syscalls, asm-generic/unistd.h).</summary>
    private static long SyscallNumber() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.RiscV64 => 280,
        Architecture.LoongArch64 => 280,
        Architecture.X86 => 357,
        Architecture.Arm => 386,
        var other => throw new PlatformNotSupportedException($"no bpf(2) syscall number known for {other}"),
    };

    private static void ValidateName(string name)
    {
        // bpf_obj_name_cpy(): alphanumerics, '_' and '.', at most BPF_OBJ_NAME_LEN - 1 characters.
        if (name.Length is 0 or > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
        {
            throw new ArgumentException($"'{name}' is not a valid bpf program name (1..{MaxNameLength} of [A-Za-z0-9_.])", nameof(name));
        }
    }

    /// <summary>glibc's <c>long syscall(long number, ...)</c>; the variadic arguments are all integers, passed like fixed ones on x86-64 and arm64.</summary>
    [LibraryImport("libc.so.6", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long Syscall(long number, long command, byte* attr, ulong size);
}

/// <summary>bpf(2) refused a request. For a program load, <see cref="VerifierLog"/> says why.</summary>
public sealed class BpfException : Exception
{
    public BpfException(int errno, string operation, string? verifierLog)
        : base(Format(errno, operation, verifierLog))
    {
        Errno = errno;
        Operation = operation;
        VerifierLog = verifierLog;
    }

    /// <summary>A positive Linux errno.</summary>
    public int Errno { get; }

    public string Operation { get; }

    public string? VerifierLog { get; }

    private static string Format(int errno, string operation, string? log)
    {
        var text = $"bpf {operation}: {Marshal.GetPInvokeErrorMessage(errno)} ({LinuxErrno.Name(errno)})";
        return string.IsNullOrWhiteSpace(log) ? text : $"{text}\nverifier log:\n{log}";
    }
}
