using Contiv.Datapath;
using Contiv.Datapath.Nftables;
using Contiv.Model;
using Contiv.Policy;

namespace Contiv.NetPlugin;

/// <summary>
/// Policy in each network's namespace: br_netfilter on and one <c>inet contiv-policy</c> table
/// (docs/policy-enforcement.md), programmed over NETLINK_NETFILTER, and per-endpoint bandwidth
/// profiles with tc over rtnetlink (LinuxBridgeDatapath.Profiles.cs).
/// </summary>
public sealed partial class LinuxBridgeDatapath : IPolicyDatapath
{
    /// <summary>Per namespace path, guarded by <see cref="_lock"/>.</summary>
    private readonly Dictionary<string, NamespacePolicy> _policy = new(StringComparer.Ordinal);

    public bool ApplyPolicy(NetworkDatapathSpec network, NetworkRuleset ruleset)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(ruleset);
        lock (_lock)
        {
            var path = NamespacePath(network);
            if (!_policy.ContainsKey(path) && !NetworkNamespace.IsMountedNamespace(path))
            {
                if (ruleset.IsEmpty)
                {
                    return false; // no namespace, nothing enforced, nothing to enforce
                }

                throw new ContivException(ErrorKind.Unavailable, $"network {network.NetworkId} has no namespace on this host: cannot enforce its policy");
            }

            var state = PolicyOf(path);
            var desired = ruleset.IsEmpty ? null : PolicyTableEncoder.Encode(ruleset);

            // The generation moves on any nf_tables commit in this namespace, ours or anyone's: while
            // it stands still, the table is the one last read or written, and a reconcile pass costs
            // this one request instead of a dump of the table, its chains, sets and rules.
            var firstLook = state.KnownGeneration is null;
            var generation = state.Nft.GetGeneration();
            var current = state.KnownGeneration == generation
                ? state.KnownTable
                : state.Nft.GetTable(NftFamily.Inet, PolicyTableEncoder.TableName);

            if (desired is not null && !state.BridgeNetfilterOn)
            {
                // Without it the bridge never hands frames to the inet forward hook and the table
                // filters nothing. Written once per process and namespace (it is per namespace and
                // nothing of ours turns it off), also when the table is already there after a restart.
                using var ns = NetworkNamespace.Open(path);
                BridgeNetfilter.SetCallIptables(ns, true);
                state.BridgeNetfilterOn = true;
            }

            if (Equals(current, desired))
            {
                state.Remember(generation, current);
                if (desired is not null && firstLook)
                {
                    // First pass of this process: a crash between a replace and its re-judging
                    // would otherwise leave connections the rules deny running. Touches no table.
                    Rejudge(path, ruleset);
                }

                return false;
            }

            if (desired is null)
            {
                state.Nft.DeleteTable(NftFamily.Inet, PolicyTableEncoder.TableName);
                state.Remember(state.Nft.GetGeneration(), null);
                logger.LogInformation("policy of {NetworkId}: no group rules left, table removed", network.NetworkId);
                return true;
            }

            // A container joining or leaving a group changes only set elements: write those, not
            // the whole table (with 100 rules a replace was most of a policy's cost on docker run).
            var setChanges = current is null ? null : NftSetChanges.Between(current, desired);
            if (setChanges is not null)
            {
                state.Nft.UpdateSetElements(desired.Family, desired.Name, setChanges);
            }
            else
            {
                state.Nft.ReplaceTable(desired);
            }

            state.Remember(state.Nft.GetGeneration(), desired);
            var remarked = PolicyConntrack.MustRejudge(current, desired) ? Rejudge(path, ruleset) : 0;
            logger.LogInformation(
                "policy of {NetworkId}: table {Action} ({Chains} group chains, {Rules} rules), {Remarked} established connections revoked or restored",
                network.NetworkId,
                current is null ? "created" : setChanges is null ? "replaced" : "sets updated",
                ruleset.Chains.Count,
                ruleset.Chains.Sum(c => c.Rules.Count),
                remarked);
            return true;
        }
    }

    /// <summary>
    /// Judges every IPv4 connection the namespace tracks by <paramref name="ruleset"/>, in its
    /// original direction (who opened it), and sets or clears its <see cref="PolicyTableEncoder.RevokedMark"/>:
    /// the table drops every packet of a marked connection, both ways. Returns how many entries changed.
    /// </summary>
    private static int Rejudge(string path, NetworkRuleset ruleset)
    {
        using var ns = NetworkNamespace.Open(path);
        return ConntrackNetlink.Remark(ns, entry => PolicyConntrack.MarkFor(ruleset, entry));
    }

    /// <summary>The policy sockets of one namespace, opened on first use (sockets keep the namespace they were made in).</summary>
    private NamespacePolicy PolicyOf(string path)
    {
        if (!_policy.TryGetValue(path, out var state))
        {
            using var ns = NetworkNamespace.Open(path);
            state = new NamespacePolicy(NftablesNetlink.Open(ns));
            _policy[path] = state;
        }

        return state;
    }

    /// <summary>Closes the namespace's policy sockets (its network is being removed); caller holds <see cref="_lock"/>.</summary>
    private void ForgetPolicy(string path)
    {
        if (_policy.Remove(path, out var state))
        {
            state.Dispose();
        }
    }

    private void DisposePolicy()
    {
        lock (_lock)
        {
            foreach (var state in _policy.Values)
            {
                state.Dispose();
            }

            _policy.Clear();
        }
    }

    /// <summary>What this process knows about one namespace's policy, and the sockets it programs it through.</summary>
    private sealed class NamespacePolicy(NftablesNetlink nft) : IDisposable
    {
        public NftablesNetlink Nft { get; } = nft;

        public Contiv.Datapath.TcBpf.Tc.TrafficControl? Tc { get; set; }

        /// <summary>The nf_tables generation at which <see cref="KnownTable"/> was read or written (null: not yet).</summary>
        public uint? KnownGeneration { get; private set; }

        public NftTable? KnownTable { get; private set; }

        public bool BridgeNetfilterOn { get; set; }

        /// <summary>Like <see cref="KnownGeneration"/>, for the DSCP table (bridge contiv-qos).</summary>
        public uint? KnownQosGeneration { get; private set; }

        public NftTable? KnownQosTable { get; private set; }

        public void Remember(uint generation, NftTable? table)
        {
            KnownGeneration = generation;
            KnownTable = table;
        }

        public void RememberQos(uint generation, NftTable? table)
        {
            KnownQosGeneration = generation;
            KnownQosTable = table;
        }

        public void Dispose()
        {
            Nft.Dispose();
            Tc?.Dispose();
        }
    }
}

