using System.Globalization;
using Contiv.Datapath.TcBpf.Bpf;
using Contiv.Datapath.TcBpf.Tc;

namespace Contiv.Datapath.TcBpf;

/// <summary>
/// Puts a Contiv VLAN network's bridge on the uplink, tagged with its VLAN id, on kernels without
/// 802.1Q devices (CONFIG_VLAN_8021Q off) and without bridge VLAN filtering: what
/// `ip link add link eth2 name eth2.112 type vlan id 112; ip link set eth2.112 master cvbr-v112`
/// does elsewhere, done with two tc eBPF programs instead.
/// <code>
///  container ── cvbr-vV ── cvv-V ═veth═ cvu-V ──(tc ingress: push tag V, redirect)──▶ uplink egress
///  container ◀─ cvbr-vV ◀─ cvv-V ═veth═ cvu-V ◀─(egress)── (uplink tc ingress: VID V? pop, redirect)
/// </code>
/// Per VLAN V this owns the veth pair cvv-V (a port of the bridge) / cvu-V, a clsact qdisc with
/// the tagger on cvu-V, and one untagger filter on the uplink's ingress at priority
/// <see cref="UntagPriority"/>, handle V. Filters for other VLANs, or anyone else's, are left
/// alone, and frames no untagger claims (untagged VXLAN underlay traffic, other VLANs) continue as
/// if there were no filter. The uplink is set promiscuous, as enslaving eth2.V to a bridge would,
/// so that a NIC accepts frames for the containers' MACs.
/// <para>
/// Works in the network namespace of the thread that constructs it (or the one given to
/// <see cref="Open"/>). Every call is idempotent and reconciles: a missing or stale piece (a
/// program that redirects to an old ifindex, a veth in the wrong bridge) is rebuilt, the rest kept.
/// Programs are replaced in place, so traffic is not interrupted. Not safe for concurrent calls on
/// the same VLAN; the netplugin serialises network operations.
/// </para>
/// </summary>
public sealed class TcBpfVlanUplink : IDisposable
{
    /// <summary>
    /// Untaggers sit at priority UntagPriorityBase + V (0x4000 + 1..4094 = 16385..20478), out of
    /// the way of the small priorities people pick by hand, and distinct per VLAN so each is its
    /// own tcf_proto that can be added and removed on its own.
    /// </summary>
    public const ushort UntagPriorityBase = 0x4000;

    /// <summary>The tagger is the only filter on cvu-V: priority 1, handle 1.</summary>
    public const ushort TagPriority = 1;
    public const uint TagHandle = 1;

    /// <summary>TCA_BPF_NAME prefixes, followed by "V-to-ifN"; ours are recognised by them.</summary>
    public const string TagFilterPrefix = "contiv-vlan-tag-";
    public const string UntagFilterPrefix = "contiv-vlan-untag-";

    private readonly INetlink _links;
    private readonly TrafficControl _tc;
    private readonly bool _ownsLinks;

    /// <summary>Uses this thread's network namespace for both links and tc.</summary>
    public TcBpfVlanUplink()
        : this(new RouteNetlink(), new TrafficControl(), ownsLinks: true)
    {
    }

    /// <summary>
    /// Uses <paramref name="links"/> for devices and a tc socket in this thread's namespace; both
    /// must be in the same namespace. <paramref name="links"/> stays the caller's to dispose.
    /// </summary>
    public TcBpfVlanUplink(INetlink links)
        : this(links, new TrafficControl(), ownsLinks: false)
    {
    }

    private TcBpfVlanUplink(INetlink links, TrafficControl tc, bool ownsLinks)
    {
        _links = links;
        _tc = tc;
        _ownsLinks = ownsLinks;
    }

    /// <summary>An instance whose sockets live in <paramref name="networkNamespace"/>, usable from any thread.</summary>
    public static TcBpfVlanUplink Open(NetworkNamespace networkNamespace)
    {
        var links = networkNamespace.OpenNetlink();
        try
        {
            return new TcBpfVlanUplink(links, TrafficControl.Open(networkNamespace), ownsLinks: true);
        }
        catch
        {
            links.Dispose();
            throw;
        }
    }

    /// <summary>The veth end enslaved to the VLAN's bridge.</summary>
    public static string BridgeSideName(int vlanId) => $"cvv-{ValidVlanId(vlanId)}";

