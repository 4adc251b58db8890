using Contiv.Datapath.TcBpf.Bpf;
using static Contiv.Datapath.TcBpf.Bpf.BpfRegister;

namespace Contiv.Datapath.TcBpf.Tests;

/// <summary>
/// Instruction encodings checked against what the kernel documents (Documentation/bpf/standardization/
/// instruction-set.rst) and what clang emits for the same C, written as hex "code regs off imm".
/// </summary>
public class BpfAssemblerTests
{
    private static string Hex(BpfAssembler assembler) => Hex(assembler.Assemble());

    private static string Hex(IReadOnlyList<BpfInstruction> program) =>
        string.Join(' ', program.Select(i => Convert.ToHexString(BpfInstruction.Encode([i], littleEndian: true)).ToLowerInvariant()));

    [Fact]
    public void Mov64_immediate_puts_dst_in_the_low_nibble_and_imm_little_endian()
    {
        // r0 = -1  ->  b7 00 0000 ffffffff
        Assert.Equal("b7000000ffffffff", Hex(new BpfAssembler().Move(R0, -1)));
    }

    [Fact]
    public void Mov64_register_puts_src_in_the_high_nibble()
    {
        // r6 = r1  ->  bf 16 0000 00000000
        Assert.Equal("bf16000000000000", Hex(new BpfAssembler().Move(R6, R1)));
    }

    [Fact]
    public void Mov32_and_and64_and_ldxw_encode_class_op_and_source()
    {
        var program = new BpfAssembler()
            .Move32(R2, 0x0081)        // w2 = 0x81:          b4 02 0000 81000000
            .And(R2, 0x0fff)           // r2 &= 0xfff:        57 02 0000 ff0f0000
            .LoadWord(R2, R6, 24);     // r2 = *(u32*)(r6+24): 61 62 1800 00000000
        Assert.Equal("b402000081000000 57020000ff0f0000 6162180000000000", Hex(program));
    }

    [Fact]
    public void Call_carries_the_helper_id_and_exit_is_95()
    {
        Assert.Equal("8500000017000000 9500000000000000", Hex(new BpfAssembler().Call(BpfHelper.Redirect).Exit()));
        Assert.Equal(18, (int)BpfHelper.SkbVlanPush);
        Assert.Equal(19, (int)BpfHelper.SkbVlanPop);
    }

    [Fact]
    public void Load_immediate_64_takes_two_slots_low_half_first()
    {
        var program = new BpfAssembler().LoadImmediate64(R3, 0x1122334455667788).Assemble();

        Assert.Equal(2, program.Count);
        Assert.Equal("1803000088776655 0000000044332211", Hex(program));
    }

    [Fact]
    public void Forward_jump_offset_counts_slots_after_the_jump()
    {
        var program = new BpfAssembler()
            .JumpIf(BpfCondition.NotEqual, R0, 0, "out") // 0: jumps to 3, so off = 3 - (0 + 1) = 2
            .Move(R0, 1)                                 // 1
            .Exit()                                      // 2
            .Label("out")
            .Return(2)                                   // 3, 4
            .Assemble();

        Assert.Equal("5500020000000000", Hex([program[0]]));
    }

    [Fact]
    public void Jump_over_a_load_immediate_64_skips_both_of_its_slots()
    {
        var program = new BpfAssembler()
            .JumpIf(BpfCondition.Equal, R1, 7, "after") // 0
            .LoadImmediate64(R2, -1)                   // 1, 2
            .Label("after")
            .Exit()                                     // 3
            .Assemble();

        Assert.Equal(2, program[0].Offset);
        Assert.Equal("1501020007000000", Hex([program[0]]));
    }

    [Fact]
    public void Backward_jump_has_a_negative_offset()
    {
        var program = new BpfAssembler()
            .Label("top")
            .Move(R0, 0)    // 0
            .Jump("top")    // 1: off = 0 - 2 = -2
            .Assemble();

        Assert.Equal(-2, program[1].Offset);
        Assert.Equal("0500feff00000000", Hex([program[1]]));
    }

    [Fact]
    public void Undefined_duplicate_and_dangling_labels_are_refused()
    {
        Assert.Contains("undefined label 'nowhere'",
            Assert.Throws<InvalidOperationException>(() => new BpfAssembler().Jump("nowhere").Exit().Assemble()).Message);
        Assert.Throws<InvalidOperationException>(() => new BpfAssembler().Label("a").Exit().Label("a"));
        Assert.Throws<InvalidOperationException>(() => new BpfAssembler().Jump("end").Exit().Label("end").Assemble());
    }

    [Fact]
    public void Big_endian_hosts_swap_the_register_nibbles_and_number_bytes()
    {
        var move = new BpfInstruction(0xbf, R6, R1, 0x0102, 0x03040506);

        Assert.Equal("BF61010203040506", Convert.ToHexString(BpfInstruction.Encode([move], littleEndian: false)));
        Assert.Equal("BF16020106050403", Convert.ToHexString(BpfInstruction.Encode([move], littleEndian: true)));
    }
}
