namespace Contiv.NetPlugin.Tests;

/// <summary>
/// The request bodies dockerd sends (captured on the lab, see lab-recipe "Exact bodies received"),
/// with our address space names, pool ids (<c>NET.TENANT|CIDR</c>) and the options netplugin's agent
/// puts on the Docker networks it creates.
/// </summary>
public static class DockerBodies
{
    public const string DockerNetworkId = "36bace50e06b2e5e5ab7dd4edde7f6f1e1c3fb3d1a6e9d8f6c0c9d1f1e0bcc3c";
    public const string EndpointId = "dc3a8beea7a85a58d1f0c0e6d6f2b1c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6a7a1";
    public const string EndpointId2 = "5e1b0c2a7d9f4e3b8a6c1d0e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";
    public const string Pool = "10.1.2.0/24";

    public static string PoolId(string tenant = "default", string network = "contiv-net") => $"{network}.{tenant}|{Pool}";

    public static string RequestPool(string tenant = "default", string network = "contiv-net", string pool = Pool) =>
        $$$"""{"AddressSpace": "contiv-local", "Pool": "{{{pool}}}", "SubPool": "", "Options": {"network": "{{{network}}}", "tenant": "{{{tenant}}}"}, "V6": false}""";

    public static string RequestGateway(string poolId, string address = "") =>
        $$$"""{"PoolID": "{{{poolId}}}", "Address": "{{{address}}}", "Options": {"RequestAddressType": "com.docker.network.gateway"}}""";

    public static string RequestAddress(string poolId, string address = "") =>
        $$$"""{"PoolID": "{{{poolId}}}", "Address": "{{{address}}}", "Options": null}""";

    public static string ReleaseAddress(string poolId, string address) => $$$"""{"PoolID": "{{{poolId}}}", "Address": "{{{address}}}"}""";

    public static string ReleasePool(string poolId) => $$$"""{"PoolID": "{{{poolId}}}"}""";

    public static string CreateNetwork(string dockerNetworkId = DockerNetworkId, string tenant = "default", int tag = 1, string gateway = Pool, string encap = "vxlan") =>
        $$$"""{"NetworkID": "{{{dockerNetworkId}}}", "Options": {"com.docker.network.enable_ipv6": false, "com.docker.network.generic": {"encap": "{{{encap}}}", "pkt-tag": "{{{tag}}}", "tenant": "{{{tenant}}}"}}, "IPv4Data": [{"AddressSpace": "contiv-local", "Gateway": "{{{gateway}}}", "Pool": "{{{Pool}}}"}], "IPv6Data": []}""";

    public static string CreateEndpoint(string address, string dockerNetworkId = DockerNetworkId, string endpointId = EndpointId) =>
        $$$"""{"NetworkID": "{{{dockerNetworkId}}}", "EndpointID": "{{{endpointId}}}", "Interface": {"Address": "{{{address}}}", "AddressIPv6": "", "MacAddress": ""}, "Options": {"com.docker.network.endpoint.exposedports": [], "com.docker.network.portmap": []}}""";

    public static string Join(string dockerNetworkId = DockerNetworkId, string endpointId = EndpointId) =>
        $$$"""{"NetworkID": "{{{dockerNetworkId}}}", "EndpointID": "{{{endpointId}}}", "SandboxKey": "/var/run/docker/netns/b4b957a0a124", "Options": {"com.docker.network.endpoint.exposedports": [], "com.docker.network.portmap": []}}""";

    public static string Endpoint(string dockerNetworkId = DockerNetworkId, string endpointId = EndpointId) =>
        $$$"""{"NetworkID": "{{{dockerNetworkId}}}", "EndpointID": "{{{endpointId}}}"}""";

    public static string Network(string dockerNetworkId = DockerNetworkId) => $$$"""{"NetworkID": "{{{dockerNetworkId}}}"}""";
}