    /// <summary>The veth end whose tc ingress tags and whose egress receives untagged frames.</summary>
    public static string UplinkSideName(int vlanId) => $"cvu-{ValidVlanId(vlanId)}";

    public static ushort UntagPriority(int vlanId) => (ushort)(UntagPriorityBase + ValidVlanId(vlanId));

    /// <summary>Whether this kernel can run the datapath: bpf(2) loads a SCHED_CLS program.</summary>
    public static bool IsSupported() => IsSupported(out _);

    /// <summary><inheritdoc cref="IsSupported()"/> <paramref name="reason"/> says why not (EPERM without CAP_BPF/CAP_SYS_ADMIN, ENOSYS, ...).</summary>
    public static bool IsSupported(out string? reason) => BpfProgram.CanLoadSchedCls(out reason);

    /// <summary>
    /// Makes VLAN <paramref name="vlanId"/> of <paramref name="uplink"/> a port of
    /// <paramref name="bridge"/>: creates cvv-V/cvu-V (MTU of the uplink) if missing, enslaves
    /// cvv-V, sets both up, sets the uplink promiscuous and attaches the tagger (cvu-V ingress) and
    /// the untagger (uplink ingress), loading a program only where the attached one is missing or
    /// targets another ifindex. The bridge and the uplink must exist (ENODEV otherwise).
    /// </summary>
    public void Ensure(string bridge, string uplink, int vlanId)
    {
        ValidVlanId(vlanId);
        var uplinkLink = RequireLink(uplink, "ensure vlan uplink", vlanId);
        var bridgeLink = RequireLink(bridge, "ensure vlan uplink", vlanId);
        if (bridgeLink.Kind != "bridge")
        {
            throw new ArgumentException($"{bridge} is a {bridgeLink.Kind ?? "device without a kind"}, not a bridge", nameof(bridge));
        }

        var (bridgeSide, uplinkSide) = EnsureVethPair(vlanId, uplinkLink.Mtu);
        if (bridgeSide.MasterIndex != bridgeLink.Index)
        {
            _links.SetMaster(bridgeSide.Name, bridge);
        }

        if (!bridgeSide.IsAdminUp)
        {
            _links.SetLinkUp(bridgeSide.Name);
        }

        if (!uplinkSide.IsAdminUp)
        {
            _links.SetLinkUp(uplinkSide.Name);
        }

        AttachPrograms(vlanId, uplinkLink, uplinkSide);
    }

    /// <summary>
    /// Like <see cref="Ensure"/>, for a bridge that lives in another network namespace (netplugin
    /// keeps each network's bridge in its own namespace): cvu-V stays here beside the uplink, where
    /// both programs run and bpf_redirect can reach the uplink, and its peer cvv-V is created inside
    /// <paramref name="bridgeNamespace"/> and enslaved to <paramref name="bridge"/> there.
    /// <paramref name="bridgeLinks"/> is a netlink socket in that namespace.
    /// </summary>
    public void EnsureAcrossNamespaces(NetworkNamespace bridgeNamespace, INetlink bridgeLinks, string bridge, string uplink, int vlanId)
    {
        ValidVlanId(vlanId);
        var uplinkLink = RequireLink(uplink, "ensure vlan uplink", vlanId);
        var bridgeLink = bridgeLinks.GetLink(bridge)
            ?? throw new NetlinkException(LinuxErrno.ENODEV, "ensure vlan uplink", bridge);
        var bridgeSideName = BridgeSideName(vlanId);
        var uplinkSideName = UplinkSideName(vlanId);
        var uplinkSide = _links.GetLink(uplinkSideName);
        var bridgeSide = bridgeLinks.GetLink(bridgeSideName);

        // Both ends exist as veths: trust them to be a pair (each end's peer ifindex is in the
        // other namespace, so it cannot be compared here). Otherwise start over.
        if (uplinkSide is not { Kind: "veth" } || bridgeSide is not { Kind: "veth" })
        {
            if (uplinkSide is not null)
            {
                DeleteLinkIfPresent(uplinkSideName);
            }

            if (bridgeSide is not null)
            {
                try
                {
                    bridgeLinks.DeleteLink(bridgeSideName);
                }
                catch (NetlinkException e) when (e.Errno == LinuxErrno.ENODEV)
                {
                }
            }

            _links.CreateVethPair(new VethPairOptions(uplinkSideName, bridgeSideName, uplinkLink.Mtu, PeerNamespace: bridgeNamespace));
            uplinkSide = RequireLink(uplinkSideName, "ensure vlan uplink", vlanId);
            bridgeSide = bridgeLinks.GetLink(bridgeSideName) ?? throw new NetlinkException(LinuxErrno.ENODEV, "ensure vlan uplink", bridgeSideName);
        }

        if (bridgeSide.MasterIndex != bridgeLink.Index)
        {
            bridgeLinks.SetMaster(bridgeSideName, bridge);
        }

        bridgeLinks.SetLinkUp(bridgeSideName);
        _links.SetLinkUp(uplinkSideName);
        AttachPrograms(vlanId, uplinkLink, uplinkSide);
    }

