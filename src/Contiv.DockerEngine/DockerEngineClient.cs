using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Contiv.DockerEngine;

/// <summary>
/// <see cref="IDockerEngine"/> over Docker.DotNet on the engine's Unix socket. Calls are retried with
/// backoff while the engine is unreachable (e.g. dockerd restarting) and bounded by a timeout.
/// </summary>
public sealed class DockerEngineClient : IDockerEngine, IDisposable
{
    private readonly DockerClient _client;
    private readonly ResiliencePipeline _pipeline;

    public DockerEngineClient(string endpoint, TimeSpan? attemptTimeout = null, int retries = 4)
    {
        Endpoint = endpoint;
        _client = new DockerClientConfiguration(new Uri(endpoint), defaultTimeout: attemptTimeout ?? TimeSpan.FromSeconds(20)).CreateClient();
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<SocketException>().Handle<TimeoutRejectedException>()
                    .Handle<IOException>(),
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(200),
                UseJitter = true,
            })
            .AddTimeout(attemptTimeout ?? TimeSpan.FromSeconds(20))
            .Build();
    }

    public string Endpoint { get; }

    public async Task<IReadOnlyList<DockerNetworkInfo>> ListNetworksAsync(CancellationToken ct)
    {
        var networks = await RunAsync(t => _client.Networks.ListNetworksAsync(new NetworksListParameters(), t), "list networks", ct);
        return [.. networks.Select(ToInfo)];
    }

    public async Task<DockerNetworkInfo?> InspectNetworkAsync(string idOrName, CancellationToken ct)
    {
        try
        {
            return ToInfo(await RunAsync(t => _client.Networks.InspectNetworkAsync(idOrName, t), $"inspect network {idOrName}", ct));
        }
        catch (DockerEngineException e) when (e.InnerException is DockerNetworkNotFoundException or DockerApiException { StatusCode: HttpStatusCode.NotFound })
        {
            return null;
        }
    }

    public async Task<string> CreateNetworkAsync(DockerNetworkSpec spec, CancellationToken ct)
    {
        var parameters = new NetworksCreateParameters
        {
            Name = spec.Name,
            Driver = spec.Driver,
            CheckDuplicate = true,
            Attachable = true,
            Options = spec.Options.ToDictionary(),
            IPAM = new IPAM
            {
                Driver = spec.IpamDriver,
                Options = spec.IpamOptions.ToDictionary(),
                Config = [new IPAMConfig { Subnet = spec.Subnet, Gateway = spec.Gateway ?? string.Empty }],
            },
        };
        var created = await RunAsync(t => _client.Networks.CreateNetworkAsync(parameters, t), $"create network {spec.Name}", ct);
        return created.ID;
    }

    public async Task RemoveNetworkAsync(string idOrName, CancellationToken ct)
    {
        try
        {
            await RunAsync(async t =>
            {
                await _client.Networks.DeleteNetworkAsync(idOrName, t);
                return true;
            }, $"remove network {idOrName}", ct);
        }
        catch (DockerEngineException e) when (e.InnerException is DockerNetworkNotFoundException or DockerApiException { StatusCode: HttpStatusCode.NotFound })
        {
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, string what, CancellationToken ct)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async t => await call(t), ct);
        }
        catch (DockerApiException e)
        {
            throw new DockerEngineException($"docker engine {Endpoint}: {what} failed: {e.ResponseBody?.Trim() ?? e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TimeoutRejectedException or IOException)
        {
            throw new DockerEngineException($"docker engine {Endpoint} is unreachable: {what} failed: {e.Message}", e);
        }
    }

    private static DockerNetworkInfo ToInfo(NetworkResponse n) => new(
        n.ID,
        n.Name,
        n.Driver,
        (IReadOnlyDictionary<string, string>?)n.Options ?? new Dictionary<string, string>(),
        [.. (n.Containers ?? new Dictionary<string, EndpointResource>()).Select(kv => new DockerAttachment(kv.Key, kv.Value.Name, kv.Value.EndpointID, kv.Value.IPv4Address))]);
}
