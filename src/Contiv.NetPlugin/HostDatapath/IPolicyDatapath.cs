namespace Contiv.NetPlugin;

/// <summary>
/// The host side of policy (issue #18): what a network's namespace enforces and how each local
/// endpoint's traffic is shaped. Both calls are idempotent and cheap when nothing changed, because
/// the agent repeats them on every reconcile pass.
/// </summary>
public interface IPolicyDatapath
{
    /// <summary>Makes the network namespace enforce exactly <paramref name="ruleset"/> (empty ruleset: no table). Returns true when the kernel changed.</summary>
    bool ApplyPolicy(NetworkDatapathSpec network, Contiv.Policy.NetworkRuleset ruleset);

    /// <summary>Applies (or with null removes) a bandwidth profile on one local endpoint's bridge-side veth. Returns true when the kernel changed.</summary>
    bool ApplyEndpointProfile(NetworkDatapathSpec network, string endpointId, Contiv.Policy.NetProfile? profile);
}
