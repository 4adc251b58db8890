using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Contiv.ControlPlane;
using Contiv.State;
using Contiv.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Contiv.NetPlugin.Tests;

/// <summary>One plugin reply: status, content type and body (parsed when it is JSON).</summary>
public sealed record PluginReply(HttpStatusCode Status, string? ContentType, string Body)
{
    public JsonElement Json
    {
        get
        {
            using var doc = JsonDocument.Parse(Body);
            return doc.RootElement.Clone();
        }
    }

    public string? Err => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty(nameof(Err), out var err) ? err.GetString() : null;

    public override string ToString() => $"{(int)Status} {ContentType} {Body}";
}

/// <summary>
/// The real plugin handlers and server (<see cref="PluginServer.Map"/>) on a Kestrel Unix socket in a
/// temp directory, over a real embedded store (<c>embedded:///DIR/state</c>), with a recording
/// datapath and no Docker engine. Talks HTTP over the socket like dockerd.
/// </summary>
public sealed class PluginHarness : IAsyncDisposable
{
    public const string HostName = "h1";
    public const string VtepIp = "192.168.2.50";

    private PluginHarness(TempDirectory directory, IKeyValueStore store, WebApplication app, HttpClient http, FakeDatapath datapath, DockerNetworkMap map, ContivControl control)
    {
        Directory = directory;
        Store = store;
        App = app;
        Http = http;
        Datapath = datapath;
        Map = map;
        Control = control;
    }

    public TempDirectory Directory { get; }

    public IKeyValueStore Store { get; }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    public FakeDatapath Datapath { get; }

    public DockerNetworkMap Map { get; }

    public ContivControl Control { get; }

    /// <summary>Everything the server logged (every category, Information and up).</summary>
    public LogCapture Logs { get; private init; } = new();

    public static string SocketPath(TempDirectory directory) => directory.Combine("netplugin.sock");

    public static string StoreUrl(TempDirectory directory) => "embedded://" + directory.Combine("state");

    /// <param name="directory">Holds the socket and the store; reuse it to "restart" the plugin.</param>
    /// <param name="productionBodyLimit">Kestrel's request size limit as netplugin sets it (else Kestrel's default, so PluginServer's own check is what refuses).</param>
    /// <param name="storeDirectory">Another harness's directory, to share its store as a second plugin process would.</param>
    /// <param name="storeUrl">Another store (e.g. a test's Redis) instead of the embedded one.</param>
    public static async Task<PluginHarness> StartAsync(TempDirectory directory, bool productionBodyLimit = true, TempDirectory? storeDirectory = null, string? storeUrl = null)
    {
        var store = KeyValueStoreFactory.Create(storeUrl ?? StoreUrl(storeDirectory ?? directory));
        var control = new ContivControl(store);
        await control.InitializeAsync(ct: TestContext.Current.CancellationToken);
        var datapath = new FakeDatapath();
        var hostName = storeDirectory is null ? HostName : "h2";
        var map = control.DockerNetworks(hostName);
        var socket = SocketPath(directory);
        File.Delete(socket);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var logs = new LogCapture();
        logs.AddTo(builder.Logging);
        builder.Services.AddSingleton(store);
        builder.Services.AddPluginTelemetry();
        builder.WebHost.ConfigureKestrel(k =>
        {
            if (productionBodyLimit)
            {
                k.Limits.MaxRequestBodySize = PluginServer.MaxBodyBytes;
            }

            k.ListenUnixSocket(socket);
        });
        var app = builder.Build();
        var metrics = app.Services.GetRequiredService<PluginMetrics>();

        // As in netplugin: the datapath's failures are counted, whoever calls it.
        var options = new PluginOptions { HostName = hostName, VtepIp = VtepIp };
        var policy = new HostPolicy(control, datapath, map, options, NullLogger<HostPolicy>.Instance);
        var handlers = new PluginHandlers(
            control, new InstrumentedDatapath(datapath, metrics), map, options, NullLogger<PluginHandlers>.Instance, metrics: metrics, policy: policy);
        PluginOperations.Map(app);
        PluginServer.Map(app, handlers);
        await app.StartAsync(TestContext.Current.CancellationToken);

        var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = new Uri("http://localhost"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        return new PluginHarness(directory, store, app, http, datapath, map, control) { Logs = logs };
    }

    /// <summary>The plugin calls the server maps (every POST route, from its endpoint data source).</summary>
    public IReadOnlyList<string> MappedPaths() =>
        [.. App.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains("POST") == true)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Where(p => !p.Contains('{', StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    public Task<PluginReply> PostAsync(string path, string? body) =>
        SendAsync(path, body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"));

    public Task<PluginReply> PostBytesAsync(string path, byte[] body, bool chunked = false)
    {
        HttpContent content = chunked ? new StreamContent(new NonSeekableStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return SendAsync(path, content);
    }

    /// <summary>
    /// Posts over a raw socket, reading the reply while the body is still being written: a server may
    /// answer and close before reading a body it refuses (HttpClient then only reports the broken pipe).
    /// </summary>
    public async Task<PluginReply> RawPostAsync(string path, byte[] body, bool chunked)
    {
        var ct = TestContext.Current.CancellationToken;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath(Directory)), ct);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var head = $"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + (chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {body.Length}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);

        var writer = Task.Run(
            async () =>
            {
                try
                {
                    for (var offset = 0; offset < body.Length; offset += 65536)
                    {
                        var length = Math.Min(65536, body.Length - offset);
                        if (chunked)
                        {
                            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{length:x}\r\n"), ct);
                        }

                        await stream.WriteAsync(body.AsMemory(offset, length), ct);
                        if (chunked)
                        {
                            await stream.WriteAsync("\r\n"u8.ToArray(), ct);
                        }
                    }

                    if (chunked)
                    {
                        await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
                    }
                }
                catch (IOException)
                {
                    // The server stopped reading (it refused the body): expected here.
                }
            },
            ct);

        using var received = new MemoryStream();
        var buffer = new byte[65536];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, ct);
            }
            catch (IOException) when (received.Length > 0)
            {
                // The server closed with our body unread, so the kernel reports a reset after its reply.
                break;
            }

            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
        }

        await writer;
        return ParseResponse(received.ToArray());
    }

