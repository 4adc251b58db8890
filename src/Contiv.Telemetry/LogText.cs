using System.Text;

namespace Contiv.Telemetry;

/// <summary>Request-controlled text for a log line.</summary>
public static class LogText
{
    /// <summary>Control characters (a decoded %0A) would forge lines in the text format: each becomes '?'; long values are cut.</summary>
    public static string Clean(string? value, int max = 256)
    {
        var text = new StringBuilder(value ?? string.Empty);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]))
            {
                text[i] = '?';
            }
        }

        return text.Length > max ? text.ToString(0, max) + "..." : text.ToString();
    }
}
