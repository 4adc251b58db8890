using Contiv.Datapath;
using Contiv.Datapath.Nftables;
using Contiv.Datapath.TcBpf.Tc;
using Contiv.Model;
using Contiv.Policy;

namespace Contiv.NetPlugin;

/// <summary>
/// Netprofiles on an endpoint's bridge-side veth (cvh…, inside the network's namespace), with tc
/// over rtnetlink:
/// <list type="bullet">
/// <item>toward the container: a root tbf on the veth (what the bridge sends it);</item>
/// <item>from the container: the veth's clsact ingress hands every frame (u32 match-all, mirred
/// egress redirect) to an ifb device of the endpoint (cvq…) whose root tbf shapes it; the ifb
/// gives each frame back to the veth's receive path, and the bridge forwards it. This kernel has
/// neither act_police nor cls_matchall, and shaping keeps TCP near the rate where policing (drop
/// over the rate) makes it saw-tooth below it.</item>
/// </list>
/// DSCP: the bridge-family table <c>contiv-qos</c> rewrites the DSCP of what the veth receives
/// (<see cref="DscpTableEncoder"/> says why there). Changing a profile changes both tbfs and the
/// mark in place; the veth is never touched otherwise.
/// </summary>
public sealed partial class LinuxBridgeDatapath
{
    /// <summary>The clsact ingress priority of the redirect filter (nothing else of ours filters endpoint veths).</summary>
    public const ushort ProfileFilterPriority = 10;

