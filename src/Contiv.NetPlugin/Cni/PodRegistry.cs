using System.Text.Json;
using System.Text.Json.Serialization;

namespace Contiv.NetPlugin.Cni;

/// <summary>
/// One pod interface this host plumbed (CNI ADD), as this host needs it later without asking
/// anyone: DEL after a netplugin restart or with the store down, CHECK, and the host agent telling
/// a live pod's endpoint from a stale one (pods are not in the Docker engine it asks otherwise).
/// </summary>
public sealed record PodRecord(
    string EndpointId,
    string ContainerId,
    string InterfaceName,
    string NetworkNamespace,
    string NetworkId,
    string Encap,
    int Tag,
    string? Group,
    string IpAddress,
    int PrefixLength,
    string? Gateway,
    string MacAddress,
    int Mtu,
    string? PodNamespace,
    string? PodName)
{
    public NetworkDatapathSpec Spec => new(NetworkId, Encap, Tag);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(PodRecord))]
internal sealed partial class PodRecordJson : JsonSerializerContext;

/// <summary>
/// The pod records of this host, one file each under <c>STATE_DIR/pods/</c> (the state dir survives
/// netplugin restarts; written to a temporary file and renamed, so a crash never leaves half a record).
/// </summary>
public sealed class PodRegistry(PluginOptions options)
{
    private string Directory => Path.Combine(options.StateDir, "pods");

    private string PathOf(string endpointId) => Path.Combine(Directory, endpointId + ".json");

    public PodRecord? Find(string endpointId)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(PathOf(endpointId)), PodRecordJson.Default.PodRecord);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public IReadOnlyList<PodRecord> List()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        return [.. System.IO.Directory.EnumerateFiles(Directory, "*.json").Select(f => Find(Path.GetFileNameWithoutExtension(f))).OfType<PodRecord>()];
    }

    /// <summary>The endpoint ids of the pods on this host: endpoints the host agent must not reclaim.</summary>
    public IReadOnlySet<string> EndpointIds() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);

    public void Save(PodRecord record)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(record.EndpointId);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(record, PodRecordJson.Default.PodRecord));
        File.Move(temporary, path, overwrite: true);
    }

    public void Delete(string endpointId)
    {
        if (System.IO.Directory.Exists(Directory))
        {
            File.Delete(PathOf(endpointId));
        }
    }
}
