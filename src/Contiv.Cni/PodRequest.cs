using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Contiv.Cni;

/// <summary>
/// What contivk8s hands the node's netplugin for one CNI call (<c>POST /ContivCNI.AddPod</c>,
/// <c>.DelPod</c>, <c>.CheckPod</c> on its CNI socket): the invocation and the parts of the network
/// configuration netplugin needs. netplugin answers 200 with the result in <see cref="CniVersion"/>
/// (empty for DEL and CHECK), or an error status with CNI's error object, which contivk8s prints as is.
/// </summary>
public sealed record PodRequest(
    string CniVersion,
    string ContainerId,
    string? NetworkNamespace,
    string InterfaceName,
    IReadOnlyDictionary<string, string> Args,
    IReadOnlyDictionary<string, string> PodAnnotations)
{
    public const string AddPath = "/ContivCNI.AddPod";
    public const string DelPath = "/ContivCNI.DelPod";
    public const string CheckPath = "/ContivCNI.CheckPod";

    public static PodRequest From(CniInvocation call, NetworkConfig config) =>
        new(config.CniVersion, call.ContainerId, call.NetworkNamespace, call.InterfaceName, call.Args, config.PodAnnotations);

    public static string PathOf(CniCommand command) => command switch
    {
        CniCommand.Add => AddPath,
        CniCommand.Del => DelPath,
        CniCommand.Check => CheckPath,
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "VERSION is answered by contivk8s itself"),
    };

    public PodReference Pod => PodReference.FromArgs(Args, ContainerId);

    /// <summary>
    /// The endpoint id a pod's interface gets in Contiv's records: stable across retries and
    /// netplugin restarts (derived, not stored), 64 hex digits like Docker's, unique per
    /// (container, interface) as CNI defines an attachment.
    /// </summary>
    public string EndpointId => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{ContainerId}/{InterfaceName}")));

    public string ToJson() => CniJson.Write(w =>
    {
        w.WriteString("cniVersion", CniVersion);
        w.WriteString("containerId", ContainerId);
        if (NetworkNamespace is not null)
        {
            w.WriteString("netns", NetworkNamespace);
        }

        w.WriteString("ifName", InterfaceName);
        WriteMap(w, "args", Args);
        WriteMap(w, "podAnnotations", PodAnnotations);
    });

    /// <summary>Reads what <see cref="ToJson"/> wrote; anything else is a <see cref="CniErrorCode.DecodingFailure"/>.</summary>
    public static PodRequest Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CniException(CniErrorCode.DecodingFailure, "the pod request is not a JSON object");
            }

            var version = Text(root, "cniVersion", required: true)!;
            if (!CniVersions.IsSupported(version))
            {
                throw new CniException(CniErrorCode.IncompatibleVersion, $"CNI version {version} is not supported (supported: {string.Join(", ", CniVersions.Supported)})");
            }

            var ifName = Text(root, "ifName", required: true)!;
            if (ifName.Length > CniInvocation.MaxInterfaceName)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment, $"interface name {ifName} is longer than {CniInvocation.MaxInterfaceName} characters");
            }

            return new PodRequest(version, Text(root, "containerId", required: true)!, Text(root, "netns", required: false), ifName, Map(root, "args"), Map(root, "podAnnotations"));
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, "the pod request is not JSON", e.Message);
        }
    }

    private static string? Text(JsonElement root, string name, bool required)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text)
        {
            return text;
        }

        return required ? throw new CniException(CniErrorCode.DecodingFailure, $"the pod request has no {name}") : null;
    }

    private static Dictionary<string, string> Map(JsonElement root, string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in value.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
            {
                map[p.Name] = p.Value.GetString()!;
            }
        }

        return map;
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WriteString(key, value);
        }

        w.WriteEndObject();
    }
}
