using System.Net;
using System.Text;
using System.Text.Json;

namespace Contiv.Cni;

/// <summary>An interface the plugin created; <see cref="Sandbox"/> is the netns path for the pod's side, null for the host's.</summary>
public sealed record CniInterface(string Name, string Mac, string? Sandbox);

/// <summary>An address on <see cref="CniResult.Interfaces"/>[<see cref="Interface"/>].</summary>
public sealed record CniIpConfig(IPAddress Address, int PrefixLength, IPAddress? Gateway, int Interface);

public sealed record CniRoute(IPAddress Destination, int PrefixLength, IPAddress? Gateway);

/// <summary>
/// What ADD returns, written in the version the runtime asked for: 1.0.0 dropped the per-address
/// <c>version</c> field that 0.3.x and 0.4.0 require; nothing else contivk8s reports differs.
/// </summary>
public sealed record CniResult(IReadOnlyList<CniInterface> Interfaces, IReadOnlyList<CniIpConfig> Ips, IReadOnlyList<CniRoute> Routes)
{
    public string ToJson(string cniVersion) => CniJson.Write(w =>
    {
        w.WriteString("cniVersion", cniVersion);
        w.WriteStartArray("interfaces");
        foreach (var i in Interfaces)
        {
            w.WriteStartObject();
            w.WriteString("name", i.Name);
            w.WriteString("mac", i.Mac);
            if (i.Sandbox is not null)
            {
                w.WriteString("sandbox", i.Sandbox);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("ips");
        foreach (var ip in Ips)
        {
            w.WriteStartObject();
            if (CniVersions.Compare(cniVersion, "1.0.0") < 0)
            {
                w.WriteString("version", ip.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "6" : "4");
            }

            w.WriteString("address", $"{ip.Address}/{ip.PrefixLength}");
            if (ip.Gateway is not null)
            {
                w.WriteString("gateway", ip.Gateway.ToString());
            }

            w.WriteNumber("interface", ip.Interface);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("routes");
        foreach (var r in Routes)
        {
            w.WriteStartObject();
            w.WriteString("dst", $"{r.Destination}/{r.PrefixLength}");
            if (r.Gateway is not null)
            {
                w.WriteString("gw", r.Gateway.ToString());
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("dns");
        w.WriteEndObject();
    });
}

/// <summary>The plugin's other outputs: the error object and VERSION's answer.</summary>
public static class CniJson
{
    public static string Error(string cniVersion, CniErrorCode code, string message, string? details = null) => Write(w =>
    {
        w.WriteString("cniVersion", cniVersion);
        w.WriteNumber("code", (int)code);
        w.WriteString("msg", message);
        if (details is not null)
        {
            w.WriteString("details", details);
        }
    });

    public static string Version() => Write(w =>
    {
        w.WriteString("cniVersion", CniVersions.Current);
        w.WriteStartArray("supportedVersions");
        foreach (var v in CniVersions.Supported)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    });

    internal static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
