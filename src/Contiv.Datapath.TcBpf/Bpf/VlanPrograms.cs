using System.Buffers.Binary;
using static Contiv.Datapath.TcBpf.Bpf.BpfRegister;

namespace Contiv.Datapath.TcBpf.Bpf;

/// <summary>
/// The two BPF_PROG_TYPE_SCHED_CLS programs that stand in for an 802.1Q sub-interface (eth2.112)
/// on kernels without CONFIG_VLAN_8021Q. Both run as direct-action cls_bpf classifiers at tc
/// ingress, so their return value is the TC_ACT_* verdict.
/// <para>
/// Where the tag lives at tc ingress: __netif_receive_skb_core() calls skb_vlan_untag() for any
/// frame whose ethertype is 802.1Q/802.1AD <em>before</em> sch_handle_ingress()/tcx runs, and
/// drivers with rx-vlan offload (and veth, which keeps the hw-accel tag of a frame sent to it)
/// hand the tag over out of band already. So at tc ingress a tagged frame always has the tag in
/// skb->vlan_all, read through <c>__sk_buff.vlan_present</c> / <c>vlan_tci</c> / <c>vlan_proto</c>,
/// and the packet bytes start with the inner ethertype. Checked on 6.18: the integration test
/// pings through a veth "wire" and tcpdump shows 802.1Q, which only works with this reading.
/// Likewise bpf_skb_vlan_push() on an untagged frame only sets the hw-accel tag; the egress device
/// inserts it into the bytes (validate_xmit_vlan()) unless it offloads tag insertion (NICs, veth).
/// </para>
/// <para>
/// Broadcast and multicast (ARP requests, IPv6 ND) take the same path as unicast: the bridge
/// floods them to cvv-V, they come out of cvu-V's ingress and are tagged, and on the far host the
/// untagger hands them to cvv-V, where the bridge floods them to the VLAN's containers.
/// </para>
/// </summary>
public static class VlanPrograms
{
    /// <summary>ETH_P_8021Q (uapi/linux/if_ether.h): the TPID of a C-tag.</summary>
    public const ushort EthP8021Q = 0x8100;

    /// <summary>VLAN_VID_MASK (linux/if_vlan.h): the VID is the low 12 bits of the TCI (PCP 3, DEI 1 above).</summary>
    public const int VlanVidMask = 0x0fff;

    /// <summary>TC_ACT_UNSPEC (uapi/linux/pkt_cls.h): "no verdict", tc tries the next filter; the default at the end is to pass.</summary>
    public const int TcActUnspec = -1;

    /// <summary>TC_ACT_OK: let the frame continue up the stack.</summary>
    public const int TcActOk = 0;

    /// <summary>TC_ACT_SHOT: drop.</summary>
    public const int TcActShot = 2;

    /// <summary>TC_ACT_REDIRECT, what bpf_redirect() returns on success.</summary>
    public const int TcActRedirect = 7;

    /// <summary>Offsets of <c>struct __sk_buff</c> fields (uapi/linux/bpf.h); the verifier rewrites these context loads.</summary>
    public static class SkBuff
    {
        public const short Len = 0;
        public const short Protocol = 16;
        public const short VlanPresent = 20;
        public const short VlanTci = 24;

        /// <summary>The TPID in network byte order, read as a u32.</summary>
        public const short VlanProto = 28;
        public const short IngressIfindex = 36;
        public const short Ifindex = 40;
    }

    /// <summary><c>htons(ETH_P_8021Q)</c> as a register holds it: helpers take and __sk_buff returns the __be16 unswapped.</summary>
    public static int NetworkOrder8021Q =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(EthP8021Q) : EthP8021Q;

    /// <summary>
    /// The egress tagger, for tc ingress of cvu-V (the frames the bridge sends out of cvv-V):
    /// <code>
    /// if (bpf_skb_vlan_push(skb, htons(ETH_P_8021Q), V) != 0) return TC_ACT_SHOT;
    /// return bpf_redirect(uplinkIfindex, 0);   // egress of the uplink
    /// </code>
    /// A frame that cannot be tagged is dropped rather than sent untagged onto the native VLAN. A
    /// frame the container tagged itself keeps its tag inside ours (skb_vlan_push() moves the
    /// present tag into the payload first), which is what an 802.1Q sub-interface does too.
    /// </summary>
    public static IReadOnlyList<BpfInstruction> Tagger(int vlanId, int uplinkIfindex)
    {
        ValidateVlanId(vlanId);
        return new BpfAssembler() // r1 holds the skb on entry: the first helper argument already
            .Move32(R2, NetworkOrder8021Q)
            .Move32(R3, vlanId)
            .Call(BpfHelper.SkbVlanPush)
            .JumpIf(BpfCondition.NotEqual, R0, 0, "drop")
            .Move32(R1, uplinkIfindex)
            .Move(R2, 0)
            .Call(BpfHelper.Redirect)
            .Exit()
            .Label("drop")
            .Return(TcActShot)
            .Assemble();
    }

    /// <summary>
    /// The ingress untagger for VLAN V, one per VLAN at tc ingress of the uplink:
    /// <code>
    /// if (!skb->vlan_present || skb->vlan_proto != htons(ETH_P_8021Q)
    ///     || (skb->vlan_tci &amp; VLAN_VID_MASK) != V) return TC_ACT_UNSPEC;   // next filter / stack
    /// if (bpf_skb_vlan_pop(skb) != 0) return TC_ACT_SHOT;
    /// return bpf_redirect(cvuIfindex, 0);   // egress of cvu-V: arrives on cvv-V, in the bridge
    /// </code>
    /// Anything else (other VLANs, untagged underlay traffic such as VXLAN) gets TC_ACT_UNSPEC, so
    /// the next filter is tried and in the end the frame continues as if no filter were there.
    /// </summary>
    public static IReadOnlyList<BpfInstruction> Untagger(int vlanId, int bridgeSideIfindex)
    {
        ValidateVlanId(vlanId);
        return new BpfAssembler()
            .Move(R6, R1) // keep the skb across the helper call (r1..r5 are clobbered)
            .LoadWord(R2, R6, SkBuff.VlanPresent)
            .JumpIf(BpfCondition.Equal, R2, 0, "pass")
            .LoadWord(R2, R6, SkBuff.VlanProto)
            .JumpIf(BpfCondition.NotEqual, R2, NetworkOrder8021Q, "pass")
            .LoadWord(R2, R6, SkBuff.VlanTci)
            .And(R2, VlanVidMask)
            .JumpIf(BpfCondition.NotEqual, R2, vlanId, "pass")
            .Move(R1, R6)
            .Call(BpfHelper.SkbVlanPop)
            .JumpIf(BpfCondition.NotEqual, R0, 0, "drop")
            .Move32(R1, bridgeSideIfindex)
            .Move(R2, 0)
            .Call(BpfHelper.Redirect)
            .Exit()
            .Label("pass")
            .Return(TcActUnspec)
            .Label("drop")
            .Return(TcActShot)
            .Assemble();
    }

    /// <summary><c>return TC_ACT_OK;</c>: what the support probe loads.</summary>
    public static IReadOnlyList<BpfInstruction> PassAll() => new BpfAssembler().Return(TcActOk).Assemble();

    private static void ValidateVlanId(int vlanId)
    {
        if (vlanId is < 1 or > 4094)
        {
            throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "an 802.1Q vlan id is 1..4094");
        }
    }
}