    /// <summary>
    /// Undoes <see cref="Ensure"/> for one VLAN: deletes its untagger from the uplink (and the
    /// uplink's clsact qdisc once no filter at all is left on it) and the veth pair, whose clsact
    /// and tagger go with it. Other VLANs keep working. Missing pieces, including a missing
    /// uplink, are skipped. The uplink stays promiscuous (someone else may rely on that).
    /// </summary>
    public void Remove(string uplink, int vlanId)
    {
        ValidVlanId(vlanId);
        if (_links.GetLink(uplink) is { } uplinkLink)
        {
            foreach (var filter in _tc.ListFilters(uplinkLink.Index, TcHook.Ingress))
            {
                if (filter.Priority == UntagPriority(vlanId) && IsOurs(filter, UntagFilterPrefix, vlanId))
                {
                    _tc.DeleteFilter(uplinkLink.Index, TcHook.Ingress, filter.Priority, filter.Handle);
                }
            }

            if (_tc.ListFilters(uplinkLink.Index, TcHook.Ingress).Count == 0
                && _tc.ListFilters(uplinkLink.Index, TcHook.Egress).Count == 0)
            {
                _tc.DeleteClsact(uplinkLink.Index);
            }
        }

        // Deleting one end of a veth deletes its peer.
        foreach (var name in (string[])[UplinkSideName(vlanId), BridgeSideName(vlanId)])
        {
            DeleteLinkIfPresent(name);
        }
    }

    /// <summary>The VLAN ids whose untagger is attached to <paramref name="uplink"/> (for reconciling); empty if it does not exist.</summary>
    public IReadOnlyList<int> ListVlans(string uplink)
    {
        if (_links.GetLink(uplink) is not { } uplinkLink)
        {
            return [];
        }

        return [.. _tc.ListFilters(uplinkLink.Index, TcHook.Ingress)
            .Select(f => (Filter: f, VlanId: ParseVlan(f, UntagFilterPrefix)))
            .Where(x => x.VlanId is >= 1 and <= 4094 && x.Filter.Priority == UntagPriority(x.VlanId.Value))
            .Select(x => x.VlanId!.Value)
            .Distinct()
            .Order()];
    }

