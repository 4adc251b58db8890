using System.Text.Json;

namespace Contiv.Cni;

/// <summary>
/// The network configuration the runtime passes on stdin: the fields contivk8s reads, each checked.
/// <c>socket</c> is Contiv's own (where netplugin's CNI endpoint listens); runtimeConfig's
/// <c>io.kubernetes.cri.pod-annotations</c> (containerd passes pod annotations there when the
/// conflist asks for the capability) can carry the pod's Contiv labels.
/// </summary>
public sealed record NetworkConfig(string CniVersion, string Name, string Type, string Socket, IReadOnlyDictionary<string, string> PodAnnotations, string Raw)
{
    public const string DefaultSocket = "/run/contiv/contiv-cni.sock";

    public const string PodAnnotationsCapability = "io.kubernetes.cri.pod-annotations";

    public static NetworkConfig Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, "the network configuration is not JSON", e.Message);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CniException(CniErrorCode.DecodingFailure, "the network configuration is not a JSON object");
            }

            var version = String(root, "cniVersion") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "the network configuration has no cniVersion");
            if (!CniVersions.IsSupported(version))
            {
                throw new CniException(CniErrorCode.IncompatibleVersion, $"CNI version {version} is not supported (supported: {string.Join(", ", CniVersions.Supported)})");
            }

            var name = String(root, "name") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "the network configuration has no name");
            var type = String(root, "type") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "the network configuration has no type");
            var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("runtimeConfig", out var runtime) && runtime.ValueKind == JsonValueKind.Object
                && runtime.TryGetProperty(PodAnnotationsCapability, out var podAnnotations) && podAnnotations.ValueKind == JsonValueKind.Object)
            {
                foreach (var a in podAnnotations.EnumerateObject().Where(a => a.Value.ValueKind == JsonValueKind.String))
                {
                    annotations[a.Name] = a.Value.GetString()!;
                }
            }

            return new NetworkConfig(version, name, type, String(root, "socket") ?? DefaultSocket, annotations, json);
        }
    }

    private static string? String(JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{property} in the network configuration must be a string");
    }
}