    public bool ApplyEndpointProfile(NetworkDatapathSpec network, string endpointId, NetProfile? profile)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(endpointId);
        lock (_lock)
        {
            var path = NamespacePath(network);
            if (!_policy.ContainsKey(path) && !NetworkNamespace.IsMountedNamespace(path))
            {
                return profile is null
                    ? false
                    : throw new ContivException(ErrorKind.Unavailable, $"network {network.NetworkId} has no namespace on this host: cannot apply netprofile {profile.Name}");
            }

            var state = PolicyOf(path);
            if (state.Tc is null)
            {
                using var ns = NetworkNamespace.Open(path);
                state.Tc = TrafficControl.Open(ns);
            }

            var inside = Inside(network);
            var vethName = DatapathNames.HostVeth(endpointId);
            var veth = inside.GetLink(vethName);
            if (veth is null)
            {
                if (profile is null)
                {
                    return RemoveIfb(inside, endpointId) | ApplyDscp(state, vethName, null);
                }

                throw new ContivException(ErrorKind.NotFound, $"endpoint {ShortId.Of(endpointId)} has no veth {vethName} in network {network.NetworkId} on this host");
            }

            var bucket = profile is null ? null : ProfileShaping.TokenBucketOf(profile);
            var changed = bucket is null
                ? RemoveShaping(state.Tc, inside, veth, endpointId)
                : EnsureShaping(state.Tc, inside, veth, endpointId, bucket);
            changed |= ApplyDscp(state, vethName, profile?.Dscp);
            if (changed)
            {
                logger.LogInformation(
                    "netprofile of endpoint {Endpoint} in {NetworkId}: {Profile}",
                    ShortId.Of(endpointId),
                    network.NetworkId,
                    profile is null ? "none" : $"{profile.Name}: {(bucket is null ? "no shaping" : $"{bucket.BytesPerSecond * 8} bit/s burst {bucket.BurstBytes} B each way")}, {(profile.Dscp is { } dscp ? $"DSCP {dscp}" : "no DSCP mark")}");
            }

            return changed;
        }
    }

    /// <summary>
    /// Makes the namespace's DSCP table mark <paramref name="device"/>'s frames with
    /// <paramref name="dscp"/> (null: not at all; the table goes when no device is left). Read back
    /// only when the nf_tables generation moved, like the policy table. Caller holds <see cref="_lock"/>.
    /// </summary>
    private static bool ApplyDscp(NamespacePolicy state, string device, int? dscp)
    {
        var generation = state.Nft.GetGeneration();
        var current = state.KnownQosGeneration == generation
            ? state.KnownQosTable
            : state.Nft.GetTable(NftFamily.Bridge, DscpTableEncoder.TableName);
        var desired = DscpTableEncoder.With(current, device, dscp);
        if (Equals(current, desired))
        {
            state.RememberQos(generation, current);
            return false;
        }

        if (desired is null)
        {
            state.Nft.DeleteTable(NftFamily.Bridge, DscpTableEncoder.TableName);
        }
        else
        {
            state.Nft.ReplaceTable(desired);
        }

        state.RememberQos(state.Nft.GetGeneration(), desired);
        return true;
    }

    /// <summary>Drops a deleted endpoint's DSCP rules (the ifb goes with DeleteEndpoint). Caller holds <see cref="_lock"/>.</summary>
    private void ForgetEndpointDscp(NetworkDatapathSpec network, string endpointId)
    {
        var path = NamespacePath(network);
        if (_policy.ContainsKey(path) || NetworkNamespace.IsMountedNamespace(path))
        {
            ApplyDscp(PolicyOf(path), DatapathNames.HostVeth(endpointId), null);
        }
    }

    private static bool EnsureShaping(TrafficControl tc, RouteNetlink inside, LinkInfo veth, string endpointId, TokenBucket bucket)
    {
        var changed = EnsureRootTokenBucket(tc, veth.Index, bucket);

        var ifbName = DatapathNames.ProfileIfb(endpointId);
        var ifb = inside.GetLink(ifbName);
        if (ifb is null)
        {
            tc.CreateIfb(ifbName);
            ifb = inside.GetLink(ifbName) ?? throw new ContivException(ErrorKind.Unavailable, $"ifb {ifbName} vanished right after it was created");
            changed = true;
        }

        if (!ifb.IsAdminUp)
        {
            inside.SetLinkUp(ifbName);
            changed = true;
        }

        changed |= EnsureRootTokenBucket(tc, ifb.Index, bucket);
        if (!tc.HasClsact(veth.Index))
        {
            tc.EnsureClsact(veth.Index);
            changed = true;
        }

        changed |= tc.EnsureRedirectFilter(veth.Index, TcHook.Ingress, ProfileFilterPriority, ifb.Index);
        return changed;
    }

    /// <summary>Compares what the kernel dumps (rate and limit; the limit is a function of the burst at a given rate, so it stands for both).</summary>
    private static bool EnsureRootTokenBucket(TrafficControl tc, int linkIndex, TokenBucket bucket)
    {
        if (tc.RootQdisc(linkIndex) is { Kind: "tbf", TokenBucket: { } current }
            && current.BytesPerSecond == bucket.BytesPerSecond && current.LimitBytes == bucket.LimitBytes)
        {
            return false;
        }

        tc.ReplaceRootTokenBucket(linkIndex, bucket);
        return true;
    }

    private static bool RemoveShaping(TrafficControl tc, RouteNetlink inside, LinkInfo veth, string endpointId)
    {
        var changed = tc.DeletePriority(veth.Index, TcHook.Ingress, ProfileFilterPriority);
        if (tc.HasClsact(veth.Index) && tc.ListFilters(veth.Index, TcHook.Ingress).Count == 0 && tc.ListFilters(veth.Index, TcHook.Egress).Count == 0)
        {
            tc.DeleteClsact(veth.Index);
            changed = true;
        }

        if (tc.RootQdisc(veth.Index) is { Kind: "tbf" })
        {
            changed |= tc.DeleteRootQdisc(veth.Index);
        }

        return RemoveIfb(inside, endpointId) || changed;
    }

    private static bool RemoveIfb(RouteNetlink inside, string endpointId)
    {
        var ifbName = DatapathNames.ProfileIfb(endpointId);
        if (inside.GetLink(ifbName) is null)
        {
            return false;
        }

        TryDelete(inside, ifbName);
        return true;
    }
}
