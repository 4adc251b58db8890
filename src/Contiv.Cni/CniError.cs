namespace Contiv.Cni;

/// <summary>The well-known error codes of the CNI specification (1-99 are reserved by it; 100+ are a plugin's own).</summary>
public enum CniErrorCode
{
    IncompatibleVersion = 1,
    UnsupportedField = 2,
    UnknownContainer = 3,
    InvalidEnvironment = 4,
    IoFailure = 5,
    DecodingFailure = 6,
    InvalidNetworkConfig = 7,
    TryAgainLater = 11,

    /// <summary>Contiv's own: the pod names a tenant, network or group that does not exist.</summary>
    UnknownNetwork = 100,

    /// <summary>Contiv's own: netplugin could not be reached or failed.</summary>
    PluginUnavailable = 101,

    /// <summary>Contiv's own: CHECK found the pod's interface, address or routes not as ADD left them.</summary>
    CheckFailed = 102,

    /// <summary>Contiv's own: netplugin refused the request (e.g. the network's addresses are exhausted, the store is down).</summary>
    Refused = 103,
}

/// <summary>A failure to report to the runtime as CNI's error object (<c>{"cniVersion","code","msg","details"}</c>) on stdout, exit code 1.</summary>
public sealed class CniException(CniErrorCode code, string message, string? details = null) : Exception(message)
{
    public CniErrorCode Code { get; } = code;

    public string? Details { get; } = details;
}