    private static PluginReply ParseResponse(byte[] raw)
    {
        var text = Encoding.UTF8.GetString(raw);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, "no HTTP response head: " + text);
        var lines = text[..split].Split("\r\n");
        var status = (HttpStatusCode)int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = text[(split + 4)..];
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = new StringBuilder();
            var position = 0;
            while (true)
            {
                var end = body.IndexOf("\r\n", position, StringComparison.Ordinal);
                var size = Convert.ToInt32(body[position..end].Split(';')[0], 16);
                if (size == 0)
                {
                    break;
                }

                decoded.Append(body, end + 2, size);
                position = end + 2 + size + 2;
            }

            body = decoded.ToString();
        }

        return new PluginReply(status, headers.GetValueOrDefault("Content-Type"), body);
    }

    /// <summary>Posts and insists on a 200 reply without Err.</summary>
    public async Task<JsonElement> OkAsync(string path, string? body)
    {
        var reply = await PostAsync(path, body);
        Assert.True(reply.Status == HttpStatusCode.OK && reply.Err is null, $"{path} {body} -> {reply}");
        Assert.Equal(PluginServer.ContentType, reply.ContentType);
        return reply.Json;
    }

    /// <summary>Posts and insists on a refusal: JSON with a non-empty Err containing <paramref name="fragment"/>.</summary>
    public async Task<string> ErrAsync(string path, string? body, string fragment)
    {
        var reply = await PostAsync(path, body);
        Assert.Equal(PluginServer.ContentType, reply.ContentType);
        var err = reply.Err;
        Assert.False(string.IsNullOrWhiteSpace(err), $"{path} {body} -> {reply}");
        Assert.Contains(fragment, err, StringComparison.Ordinal);
        return err!;
    }

    /// <summary>Every key and value in the store (for "nothing changed" checks).</summary>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>> StoreSnapshotAsync() =>
        [.. await Store.ListAsync("obj/", TestContext.Current.CancellationToken), .. await Store.ListAsync("state/", TestContext.Current.CancellationToken)];

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        await Store.DisposeAsync();
    }

    /// <summary>A GET on the socket (the operations endpoints): status, content type and body.</summary>
    public async Task<PluginReply> GetAsync(string path)
    {
        using var response = await Http.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new PluginReply(response.StatusCode, response.Content.Headers.ContentType?.ToString(), body);
    }

    private async Task<PluginReply> SendAsync(string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new PluginReply(response.StatusCode, response.Content.Headers.ContentType?.ToString(), body);
    }

    /// <summary>A stream without a length, so HttpClient sends the body chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
