using System.CommandLine;

namespace Contiv.CommandLine;

/// <summary>
/// Contiv's daemons took Go <c>flag</c> options, which accept <c>-name</c> as well as
/// <c>--name</c>, and Contiv's docs and scripts use the single-dash form (<c>netplugin -vtep-ip
/// ... -vlan-if eth2</c>, <c>netmaster -cluster-store ... -listen-url :9999</c>). netplugin and
/// netmaster accept both. The single-dash forms are not declared as aliases, because
/// System.CommandLine lists every alias in <c>--help</c>, shortest first, which put
/// <c>-cluster-store</c> ahead of <c>--cluster-store</c>; instead they are rewritten to the
/// <c>--</c> form before parsing, so <c>--help</c> shows only the <c>--</c> names.
/// netctl's Contiv ancestor (urfave/cli) accepted the same, and Contiv's policy tutorial writes
/// <c>netctl policy rule-add icmpPol 1 -direction=in -protocol=icmp -action=deny</c>; netctl
/// rewrites with the long names of every command (<see cref="NormalizeTree"/>).
/// (Compiled into src/Contiv.NetPlugin, src/Contiv.NetMaster and src/Contiv.NetCtl.)
/// </summary>
internal static class GoStyleFlags
{
    /// <summary>
    /// <paramref name="args"/> with each <c>-name</c> or <c>-name=value</c> whose <c>--name</c> is
    /// an option of <paramref name="root"/> written as <c>--name</c>; everything else unchanged
    /// (one-letter options such as <c>-h</c>, values, anything after a bare <c>--</c>).
    /// </summary>
    public static string[] Normalize(RootCommand root, IReadOnlyList<string> args) => Normalize(LongNames(root.Options), args);

    /// <summary>As <see cref="Normalize(RootCommand, IReadOnlyList{string})"/>, with the long options of every subcommand too.</summary>
    public static string[] NormalizeTree(Command root, IReadOnlyList<string> args)
    {
        var options = new List<Option>();
        void Collect(Command command)
        {
            options.AddRange(command.Options);
            foreach (var sub in command.Subcommands)
            {
                Collect(sub);
            }
        }

        Collect(root);
        return Normalize(LongNames(options), args);
    }

    private static HashSet<string> LongNames(IEnumerable<Option> options) =>
        options.SelectMany(o => o.Aliases.Append(o.Name))
            .Where(n => n.StartsWith("--", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);

    private static string[] Normalize(HashSet<string> longNames, IReadOnlyList<string> args)
    {
        var result = new string[args.Count];
        var endOfOptions = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!endOfOptions && arg == "--")
            {
                endOfOptions = true;
            }
            else if (!endOfOptions && arg.Length > 2 && arg[0] == '-' && arg[1] != '-')
            {
                var equals = arg.IndexOf('=', StringComparison.Ordinal);
                if (longNames.Contains("-" + (equals < 0 ? arg : arg[..equals])))
                {
                    arg = "-" + arg;
                }
            }

            result[i] = arg;
        }

        return result;
    }
}
