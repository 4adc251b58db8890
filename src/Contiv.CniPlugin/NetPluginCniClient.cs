using System.Net.Sockets;
using System.Text;
using Contiv.Cni;

namespace Contiv.CniPlugin;

/// <summary>HTTP over netplugin's CNI Unix socket.</summary>
public sealed class NetPluginCniClient : INetPluginCni
{
    /// <summary>An ADD waits for the store and the kernel; the runtime has its own, longer, deadline.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public async Task<(int Status, string Body)> PostAsync(string socket, string path, string json, CancellationToken ct)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { Timeout = Timeout };
        try
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri("http://netplugin" + path), content, ct);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
        }
        catch (HttpRequestException e)
        {
            throw new CniException(CniErrorCode.PluginUnavailable, $"netplugin is not reachable on {socket}: {(e.InnerException ?? e).Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CniException(CniErrorCode.PluginUnavailable, $"netplugin did not answer on {socket} within {Timeout.TotalSeconds:0} s");
        }
    }
}
