using System.CommandLine;
using System.CommandLine.Completions;
using System.Text.Json;
using Contiv.Model;

namespace Contiv.NetCtl;

/// <summary>What every command shares: the common options and arguments, name completion, output and error handling.</summary>
public sealed partial class NetCtlCommands
{
    // ---- plumbing --------------------------------------------------------------------------------

    private Option<string> TenantOption()
    {
        var option = new Option<string>("--tenant", "-t") { Description = "tenant name", HelpName = "tenant", DefaultValueFactory = _ => Names.DefaultTenant };
        option.CompletionSources.Add(TenantNames());
        return option;
    }

    private Argument<string> TenantArgument()
    {
        var argument = new Argument<string>("TENANT") { HelpName = "TENANT" };
        argument.CompletionSources.Add(TenantNames());
        return argument;
    }

    /// <summary>A NETWORK argument completed with the networks of the tenant given by <paramref name="tenant"/>.</summary>
    private Argument<string> NetworkArgument(Option<string> tenant)
    {
        var argument = new Argument<string>("NETWORK") { HelpName = "NETWORK" };
        argument.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
        {
            var t = parse.GetValue(tenant) ?? Names.DefaultTenant;
            return (await client.ListNetworksAsync(ct)).Where(n => n.TenantName == t).Select(n => n.NetworkName);
        }));
        return argument;
    }

    private Func<CompletionContext, IEnumerable<CompletionItem>> TenantNames() =>
        RemoteNames(async (client, _, ct) => (await client.ListTenantsAsync(ct)).Select(t => t.TenantName));

    /// <summary>
    /// A completion source of names read from netmaster, with the connection options on the line
    /// being completed (or their environment variables). Completion must never fail or hang the
    /// shell: an unreachable or refusing netmaster, or one slower than <see cref="CompletionTimeout"/>,
    /// gives no names.
    /// </summary>
    private Func<CompletionContext, IEnumerable<CompletionItem>> RemoteNames(Func<NetmasterClient, ParseResult, CancellationToken, Task<IEnumerable<string>>> names) =>
        context =>
        {
            // The help builder asks for completions too (with the empty context) to draw value
            // placeholders when a symbol has no HelpName; help must not wait for netmaster.
            if (ReferenceEquals(context, CompletionContext.Empty))
            {
                return [];
            }

            try
            {
                using var timeout = new CancellationTokenSource(CompletionTimeout);
                var client = clientFactory(Connection(context.ParseResult));

                // System.CommandLine's completion sources are synchronous.
                var all = names(client, context.ParseResult, timeout.Token).GetAwaiter().GetResult();
                return [.. NameCompletion.Matching(all, context.WordToComplete).Select(n => new CompletionItem(n))];
            }
            catch (Exception e) when (e is NetCtlException or ContivException or OperationCanceledException or HttpRequestException or JsonException)
            {
                return [];
            }
        };

    private NetmasterConnection Connection(ParseResult parse) => new(parse.GetValue(_netmaster)!, parse.GetValue(_token), parse.GetValue(_tlsCa));

    /// <summary>
    /// Prints <paramref name="text"/> (Contiv's progress line, e.g. <c>Creating network
    /// default:contiv-net</c>) or, with --json, the report, only once the request succeeded. Contiv
    /// printed the line before asking; then a refusal left "Creating ..." on stdout next to the
    /// <c>Error:</c> line on stderr, as if something had been created. Here a refused command leaves
    /// stdout empty and its one error line on stderr.
    /// </summary>
    private async Task ReportAsync(ParseResult parse, string? text, Func<Task> request, ChangeReport report)
    {
        await request();
        if (parse.GetValue(_json))
        {
            WriteJson(report, NetCtlJson.Default.ChangeReport);
        }
        else if (text is not null)
        {
            await output.WriteLineAsync(text);
        }
    }

    // ---- completion ------------------------------------------------------------------------------

    /// <summary>Needs no netmaster, so it works (and is loaded by shells) whatever --netmaster says.</summary>
    private Command CompletionCommand()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong([.. ShellCompletion.Shells]);
        var command = new Command("completion", "Print a shell completion script: source <(netctl completion bash)") { shell };
        command.SetAction(parse => output.Write(ShellCompletion.For(parse.GetValue(shell)!)));
        return command;
    }

    private static Option<bool> QuietOption() => new("--quiet", "-q") { Description = "print names only" };

    private void WriteJson<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        output.WriteLine(JsonSerializer.Serialize(value, type));

    /// <summary>Runs an action with a client; user-facing failures become one line on stderr and exit code 1.</summary>
    private void SetAction(Command command, Func<ParseResult, NetmasterClient, CancellationToken, Task> action)
    {
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var client = clientFactory(Connection(parse));
                await action(parse, client, ct);
                return 0;
            }
            catch (Exception e) when (e is NetCtlException or ContivException)
            {
                await error.WriteLineAsync($"Error: {e.Message}");
                return 1;
            }
        });
    }
}