    public void Dispose()
    {
        _tc.Dispose();
        if (_ownsLinks && _links is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    internal static string TagFilterName(int vlanId, int uplinkIndex) =>
        $"{TagFilterPrefix}{vlanId}-to-if{uplinkIndex}";

    internal static string UntagFilterName(int vlanId, int uplinkSideIndex) =>
        $"{UntagFilterPrefix}{vlanId}-to-if{uplinkSideIndex}";

    /// <summary>The VLAN id in a filter name of ours ("contiv-vlan-untag-112-to-if7"), else null.</summary>
    internal static int? ParseVlan(TcFilter filter, string prefix)
    {
        if (filter.Kind != "bpf" || filter.BpfName is not { } name || !name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = name.AsSpan(prefix.Length);
        var dash = rest.IndexOf('-');
        return dash > 0 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var vlanId) ? vlanId : null;
    }

    private static bool IsOurs(TcFilter filter, string prefix, int vlanId) => ParseVlan(filter, prefix) == vlanId;

    /// <summary>
    /// Keeps the filter at (priority, handle) if it is a direct-action bpf filter with exactly
    /// <paramref name="name"/> (which encodes the VLAN and the target ifindex, the only inputs of
    /// the program); otherwise loads the program and replaces whatever is there.
    /// </summary>
    private void EnsureFilter(int linkIndex, ushort priority, uint handle, string name, Func<IReadOnlyList<BpfInstruction>> build, string programName)
    {
        var current = _tc.ListFilters(linkIndex, TcHook.Ingress)
            .FirstOrDefault(f => f.Priority == priority && f.Handle == handle);
        if (current is { Kind: "bpf", DirectAction: true } && current.BpfName == name)
        {
            return;
        }

        if (current is not null && current.Kind != "bpf")
        {
            // A filter of another kind owns this priority: the kernel would refuse ours (EINVAL
            // "Filter kind and protocol must match existing filter chain"). Say whose it is.
            throw new InvalidOperationException(
                $"ingress priority {priority} of link #{linkIndex} holds a '{current.Kind}' filter; {name} needs that priority");
        }

        using var program = BpfProgram.LoadSchedCls(programName, build());
        _tc.ReplaceBpfFilter(linkIndex, TcHook.Ingress, priority, handle, program, name);
    }

    /// <summary>
    /// Sets the uplink promiscuous and attaches the tagger (cvu-V ingress) and the untagger (uplink
    /// ingress), each behind a clsact qdisc, loading a program only where the attached one is missing
    /// or targets another ifindex.
    /// </summary>
    private void AttachPrograms(int vlanId, LinkInfo uplinkLink, LinkInfo uplinkSide)
    {
        _tc.SetPromiscuous(uplinkLink.Index, on: true);

        // Tagger first: until the untagger exists nothing reaches the bridge from the wire anyway.
        _tc.EnsureClsact(uplinkSide.Index);
        EnsureFilter(uplinkSide.Index, TagPriority, TagHandle, TagFilterName(vlanId, uplinkLink.Index),
            () => VlanPrograms.Tagger(vlanId, uplinkLink.Index), $"cv_tag_{vlanId}");

        _tc.EnsureClsact(uplinkLink.Index);
        EnsureFilter(uplinkLink.Index, UntagPriority(vlanId), (uint)vlanId, UntagFilterName(vlanId, uplinkSide.Index),
            () => VlanPrograms.Untagger(vlanId, uplinkSide.Index), $"cv_untag_{vlanId}");
    }

    /// <summary>
    /// Returns the pair (bridge side, uplink side), creating it when missing. A half pair, or one
    /// whose ends are not each other's peers, is deleted and recreated; a wrong MTU is corrected.
    /// </summary>
    private (LinkInfo BridgeSide, LinkInfo UplinkSide) EnsureVethPair(int vlanId, int mtu)
    {
        var bridgeSideName = BridgeSideName(vlanId);
        var uplinkSideName = UplinkSideName(vlanId);
        var bridgeSide = _links.GetLink(bridgeSideName);
        var uplinkSide = _links.GetLink(uplinkSideName);
        var isPair = bridgeSide is { Kind: "veth" } && uplinkSide is { Kind: "veth" }
            && bridgeSide.ParentIndex == uplinkSide.Index && uplinkSide.ParentIndex == bridgeSide.Index;
        if (!isPair)
        {
            if (bridgeSide is not null)
            {
                DeleteLinkIfPresent(bridgeSideName);
            }

            if (uplinkSide is not null)
            {
                DeleteLinkIfPresent(uplinkSideName);
            }

            _links.CreateVethPair(new VethPairOptions(bridgeSideName, uplinkSideName, mtu));
        }
        else
        {
            foreach (var end in (LinkInfo[])[bridgeSide!, uplinkSide!])
            {
                if (end.Mtu != mtu)
                {
                    _links.SetMtu(end.Name, mtu);
                }
            }
        }

        return (RequireLink(bridgeSideName, "ensure vlan uplink", vlanId), RequireLink(uplinkSideName, "ensure vlan uplink", vlanId));
    }

    private void DeleteLinkIfPresent(string name)
    {
        try
        {
            _links.DeleteLink(name);
        }
        catch (NetlinkException e) when (e.Errno == LinuxErrno.ENODEV)
        {
            // Gone already (the peer's deletion took it along).
        }
    }

    private LinkInfo RequireLink(string name, string operation, int vlanId) =>
        _links.GetLink(name) ?? throw new NetlinkException(LinuxErrno.ENODEV, operation, $"vlan {vlanId}", $"no device named {name}");

    private static int ValidVlanId(int vlanId) => vlanId is >= 1 and <= 4094
        ? vlanId
        : throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "an 802.1Q vlan id is 1..4094");
}
