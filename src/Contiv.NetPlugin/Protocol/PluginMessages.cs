using System.Text.Json;
using System.Text.Json.Serialization;

namespace Contiv.NetPlugin.Protocol;

// libnetwork's remote NetworkDriver and IpamDriver protocol (moby/libnetwork docs/remote.md,
// docs/ipam.md): JSON over HTTP POST, PascalCase names. Requests are parsed leniently (unknown
// fields ignored, Options kept as raw JSON) because dockerd versions add fields over time.

public sealed class ActivateResponse
{
    public string[] Implements { get; set; } = ["NetworkDriver", "IpamDriver"];
}

public sealed class CapabilitiesResponse
{
    public string Scope { get; set; } = "local";

    public string ConnectivityScope { get; set; } = "local";
}

public sealed class IpamCapabilitiesResponse
{
    public bool RequiresMACAddress { get; set; }
}

public sealed class AddressSpacesResponse
{
    public string LocalDefaultAddressSpace { get; set; } = "contiv-local";

    public string GlobalDefaultAddressSpace { get; set; } = "contiv-global";
}

public sealed class IpamData
{
    public string? AddressSpace { get; set; }

    public string? Pool { get; set; }

    public string? Gateway { get; set; }

    public Dictionary<string, string>? AuxAddresses { get; set; }
}

public sealed class CreateNetworkRequest
{
    public string? NetworkID { get; set; }

    public Dictionary<string, JsonElement>? Options { get; set; }

    public List<IpamData>? IPv4Data { get; set; }

    public List<IpamData>? IPv6Data { get; set; }
}

public sealed class NetworkRequest
{
    public string? NetworkID { get; set; }
}

public sealed class EndpointInterface
{
    public string? Address { get; set; }

    public string? AddressIPv6 { get; set; }

    public string? MacAddress { get; set; }
}

public sealed class CreateEndpointRequest
{
    public string? NetworkID { get; set; }

    public string? EndpointID { get; set; }

    public EndpointInterface? Interface { get; set; }

    public Dictionary<string, JsonElement>? Options { get; set; }
}

public sealed class CreateEndpointResponse
{
    public EndpointInterface? Interface { get; set; }
}

public sealed class EndpointRequest
{
    public string? NetworkID { get; set; }

    public string? EndpointID { get; set; }
}

public sealed class EndpointOperInfoResponse
{
    public Dictionary<string, string> Value { get; set; } = [];
}

public sealed class JoinRequest
{
    public string? NetworkID { get; set; }

    public string? EndpointID { get; set; }

    public string? SandboxKey { get; set; }

    public Dictionary<string, JsonElement>? Options { get; set; }
}

public sealed class InterfaceName
{
    public string SrcName { get; set; } = string.Empty;

    public string DstPrefix { get; set; } = "eth";
}

public sealed class StaticRoute
{
    /// <summary>libnetwork's types.NEXTHOP: routed through <see cref="NextHop"/>.</summary>
    public const int ThroughNextHop = 0;

    /// <summary>libnetwork's types.CONNECTED: on-link through the joining interface.</summary>
    public const int Connected = 1;

    public string Destination { get; set; } = string.Empty;

    public int RouteType { get; set; }

    public string? NextHop { get; set; }
}

public sealed class JoinResponse
{
    public InterfaceName? InterfaceName { get; set; }

    public string? Gateway { get; set; }

    public string? GatewayIPv6 { get; set; }

    public List<StaticRoute>? StaticRoutes { get; set; }

    public bool DisableGatewayService { get; set; }
}

public sealed class RequestPoolRequest
{
    public string? AddressSpace { get; set; }

    public string? Pool { get; set; }

    public string? SubPool { get; set; }

    public Dictionary<string, string>? Options { get; set; }

    public bool V6 { get; set; }
}

public sealed class RequestPoolResponse
{
    public string PoolID { get; set; } = string.Empty;

    public string Pool { get; set; } = string.Empty;

    public Dictionary<string, string> Data { get; set; } = [];
}

public sealed class ReleasePoolRequest
{
    public string? PoolID { get; set; }
}

public sealed class RequestAddressRequest
{
    public string? PoolID { get; set; }

    public string? Address { get; set; }

    public Dictionary<string, string>? Options { get; set; }
}

public sealed class RequestAddressResponse
{
    public string Address { get; set; } = string.Empty;

    public Dictionary<string, string> Data { get; set; } = [];
}

public sealed class ReleaseAddressRequest
{
    public string? PoolID { get; set; }

    public string? Address { get; set; }
}

public sealed class DiscoveryRequest
{
    public int DiscoveryType { get; set; }

    public JsonElement DiscoveryData { get; set; }
}

/// <summary>The empty success reply, <c>{}</c>.</summary>
public sealed class EmptyResponse
{
    public static EmptyResponse Instance { get; } = new();
}

/// <summary>
/// libnetwork's error reply. The network driver API reads <c>Err</c>, but the IPAM API's response
/// type reads <c>Error</c> (libnetwork ipams/remote/api), so both carry the message: otherwise
/// dockerd reports an IPAM refusal only as "No address returned".
/// </summary>
public sealed record ErrorResponse(string Err)
{
    public string Error => Err;
}

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ActivateResponse))]
[JsonSerializable(typeof(CapabilitiesResponse))]
[JsonSerializable(typeof(IpamCapabilitiesResponse))]
[JsonSerializable(typeof(AddressSpacesResponse))]
[JsonSerializable(typeof(CreateNetworkRequest))]
[JsonSerializable(typeof(NetworkRequest))]
[JsonSerializable(typeof(CreateEndpointRequest))]
[JsonSerializable(typeof(CreateEndpointResponse))]
[JsonSerializable(typeof(EndpointRequest))]
[JsonSerializable(typeof(EndpointOperInfoResponse))]
[JsonSerializable(typeof(JoinRequest))]
[JsonSerializable(typeof(JoinResponse))]
[JsonSerializable(typeof(RequestPoolRequest))]
[JsonSerializable(typeof(RequestPoolResponse))]
[JsonSerializable(typeof(ReleasePoolRequest))]
[JsonSerializable(typeof(RequestAddressRequest))]
[JsonSerializable(typeof(RequestAddressResponse))]
[JsonSerializable(typeof(ReleaseAddressRequest))]
[JsonSerializable(typeof(DiscoveryRequest))]
[JsonSerializable(typeof(EmptyResponse))]
[JsonSerializable(typeof(ErrorResponse))]
public sealed partial class PluginJson : JsonSerializerContext;
