using System.Text;

namespace Contiv.NetCtl;

/// <summary>
/// Renders rows the way Go's text/tabwriter does in Contiv's netctl (minimum cell width 0, padding 2,
/// space padding): each column is as wide as its widest cell plus two spaces; trailing spaces of a
/// line are dropped. Output is byte-compatible with the seed sessions.
/// </summary>
public static class TableWriter
{
    public static string Render(IReadOnlyList<IReadOnlyList<string>> rows, int padding = 2)
    {
        var columns = rows.Count == 0 ? 0 : rows.Max(r => r.Count);
        var widths = new int[columns];
        foreach (var row in rows)
        {
            for (var c = 0; c < row.Count - 1; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            var line = new StringBuilder();
            for (var c = 0; c < row.Count; c++)
            {
                line.Append(row[c]);
                if (c < row.Count - 1)
                {
                    line.Append(' ', widths[c] - row[c].Length + padding);
                }
            }

            sb.Append(line.ToString().TrimEnd()).Append('\n');
        }

        return sb.ToString();
    }
}
