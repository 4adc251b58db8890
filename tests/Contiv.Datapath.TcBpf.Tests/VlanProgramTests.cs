using Contiv.Datapath.TcBpf.Bpf;
using static Contiv.Datapath.TcBpf.Bpf.VlanPrograms;

namespace Contiv.Datapath.TcBpf.Tests;

/// <summary>The two programs' decisions, run in <see cref="BpfInterpreter"/> against fake skbs.</summary>
public class VlanProgramTests
{
    private const int Uplink = 7;
    private const int BridgeSide = 42;

    private static readonly int HtonsVlan = BitConverter.IsLittleEndian ? 0x0081 : 0x8100;

    private static (long Verdict, List<(BpfHelper Helper, long[] Arguments)> Calls) Run(
        IReadOnlyList<BpfInstruction> program, bool tagged, int tpid = 0x8100, int tci = 0, long helperResult = 0)
    {
        var context = new Dictionary<short, uint>
        {
            [SkBuff.VlanPresent] = tagged ? 1u : 0u,
            [SkBuff.VlanTci] = (uint)tci,
            [SkBuff.VlanProto] = tagged ? (uint)(BitConverter.IsLittleEndian ? (ushort)((tpid >> 8) | ((tpid & 0xff) << 8)) : tpid) : 0u,
        };
        var interpreter = new BpfInterpreter(context, (helper, _) => helper == BpfHelper.Redirect ? TcActRedirect : helperResult);
        var verdict = interpreter.Run(program);
        return (verdict, interpreter.Calls);
    }

    [Fact]
    public void Tagger_pushes_the_8021Q_tag_then_redirects_to_the_uplink_egress()
    {
        var (verdict, calls) = Run(Tagger(112, Uplink), tagged: false);

        Assert.Equal(TcActRedirect, verdict);
        Assert.Equal(2, calls.Count);
        Assert.Equal(BpfHelper.SkbVlanPush, calls[0].Helper);
        Assert.Equal(HtonsVlan, calls[0].Arguments[1]); // htons(ETH_P_8021Q)
        Assert.Equal(112, calls[0].Arguments[2]);
        Assert.Equal(BpfHelper.Redirect, calls[1].Helper);
        Assert.Equal(Uplink, calls[1].Arguments[0]);
        Assert.Equal(0, calls[1].Arguments[1]); // flags 0: egress
    }

    [Fact]
    public void Tagger_drops_a_frame_it_could_not_tag()
    {
        var (verdict, calls) = Run(Tagger(112, Uplink), tagged: false, helperResult: -12);

        Assert.Equal(TcActShot, verdict);
        Assert.Single(calls);
    }

    [Theory]
    [InlineData(112)]
    [InlineData(0xE000 | 112)] // PCP 7 does not matter
    [InlineData(0x1000 | 112)] // nor DEI
    public void Untagger_pops_its_vlan_and_redirects_to_the_bridge_side_veth(int tci)
    {
        var (verdict, calls) = Run(Untagger(112, BridgeSide), tagged: true, tci: tci);

        Assert.Equal(TcActRedirect, verdict);
        Assert.Equal([BpfHelper.SkbVlanPop, BpfHelper.Redirect], calls.Select(c => c.Helper));
        Assert.Equal(BridgeSide, calls[1].Arguments[0]);
        Assert.Equal(0, calls[1].Arguments[1]);
    }

    [Theory]
    [InlineData(true, 0x8100, 113)]  // another VLAN: its own filter decides
    [InlineData(true, 0x88a8, 112)]  // an 802.1ad S-tag with the same number is not ours
    [InlineData(false, 0, 0)]        // untagged, e.g. the VXLAN underlay
    [InlineData(true, 0x8100, 0)]    // priority-tagged (VID 0)
    public void Untagger_leaves_everything_else_to_the_next_filter(bool tagged, int tpid, int tci)
    {
        var (verdict, calls) = Run(Untagger(112, BridgeSide), tagged, tpid, tci);

        Assert.Equal(TcActUnspec, verdict);
        Assert.Empty(calls);
    }

    [Fact]
    public void Untagger_drops_a_frame_whose_tag_it_could_not_pop()
    {
        var (verdict, calls) = Run(Untagger(112, BridgeSide), tagged: true, tci: 112, helperResult: -22);

        Assert.Equal(TcActShot, verdict);
        Assert.Single(calls);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4095)]
    public void Vlan_ids_outside_1_to_4094_are_refused(int vlanId)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tagger(vlanId, Uplink));
        Assert.Throws<ArgumentOutOfRangeException>(() => Untagger(vlanId, BridgeSide));
    }
}
