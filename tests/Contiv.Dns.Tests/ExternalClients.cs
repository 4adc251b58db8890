using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.Dns.Tests;

/// <summary>Runs real DNS clients (ISC dig, busybox nslookup) against the responder.</summary>
internal static partial class ExternalClients
{
    private static readonly Lazy<Task<string?>> DigUnavailable = new(FindOrInstallDigAsync);

    /// <summary>Runs dig against <paramref name="server"/> with one try and no recursion; skips the test when dig cannot be had.</summary>
    public static async Task<DigOutput> DigAsync(IPEndPoint server, params string[] arguments)
    {
        // bind9-dnsutils is one of scripts/install-deps.sh's packages: a failure under CONTIV_E2E_REQUIRED=1.
        if (await DigUnavailable.Value is { } reason)
            Prerequisite.Missing(reason);
        var (exitCode, output, error) = await RunAsync("dig",
            [$"@{server.Address}", "-p", server.Port.ToString(), "+time=2", "+tries=1", "+norec", .. arguments]);
        Assert.True(exitCode == 0, $"dig {string.Join(' ', arguments)} exited {exitCode}: {output}{error}");
        return new DigOutput(output);
    }

    public static Task<(int ExitCode, string Output, string Error)> BusyboxAsync(params string[] arguments) =>
        RunAsync("/bin/busybox", arguments);

    /// <summary>dig comes from Debian's bind9-dnsutils. If it is missing and we are root, install it once (as the
    /// project's install step would); if that fails too, the dig tests skip and say why.</summary>
    private static async Task<string?> FindOrInstallDigAsync()
    {
        if (OnPath("dig"))
            return null;
        if (Environment.GetEnvironmentVariable("CONTIV_DNS_TESTS_NO_INSTALL") == "1")
            return "dig not found and CONTIV_DNS_TESTS_NO_INSTALL=1: install bind9-dnsutils";
        if (!Environment.IsPrivilegedProcess || !File.Exists("/usr/bin/apt-get"))
            return "dig not found and cannot install bind9-dnsutils here (needs root and apt-get)";

        string[] install = ["install", "-y", "-qq", "--no-install-recommends", "bind9-dnsutils"];
        var (exitCode, output, error) = await RunAsync("apt-get", install, TimeSpan.FromMinutes(5));
        if (exitCode != 0)
        {
            await RunAsync("apt-get", ["update", "-qq"], TimeSpan.FromMinutes(5));
            (exitCode, output, error) = await RunAsync("apt-get", install, TimeSpan.FromMinutes(5));
        }

        return OnPath("dig") ? null : $"dig not found and 'apt-get install bind9-dnsutils' failed ({exitCode}): {Tail(output + error)}";
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, program)));

    private static string Tail(string text) => text.Length <= 400 ? text : text[^400..];

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, string[] arguments, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DEBIAN_FRONTEND"] = "noninteractive" },
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>The parts of dig's text output the tests look at.</summary>
    public sealed partial class DigOutput(string text)
    {
        public string Text { get; } = text;

        public string Status => HeaderStatus().Match(Text) is { Success: true } m ? m.Groups[1].Value : $"(no status in: {Text})";

        public string[] Flags => FlagsLine().Match(Text) is { Success: true } m ? m.Groups[1].Value.Split(' ') : [];

        public int AnswerCount => FlagsLine().Match(Text) is { Success: true } m ? int.Parse(m.Groups[2].Value) : -1;

        /// <summary>The answer section's records, whitespace collapsed: "contiv-c1. 5 IN A 10.1.1.2".</summary>
        public string[] Answers =>
        [
            .. Text.Split(";; ANSWER SECTION:\n") is [_, var section, ..]
                ? section.Split("\n\n")[0].Split('\n').Select(line => Whitespace().Replace(line.Trim(), " "))
                : [],
        ];

        public string Question => Text.Split(";; QUESTION SECTION:\n") is [_, var section, ..]
            ? Whitespace().Replace(section.Split('\n')[0].Trim(), " ")
            : "";

        public override string ToString() => Text;

        [GeneratedRegex(@"status: (\w+),")]
        private static partial Regex HeaderStatus();

        [GeneratedRegex(@";; flags: ([a-z ]*); QUERY: \d+, ANSWER: (\d+),")]
        private static partial Regex FlagsLine();

        [GeneratedRegex(@"\s+")]
        private static partial Regex Whitespace();
    }
}
