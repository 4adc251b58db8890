namespace Contiv.Cni;

/// <summary>The CNI specification versions contivk8s speaks, and how a request's version is judged.</summary>
public static class CniVersions
{
    public const string Current = "1.0.0";

    /// <summary>0.3.x and 0.4.0 results differ from 1.0.0 only in the per-address "version" field (and CHECK needs 0.4.0+).</summary>
    public static readonly IReadOnlyList<string> Supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    public static bool IsSupported(string version) => Supported.Contains(version, StringComparer.Ordinal);

    /// <summary>CHECK exists from 0.4.0 on; a CHECK in an older version is an error (spec: "incompatible").</summary>
    public static bool HasCheck(string version) => Compare(version, "0.4.0") >= 0;

    public static int Compare(string a, string b)
    {
        var x = System.Version.TryParse(a, out var va) ? va : new Version(0, 0);
        var y = System.Version.TryParse(b, out var vb) ? vb : new Version(0, 0);
        return x.CompareTo(y);
    }
}
