using System.Net.Sockets;
using Grpc.Net.Client;

namespace Contiv.Cri;

/// <summary>A gRPC channel to a server on a Unix socket (containerd's CRI and its own API share one).</summary>
internal static class UnixSocketChannel
{
    public static GrpcChannel Create(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            // gRPC over HTTP/2 without TLS; the authority is a placeholder, the socket is the address
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            // kubelet's limit: image lists and exec output can be large
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        });
    }
}
