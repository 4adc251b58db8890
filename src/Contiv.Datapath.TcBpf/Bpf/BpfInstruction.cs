using System.Buffers.Binary;

namespace Contiv.Datapath.TcBpf.Bpf;

/// <summary>The eleven eBPF registers (uapi/linux/bpf.h BPF_REG_0..BPF_REG_10).</summary>
public enum BpfRegister
{
    /// <summary>Return value of helpers and of the program.</summary>
    R0 = 0,

    /// <summary>First helper argument; holds the context (<c>struct __sk_buff *</c>) on entry.</summary>
    R1 = 1,
    R2 = 2,
    R3 = 3,
    R4 = 4,
    R5 = 5,

    /// <summary>R6..R9 are callee-saved: they survive helper calls, R1..R5 do not.</summary>
    R6 = 6,
    R7 = 7,
    R8 = 8,
    R9 = 9,

    /// <summary>Read-only frame pointer.</summary>
    R10 = 10,
}

/// <summary>
/// One 8-byte eBPF instruction, <c>struct bpf_insn</c> (uapi/linux/bpf.h):
/// <c>__u8 code; __u8 dst_reg:4, src_reg:4; __s16 off; __s32 imm;</c>. The register nibbles are
/// bit-fields, so their order follows the host's bit-field layout: dst_reg in the low nibble on
/// little-endian hosts, in the high nibble on big-endian ones; off and imm are in host byte order.
/// </summary>
public readonly record struct BpfInstruction(byte Code, BpfRegister Destination, BpfRegister Source, short Offset, int Immediate)
{
    public const int Size = 8;

    public void WriteTo(Span<byte> destination, bool littleEndian)
    {
        destination[0] = Code;
        var dst = (byte)Destination;
        var src = (byte)Source;
        destination[1] = littleEndian ? (byte)((src << 4) | dst) : (byte)((dst << 4) | src);
        if (littleEndian)
        {
            BinaryPrimitives.WriteInt16LittleEndian(destination[2..], Offset);
            BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Immediate);
        }
        else
        {
            BinaryPrimitives.WriteInt16BigEndian(destination[2..], Offset);
            BinaryPrimitives.WriteInt32BigEndian(destination[4..], Immediate);
        }
    }

    /// <summary>The program as the kernel reads it (BPF_PROG_LOAD's <c>insns</c>), in this host's layout.</summary>
    public static byte[] Encode(IReadOnlyList<BpfInstruction> program) => Encode(program, BitConverter.IsLittleEndian);

    public static byte[] Encode(IReadOnlyList<BpfInstruction> program, bool littleEndian)
    {
        var bytes = new byte[program.Count * Size];
        for (var i = 0; i < program.Count; i++)
        {
            program[i].WriteTo(bytes.AsSpan(i * Size), littleEndian);
        }

        return bytes;
    }

    public override string ToString() => $"{Code:x2} dst={Destination} src={Source} off={Offset} imm={Immediate}";
}

/// <summary>
/// Opcode bits from uapi/linux/bpf_common.h and bpf.h. An opcode is class | (size|mode) for loads
/// and stores, class | operation | source for ALU and jumps. Kernel names, so they grep against the headers.
/// </summary>
internal static class BpfOpcode
{
    // Instruction classes (low 3 bits).
    public const byte BPF_LD = 0x00;
    public const byte BPF_LDX = 0x01;
    public const byte BPF_ST = 0x02;
    public const byte BPF_STX = 0x03;
    public const byte BPF_ALU = 0x04;
    public const byte BPF_JMP = 0x05;
    public const byte BPF_JMP32 = 0x06;
    public const byte BPF_ALU64 = 0x07;

    // Load/store size.
    public const byte BPF_W = 0x00;
    public const byte BPF_H = 0x08;
    public const byte BPF_B = 0x10;
    public const byte BPF_DW = 0x18;

    // Load/store mode.
    public const byte BPF_IMM = 0x00;
    public const byte BPF_MEM = 0x60;

    // Operand source: the 32-bit immediate or the source register.
    public const byte BPF_K = 0x00;
    public const byte BPF_X = 0x08;

    // ALU operations.
    public const byte BPF_ADD = 0x00;
    public const byte BPF_SUB = 0x10;
    public const byte BPF_OR = 0x40;
    public const byte BPF_AND = 0x50;
    public const byte BPF_LSH = 0x60;
    public const byte BPF_RSH = 0x70;
    public const byte BPF_XOR = 0xa0;
    public const byte BPF_MOV = 0xb0;

    // Jump operations.
    public const byte BPF_JA = 0x00;
    public const byte BPF_JEQ = 0x10;
    public const byte BPF_JGT = 0x20;
    public const byte BPF_JGE = 0x30;
    public const byte BPF_JSET = 0x40;
    public const byte BPF_JNE = 0x50;
    public const byte BPF_CALL = 0x80;
    public const byte BPF_EXIT = 0x90;
}

/// <summary>The conditional jumps the assembler offers (the BPF_JMP operation bits).</summary>
public enum BpfCondition
{
    Equal = BpfOpcode.BPF_JEQ,
    NotEqual = BpfOpcode.BPF_JNE,
    GreaterThan = BpfOpcode.BPF_JGT,
    GreaterOrEqual = BpfOpcode.BPF_JGE,

    /// <summary>Taken when (dst &amp; operand) != 0.</summary>
    AnyBitSet = BpfOpcode.BPF_JSET,
}

/// <summary>Helper function ids (uapi/linux/bpf.h <c>enum bpf_func_id</c>, stable ABI).</summary>
public enum BpfHelper
{
    /// <summary><c>long bpf_skb_vlan_push(struct sk_buff *skb, __be16 vlan_proto, u16 vlan_tci)</c>.</summary>
    SkbVlanPush = 18,

    /// <summary><c>long bpf_skb_vlan_pop(struct sk_buff *skb)</c>.</summary>
    SkbVlanPop = 19,

    /// <summary><c>long bpf_redirect(u32 ifindex, u64 flags)</c>: returns TC_ACT_REDIRECT; flags 0 is the device's egress, BPF_F_INGRESS its ingress.</summary>
    Redirect = 23,
}
