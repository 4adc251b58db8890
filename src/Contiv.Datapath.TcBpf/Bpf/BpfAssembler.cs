using static Contiv.Datapath.TcBpf.Bpf.BpfOpcode;

namespace Contiv.Datapath.TcBpf.Bpf;

/// <summary>
/// Builds an eBPF program instruction by instruction, with named labels for jump targets. Pure.
/// A jump's offset is counted in 8-byte instruction slots from the instruction after the jump
/// (kernel: <c>insn + insn->off + 1</c>); <see cref="LoadImmediate64"/> takes two slots, which the
/// offsets account for. Labels are resolved by <see cref="Assemble"/>.
/// </summary>
public sealed class BpfAssembler
{
    private readonly List<BpfInstruction> _instructions = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Slot, string Label)> _fixups = [];

    /// <summary>Instruction slots emitted so far (the index the next instruction gets).</summary>
    public int Count => _instructions.Count;

    /// <summary>Marks the next instruction as the target <paramref name="name"/>.</summary>
    public BpfAssembler Label(string name)
    {
        if (!_labels.TryAdd(name, _instructions.Count))
        {
            throw new InvalidOperationException($"label '{name}' is defined twice");
        }

        return this;
    }

    /// <summary><c>dst = imm</c> (64-bit, imm sign-extended): BPF_ALU64|BPF_MOV|BPF_K.</summary>
    public BpfAssembler Move(BpfRegister destination, int immediate) =>
        Emit(new BpfInstruction(BPF_ALU64 | BPF_MOV | BPF_K, destination, BpfRegister.R0, 0, immediate));

    /// <summary><c>dst = src</c> (64-bit): BPF_ALU64|BPF_MOV|BPF_X.</summary>
    public BpfAssembler Move(BpfRegister destination, BpfRegister source) =>
        Emit(new BpfInstruction(BPF_ALU64 | BPF_MOV | BPF_X, destination, source, 0, 0));

    /// <summary><c>dst = (u32)imm</c>, upper half zeroed: BPF_ALU|BPF_MOV|BPF_K.</summary>
    public BpfAssembler Move32(BpfRegister destination, int immediate) =>
        Emit(new BpfInstruction(BPF_ALU | BPF_MOV | BPF_K, destination, BpfRegister.R0, 0, immediate));

    /// <summary><c>dst &amp;= imm</c> (64-bit): BPF_ALU64|BPF_AND|BPF_K.</summary>
    public BpfAssembler And(BpfRegister destination, int immediate) =>
        Emit(new BpfInstruction(BPF_ALU64 | BPF_AND | BPF_K, destination, BpfRegister.R0, 0, immediate));

    /// <summary><c>dst = *(u32 *)(src + off)</c>: BPF_LDX|BPF_MEM|BPF_W.</summary>
    public BpfAssembler LoadWord(BpfRegister destination, BpfRegister source, short offset) =>
        Emit(new BpfInstruction(BPF_LDX | BPF_MEM | BPF_W, destination, source, offset, 0));

    /// <summary>
    /// <c>dst = imm64</c>: BPF_LD|BPF_DW|BPF_IMM, the only 16-byte instruction. The first slot
    /// carries the low 32 bits, the second (code 0, registers 0) the high 32 bits.
    /// </summary>
    public BpfAssembler LoadImmediate64(BpfRegister destination, long immediate)
    {
        Emit(new BpfInstruction(BPF_LD | BPF_DW | BPF_IMM, destination, BpfRegister.R0, 0, unchecked((int)immediate)));
        return Emit(new BpfInstruction(0, BpfRegister.R0, BpfRegister.R0, 0, unchecked((int)(immediate >> 32))));
    }

    /// <summary><c>if (dst OP imm) goto label</c>: BPF_JMP|OP|BPF_K, a 64-bit comparison.</summary>
    public BpfAssembler JumpIf(BpfCondition condition, BpfRegister register, int immediate, string label)
    {
        _fixups.Add((_instructions.Count, label));
        return Emit(new BpfInstruction((byte)(BPF_JMP | (byte)condition | BPF_K), register, BpfRegister.R0, 0, immediate));
    }

    /// <summary><c>goto label</c>: BPF_JMP|BPF_JA.</summary>
    public BpfAssembler Jump(string label)
    {
        _fixups.Add((_instructions.Count, label));
        return Emit(new BpfInstruction(BPF_JMP | BPF_JA, BpfRegister.R0, BpfRegister.R0, 0, 0));
    }

    /// <summary>
    /// <c>r0 = helper(r1, ..., r5)</c>: BPF_JMP|BPF_CALL with the helper id in imm. Clobbers R1..R5.
    /// </summary>
    public BpfAssembler Call(BpfHelper helper) =>
        Emit(new BpfInstruction(BPF_JMP | BPF_CALL, BpfRegister.R0, BpfRegister.R0, 0, (int)helper));

    /// <summary><c>return r0</c>: BPF_JMP|BPF_EXIT.</summary>
    public BpfAssembler Exit() => Emit(new BpfInstruction(BPF_JMP | BPF_EXIT, BpfRegister.R0, BpfRegister.R0, 0, 0));

    /// <summary><c>r0 = value; return r0</c>.</summary>
    public BpfAssembler Return(int value) => Move(BpfRegister.R0, value).Exit();

    /// <summary>The program with every jump's offset filled in.</summary>
    public IReadOnlyList<BpfInstruction> Assemble()
    {
        var program = _instructions.ToArray();
        foreach (var (slot, label) in _fixups)
        {
            if (!_labels.TryGetValue(label, out var target))
            {
                throw new InvalidOperationException($"jump at {slot} to undefined label '{label}'");
            }

            if (target >= program.Length)
            {
                throw new InvalidOperationException($"label '{label}' marks no instruction (it is at the end of the program)");
            }

            var offset = target - (slot + 1);
            if (offset is < short.MinValue or > short.MaxValue)
            {
                throw new InvalidOperationException($"jump at {slot} to '{label}' is {offset} slots away, beyond a 16-bit offset");
            }

            program[slot] = program[slot] with { Offset = (short)offset };
        }

        return program;
    }

    private BpfAssembler Emit(BpfInstruction instruction)
    {
        _instructions.Add(instruction);
        return this;
    }
}
