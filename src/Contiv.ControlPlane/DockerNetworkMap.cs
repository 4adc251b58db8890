using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Contiv.State;

namespace Contiv.ControlPlane;

/// <summary>
/// Which Contiv network a local Docker network id stands for, and the endpoint group when the Docker
/// network is a group's (<c>docker run --net=web</c> puts the container in group web of its network).
/// </summary>
public sealed record DockerNetworkBinding(string NetworkId, string Encap, int Tag, string? Group = null);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DockerNetworkBinding))]
internal sealed partial class BindingJson : JsonSerializerContext;

/// <summary>
/// Docker network ids are per engine (networks are local-scope), so each host records its own
/// mapping. It is persisted because after a plugin restart Docker calls CreateEndpoint and Join for
/// networks whose CreateNetwork the new process never saw. Made by <see cref="ContivControl.DockerNetworks"/>.
/// </summary>
public sealed class DockerNetworkMap(IKeyValueStore store, string hostName)
{
    private readonly ConcurrentDictionary<string, DockerNetworkBinding> _cache = new(StringComparer.Ordinal);

    private readonly string _prefix = StateKeys.DockerNetworksOf(hostName);

    public async Task BindAsync(string dockerNetworkId, DockerNetworkBinding binding, CancellationToken ct)
    {
        await store.TryCommitAsync([], [new KeyWrite(_prefix + dockerNetworkId, JsonSerializer.Serialize(binding, BindingJson.Default.DockerNetworkBinding))], ct);
        _cache[dockerNetworkId] = binding;
    }

    public async Task<DockerNetworkBinding?> FindAsync(string dockerNetworkId, CancellationToken ct)
    {
        if (_cache.TryGetValue(dockerNetworkId, out var cached))
        {
            return cached;
        }

        var value = (await store.GetAsync([_prefix + dockerNetworkId], ct))[_prefix + dockerNetworkId];
        if (value is null)
        {
            return null;
        }

        var binding = JsonSerializer.Deserialize(value, BindingJson.Default.DockerNetworkBinding)!;
        _cache[dockerNetworkId] = binding;
        return binding;
    }

    public async Task UnbindAsync(string dockerNetworkId, CancellationToken ct)
    {
        _cache.TryRemove(dockerNetworkId, out _);
        await store.TryCommitAsync([], [new KeyWrite(_prefix + dockerNetworkId, null)], ct);
    }

    public async Task<IReadOnlyDictionary<string, DockerNetworkBinding>> ListAsync(CancellationToken ct) =>
        (await store.ListAsync(_prefix, ct)).ToDictionary(
            kv => kv.Key[_prefix.Length..],
            kv => JsonSerializer.Deserialize(kv.Value, BindingJson.Default.DockerNetworkBinding)!,
            StringComparer.Ordinal);
}