/// <summary>When and how a policy change re-judges established connections. Pure.</summary>
public static class PolicyConntrack
{
    /// <summary>
    /// True when the table changed and a table remains. Established connections pass the table's
    /// established-accept rule without being judged, so a change that denies something they carry
    /// would leave them running. Deciding whether a change can only allow more would take comparing
    /// two rule sets' semantics (a member added to a peer set allows more through an allow rule and
    /// denies more through a deny rule), so every change re-judges; re-judging leaves allowed
    /// connections as they are, so it costs a conntrack dump and nothing else. Removing the table
    /// cannot deny anything: nothing to do (marks left behind are ignored without a table, and
    /// recomputed when one comes back).
    /// </summary>
    public static bool MustRejudge(NftTable? before, NftTable? after) => after is not null && !Equals(before, after);

    /// <summary>
    /// The mark <paramref name="entry"/> must carry under <paramref name="ruleset"/>: its other bits
    /// as they are, <see cref="PolicyTableEncoder.RevokedMark"/> set when the rules deny its first
    /// packet (original source to original destination, the TCP/UDP destination port), clear when
    /// they allow it, so a rule removed again restores the connection.
    /// </summary>
    public static uint MarkFor(NetworkRuleset ruleset, ConntrackEntry entry)
    {
        ArgumentNullException.ThrowIfNull(ruleset);
        ArgumentNullException.ThrowIfNull(entry);
        var port = entry.Protocol is 6 or 17 ? entry.DestinationPort : (ushort?)null;
        var allowed = PolicyCompiler.Allows(ruleset, entry.Source, entry.Destination, entry.Protocol, port);
        return (entry.Mark & ~PolicyTableEncoder.RevokedMark) | (allowed ? 0 : PolicyTableEncoder.RevokedMark);
    }
}
