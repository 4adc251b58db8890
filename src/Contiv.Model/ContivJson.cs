using System.Text.Json;
using System.Text.Json.Serialization;

namespace Contiv.Model;

/// <summary>Source-generated JSON for every object that crosses a process boundary.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    WriteIndented = false)]
[JsonSerializable(typeof(Tenant))]
[JsonSerializable(typeof(List<Tenant>))]
[JsonSerializable(typeof(Network))]
[JsonSerializable(typeof(List<Network>))]
[JsonSerializable(typeof(GlobalSettings))]
[JsonSerializable(typeof(NetworkInspect))]
[JsonSerializable(typeof(TenantInspect))]
[JsonSerializable(typeof(GlobalInspect))]
[JsonSerializable(typeof(EndpointInspect))]
[JsonSerializable(typeof(EndpointOper))]
[JsonSerializable(typeof(List<EndpointOper>))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(VersionInfo))]
[JsonSerializable(typeof(List<HostStatus>))]
[JsonSerializable(typeof(HostRemoval))]
[JsonSerializable(typeof(EndpointGroupConfig))]
[JsonSerializable(typeof(List<EndpointGroupConfig>))]
[JsonSerializable(typeof(EndpointGroupInspect))]
[JsonSerializable(typeof(PolicyConfig))]
[JsonSerializable(typeof(List<PolicyConfig>))]
[JsonSerializable(typeof(PolicyInspect))]
[JsonSerializable(typeof(RuleObject))]
[JsonSerializable(typeof(List<RuleObject>))]
[JsonSerializable(typeof(NetProfileConfig))]
[JsonSerializable(typeof(List<NetProfileConfig>))]
[JsonSerializable(typeof(NetProfileInspect))]
public sealed partial class ContivJson : JsonSerializerContext
{
    private static ContivJson? _indented;

    /// <summary>Indented with two spaces, like Go's json.MarshalIndent in netctl.</summary>
    public static ContivJson Indented => _indented ??= new ContivJson(new JsonSerializerOptions(Default.Options) { WriteIndented = true });
}
