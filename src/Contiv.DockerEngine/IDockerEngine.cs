namespace Contiv.DockerEngine;

/// <summary>A Docker network to create for a Contiv network.</summary>
public sealed record DockerNetworkSpec(
    string Name,
    string Driver,
    IReadOnlyDictionary<string, string> Options,
    string IpamDriver,
    IReadOnlyDictionary<string, string> IpamOptions,
    string Subnet,
    string? Gateway);

/// <summary>A container attached to a Docker network.</summary>
public sealed record DockerAttachment(string ContainerId, string ContainerName, string EndpointId, string? IPv4Address);

/// <summary>A Docker network as the engine reports it.</summary>
public sealed record DockerNetworkInfo(
    string Id,
    string Name,
    string Driver,
    IReadOnlyDictionary<string, string> Options,
    IReadOnlyList<DockerAttachment> Containers);

/// <summary>The few Docker engine calls netplugin needs, behind a narrow interface.</summary>
public interface IDockerEngine
{
    /// <summary>Where the engine is, for messages (e.g. unix:///var/run/docker.sock).</summary>
    string Endpoint { get; }

    Task<IReadOnlyList<DockerNetworkInfo>> ListNetworksAsync(CancellationToken ct);

    /// <summary>The network with this id or name (with its containers), or null when it does not exist.</summary>
    Task<DockerNetworkInfo?> InspectNetworkAsync(string idOrName, CancellationToken ct);

    /// <summary>Creates the network and returns its id.</summary>
    Task<string> CreateNetworkAsync(DockerNetworkSpec spec, CancellationToken ct);

    /// <summary>Removes the network; a network that is already gone is not an error.</summary>
    Task RemoveNetworkAsync(string idOrName, CancellationToken ct);
}

/// <summary>The engine could not be reached or refused a call.</summary>
public sealed class DockerEngineException(string message, Exception? inner = null) : Exception(message, inner);
