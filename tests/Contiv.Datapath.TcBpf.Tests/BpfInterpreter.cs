using Contiv.Datapath.TcBpf.Bpf;
using static Contiv.Datapath.TcBpf.Bpf.BpfOpcode;

namespace Contiv.Datapath.TcBpf.Tests;

/// <summary>
/// Runs the handful of instructions the VLAN programs use against a fake <c>__sk_buff</c>, with
/// helpers stubbed and recorded, so the programs' logic is tested without a kernel. Context loads
/// must come from a register that holds the context pointer, as the verifier demands.
/// </summary>
internal sealed class BpfInterpreter
{
    private readonly long[] _registers = new long[11];
    private readonly bool[] _holdsContext = new bool[11];

    public BpfInterpreter(Dictionary<short, uint> context, Func<BpfHelper, long[], long> helper)
    {
        Context = context;
        Helper = helper;
    }

    public Dictionary<short, uint> Context { get; }

    public Func<BpfHelper, long[], long> Helper { get; }

    public List<(BpfHelper Helper, long[] Arguments)> Calls { get; } = [];

    public long Run(IReadOnlyList<BpfInstruction> program)
    {
        _holdsContext[1] = true;
        var pc = 0;
        for (var steps = 0; steps < 10_000; steps++)
        {
            var insn = program[pc];
            var dst = (int)insn.Destination;
            var src = (int)insn.Source;
            pc++;
            switch (insn.Code)
            {
                case BPF_ALU64 | BPF_MOV | BPF_K:
                    Set(dst, insn.Immediate);
                    break;
                case BPF_ALU | BPF_MOV | BPF_K:
                    Set(dst, (uint)insn.Immediate);
                    break;
                case BPF_ALU64 | BPF_MOV | BPF_X:
                    _registers[dst] = _registers[src];
                    _holdsContext[dst] = _holdsContext[src];
                    break;
                case BPF_ALU64 | BPF_AND | BPF_K:
                    Set(dst, _registers[dst] & insn.Immediate);
                    break;
                case BPF_LDX | BPF_MEM | BPF_W:
                    Assert.True(_holdsContext[src], $"load at {pc - 1} from r{src}, which does not hold the context");
                    Set(dst, Context.TryGetValue(insn.Offset, out var field) ? field : 0);
                    break;
                case BPF_LD | BPF_DW | BPF_IMM:
                    Set(dst, (uint)insn.Immediate | ((long)program[pc].Immediate << 32));
                    pc++;
                    break;
                case BPF_JMP | BPF_JA:
                    pc += insn.Offset;
                    break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                    pc += _registers[dst] == insn.Immediate ? insn.Offset : 0;
                    break;
                case BPF_JMP | BPF_JNE | BPF_K:
                    pc += _registers[dst] != insn.Immediate ? insn.Offset : 0;
                    break;
                case BPF_JMP | BPF_CALL:
                    var arguments = _registers[1..6];
                    Assert.True(_holdsContext[1] || (BpfHelper)insn.Immediate == BpfHelper.Redirect, "skb helpers take the context in r1");
                    Calls.Add(((BpfHelper)insn.Immediate, arguments));
                    _registers[0] = Helper((BpfHelper)insn.Immediate, arguments);
                    for (var r = 0; r <= 5; r++)
                    {
                        _holdsContext[r] = false; // r1..r5 are clobbered by a call
                    }

                    break;
                case BPF_JMP | BPF_EXIT:
                    return (int)_registers[0];
                default:
                    throw new InvalidOperationException($"instruction {insn} at {pc - 1} is not interpreted");
            }
        }

        throw new InvalidOperationException("program did not exit");
    }

    private void Set(int register, long value)
    {
        _registers[register] = value;
        _holdsContext[register] = false;
    }
}
