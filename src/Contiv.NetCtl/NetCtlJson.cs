using System.Text.Json;
using System.Text.Json.Serialization;
using Contiv.Model;

namespace Contiv.NetCtl;

/// <summary>
/// What a changing command did, printed by <c>--json</c> instead of its text line, e.g.
/// <c>{"action": "create", "kind": "network", "key": "default:contiv-net", "network": {...}}</c>.
/// <c>key</c> is the object's key in Contiv's form (tenant name, <c>TENANT:NETWORK</c>, <c>global</c>, host name).
/// </summary>
public sealed class ChangeReport
{
    public const string Create = "create";
    public const string Delete = "delete";
    public const string Set = "set";
    public const string Update = "update";

    /// <summary><c>create</c>, <c>delete</c>, <c>set</c> or <c>update</c>.</summary>
    [JsonPropertyName("action")]
    public string Action { get; set; } = string.Empty;

    /// <summary><c>tenant</c>, <c>network</c>, <c>global</c>, <c>host</c>, <c>endpointGroup</c>, <c>policy</c>, <c>rule</c> or <c>netprofile</c>.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = string.Empty;

    [JsonPropertyName("key")]
    public string Key { get; set; } = string.Empty;

    /// <summary>The tenant as sent to netmaster (create).</summary>
    [JsonPropertyName("tenant")]
    public Tenant? Tenant { get; set; }

    /// <summary>The network as sent to netmaster, after netctl's normalisation (create).</summary>
    [JsonPropertyName("network")]
    public Network? Network { get; set; }

    /// <summary>The global settings as sent to netmaster (set).</summary>
    [JsonPropertyName("global")]
    public GlobalSettings? Global { get; set; }

    /// <summary>The endpoint group as sent to netmaster (create, update).</summary>
    [JsonPropertyName("endpointGroup")]
    public EndpointGroupConfig? EndpointGroup { get; set; }

    /// <summary>The policy as sent to netmaster (create).</summary>
    [JsonPropertyName("policy")]
    public PolicyConfig? Policy { get; set; }

    /// <summary>The rule as sent to netmaster (create).</summary>
    [JsonPropertyName("rule")]
    public RuleObject? Rule { get; set; }

    /// <summary>The netprofile as sent to netmaster (create, update).</summary>
    [JsonPropertyName("netprofile")]
    public NetProfileConfig? NetProfile { get; set; }

    /// <summary>Endpoints whose addresses were given back (host delete); 0 is printed.</summary>
    [JsonPropertyName("reclaimedEndpoints")]
    public int? ReclaimedEndpoints { get; set; }
}

/// <summary><c>netctl version --json</c>: the two blocks of the text output.</summary>
public sealed class VersionReport
{
    [JsonPropertyName("Client")]
    public VersionInfo Client { get; set; } = new();

    [JsonPropertyName("Server")]
    public VersionInfo Server { get; set; } = new();
}

/// <summary>
/// Source-generated JSON for netctl's own outputs (the objects netmaster serves use
/// <see cref="ContivJson"/>). Same conventions: Go's omitempty, two-space indentation.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault, WriteIndented = true)]
[JsonSerializable(typeof(ChangeReport))]
[JsonSerializable(typeof(VersionReport))]
public sealed partial class NetCtlJson : JsonSerializerContext
{
    /// <summary>Parses a <see cref="ChangeReport"/> (tests and scripts reading netctl's output).</summary>
    public static ChangeReport? ParseChange(string json) => JsonSerializer.Deserialize(json, Default.ChangeReport);
}
