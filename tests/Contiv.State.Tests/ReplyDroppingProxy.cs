using System.Net;
using System.Net.Sockets;

namespace Contiv.State.Tests;

/// <summary>
/// A loopback TCP proxy that can lose a reply: after <see cref="DropNextReply"/>, the next bytes the
/// server sends are swallowed and both connections are reset, as when a member dies or the network
/// breaks after a request arrived. The request itself was delivered, so it may well have applied.
/// </summary>
internal sealed class ReplyDroppingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _accepting;
    private int _dropNextReply;

    public ReplyDroppingProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Completes when a reply was dropped.</summary>
    public TaskCompletionSource Dropped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void DropNextReply() => Volatile.Write(ref _dropNextReply, 1);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _stop.Token);
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            _ = PumpAsync(client, server, replies: false);
            _ = PumpAsync(server, client, replies: true);
        }
    }

    private async Task ResetAfterAsync(Socket from, Socket to, TimeSpan delay)
    {
        await Task.Delay(delay);
        from.LingerState = new LingerOption(true, 0);
        to.LingerState = new LingerOption(true, 0);
        from.Close();
        to.Close();
        Dropped.TrySetResult();
    }

    private async Task PumpAsync(Socket from, Socket to, bool replies)
    {
        var buffer = new byte[64 * 1024];
        var swallowing = false;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (replies && Interlocked.Exchange(ref _dropNextReply, 0) == 1)
                {
                    // The first bytes may be flow control or a ping sent as the request arrived, before
                    // it applied: swallow everything for a moment (the request completes meanwhile),
                    // then reset both sides (linger 0: RST, not FIN), so the client sees a broken call.
                    _ = ResetAfterAsync(from, to, TimeSpan.FromMilliseconds(500));
                    swallowing = true;
                }

                if (swallowing)
                {
                    continue;
                }

                await to.SendAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side closed or the proxy stopped.
        }
    }
}
