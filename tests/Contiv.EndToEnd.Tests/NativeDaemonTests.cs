using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// The published native netmaster and netplugin (artifacts/, as the systemd units run them), each
/// started as a process of its own on loopback or a socket in a temporary directory (netplugin in a
/// network namespace of its own, with an empty store: it programs nothing), killed by its PID.
/// </summary>
public sealed class NativeDaemonTests : IDisposable
{
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _directory = TempDirectory.Create("contiv-native-");

    public void Dispose() => _directory.Dispose();

    /// <summary>
    /// systemd starts services in /. The daemons used to put a recursive inotify watch on their
    /// current directory (ASP.NET Core's appsettings reload): from / one watch per directory of the
    /// filesystem, ~40,000 here, added before they answered. Now: none, from / or anywhere else.
    /// </summary>
    [Theory]
    [InlineData("netmaster")]
    [InlineData("netplugin")]
    public async Task Started_from_root_it_holds_no_inotify_watches(string daemon)
    {
        await using var process = await StartReadyAsync(daemon, workingDirectory: "/", legacySpelling: false);

        // The watches were added by a background thread while the daemon came up: give any the time to appear.
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        Assert.False(process.HasExited, $"{daemon} exited: {process.StandardOutput}{process.StandardError}");
        Assert.Equal("/", ReadLink($"/proc/{process.Id}/cwd"));
        Assert.Equal(0, InotifyWatches(process.Id));
    }

    /// <summary>Contiv's Go-style spellings (-cluster-store, -listen-url=..., -vtep-ip) still start the daemons.</summary>
    [Theory]
    [InlineData("netmaster")]
    [InlineData("netplugin")]
    public async Task Single_dash_flags_of_contiv_are_accepted(string daemon)
    {
        await using var process = await StartReadyAsync(daemon, workingDirectory: _directory.Path, legacySpelling: true);
        Assert.False(process.HasExited);
    }

    /// <summary>--help lists the --long names (the single-dash ones work but are not shown), and says what is optional.</summary>
    [Theory]
    [InlineData("netmaster")]
    [InlineData("netplugin")]
    public async Task Help_lists_the_double_dash_names(string daemon)
    {
        var help = (await Shell.RunAsync(Program(daemon), ["--help"], TimeSpan.FromSeconds(30))).EnsureSuccess($"{daemon} --help");
        var names = OptionNames(help.Stdout);
        Assert.Contains("--cluster-store", names);
        Assert.All(names, name => Assert.True(name.StartsWith("--", StringComparison.Ordinal) || name is "-h" or "-?", $"{daemon} --help shows {name}:\n{help.Stdout}"));

        // The single-dash forms are gone from help, not from the parser.
        Assert.DoesNotMatch(@"(^|\s)-cluster-store", help.Stdout);
        if (daemon == "netplugin")
        {
            Assert.Matches(@"\n\s+--vlan-if <vlan-if>\s+optional: ", help.Stdout);
            Assert.Matches(@"\n\s+--docker-endpoint <docker-endpoint>\s+[^\n]*\(default: \$DOCKER_HOST if set, else unix:///var/run/docker\.sock\)", help.Stdout);
        }
    }

    /// <summary>Starts DAEMON in <paramref name="workingDirectory"/> and waits until it answers on its socket or port.</summary>
    private async Task<ChildProcess> StartReadyAsync(string daemon, string workingDirectory, bool legacySpelling)
    {
        var program = Program(daemon);
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            Prerequisite.Missing("the native daemon tests need Linux and root (netplugin's network namespace, /proc of the daemon)");
        }

        var dash = legacySpelling ? "-" : "--";
        var store = $"embedded://{_directory.Combine(daemon + "-store")}";
        string file;
        List<string> arguments;
        Uri health;
        HttpClient http;
        if (daemon == "netmaster")
        {
            var port = FreeLoopbackPort();
            file = program;
            arguments = legacySpelling
                ? [$"-listen-url=127.0.0.1:{port}", "-cluster-store", store]
                : ["--listen-url", $"127.0.0.1:{port}", "--cluster-store", store];
            health = new Uri($"http://127.0.0.1:{port}/health");
            http = new HttpClient();
        }
        else
        {
            // Its own network namespace (unshare execs netplugin, so the PID is netplugin's): the
            // agent never touches the host's links, and the plugin socket is a file, reachable from here.
            var socket = _directory.Combine("netplugin.sock");
            file = "/usr/bin/unshare";
            arguments =
            [
                "--net", "--", program,
                $"{dash}socket", socket, $"{dash}state-dir={_directory.Combine("state")}", $"{dash}cluster-store", store,
                $"{dash}host", "native-test", $"{dash}vtep-ip", "127.0.0.1", $"{dash}dns-listen", "off",
                $"{dash}docker-endpoint", $"unix://{_directory.Combine("no-docker.sock")}",
            ];
            health = new Uri("http://netplugin/health");
            http = new HttpClient(new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await unix.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(unix, ownsSocket: true);
                },
            });
        }

        var process = ChildProcess.Start(file, arguments, workingDirectory: workingDirectory);
        using (http)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    // Any answer will do (netplugin's health is degraded without a Docker engine): it serves.
                    using var response = await http.GetAsync(health, TestContext.Current.CancellationToken);
                    return process;
                }
                catch (HttpRequestException) when (clock.Elapsed < Ready && !process.HasExited)
                {
                    await Task.Delay(100, TestContext.Current.CancellationToken);
                }
                catch (HttpRequestException e)
                {
                    await process.DisposeAsync();
                    throw new InvalidOperationException($"{daemon} did not answer on {health} within {Ready.TotalSeconds} s ({e.Message}):\n{process.StandardOutput}{process.StandardError}", e);
                }
            }
        }
    }

    private static string Program(string daemon)
    {
        var artifacts = Environment.GetEnvironmentVariable("CONTIV_ARTIFACTS") ?? Path.Combine(Repo.Root, "artifacts");
        var program = Path.Combine(artifacts, daemon, daemon);
        if (!File.Exists(program))
        {
            Prerequisite.Missing($"{program} is missing: run scripts/build.sh first");
        }

        return program;
    }

    /// <summary>inotify watches of every inotify descriptor the process holds (one "inotify wd:" line each in fdinfo).</summary>
    private static int InotifyWatches(int pid) =>
        Directory.GetFiles($"/proc/{pid}/fdinfo").Sum(fd =>
        {
            try
            {
                return File.ReadLines(fd).Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
            }
            catch (IOException)
            {
                return 0; // closed meanwhile
            }
        });

    private static string ReadLink(string path) => new FileInfo(path).LinkTarget ?? throw new InvalidOperationException($"{path} is not a link");

    /// <summary>The names in the Options section of System.CommandLine's help ("  --a, --b &lt;x&gt;  text").</summary>
    private static List<string> OptionNames(string help) =>
        [.. help[help.IndexOf("Options:", StringComparison.Ordinal)..].Split('\n').Skip(1)
            .Where(line => line.StartsWith("  -", StringComparison.Ordinal))
            .SelectMany(line => line.Trim().Split("  ")[0].Split(' ').TakeWhile(word => !word.StartsWith('<')))
            .Select(name => name.TrimEnd(','))];

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
