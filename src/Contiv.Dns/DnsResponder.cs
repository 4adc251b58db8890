using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Contiv.Dns;

/// <summary>
/// An authoritative-only DNS responder on one address, UDP and TCP, answering A questions from a resolver delegate.
/// It never recurses and never sends a packet anywhere but back to its clients, unless
/// <see cref="DnsResponderOptions.UpstreamForwarder"/> is set. Nothing a client sends makes it throw: malformed
/// packets get FORMERR, responses and runts are ignored, and a failing or slow resolver yields SERVFAIL.
/// </summary>
/// <example><code>
/// await using var dns = new DnsResponder(new IPEndPoint(underlayIp, DnsResponder.DefaultPort), ResolveAsync);
/// dns.Start();
/// </code></example>
public sealed class DnsResponder : IAsyncDisposable
{
    public const int DefaultPort = 53;

    private const int UdpReceiveBufferBytes = 1 << 20;

    private readonly IPEndPoint _endpoint;
    private readonly Func<DnsQuestion, IPAddress, CancellationToken, ValueTask<DnsAnswer>> _resolver;
    private readonly DnsResponderOptions _options;
    private readonly ILogger _logger;
    private readonly UpstreamForwarder? _forwarder;
    private readonly uint _ttlSeconds;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _requestSlots;
    private readonly SemaphoreSlim _connectionSlots;
    private Socket? _udp;
    private Socket? _tcp;
    private IPEndPoint? _localEndPoint;
    private Task _udpLoop = Task.CompletedTask;
    private Task _tcpLoop = Task.CompletedTask;
    private int _state; // 0 new, 1 started, 2 disposed

    /// <param name="endpoint">Where to listen. Bind a specific address (the host's underlay IP) rather than Any, so
    /// replies leave from the address the client asked and the responder is not exposed on every interface.
    /// Port 0 picks a free port, the same for UDP and TCP (tests).</param>
    /// <param name="resolver">Decides each question for the client address that asked it (an IPv4-mapped address is
    /// unmapped first). It is given a token that fires after <see cref="DnsResponderOptions.RequestTimeout"/>.</param>
    public DnsResponder(IPEndPoint endpoint, Func<DnsQuestion, IPAddress, CancellationToken, ValueTask<DnsAnswer>> resolver,
        DnsResponderOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(resolver);
        _endpoint = endpoint;
        _resolver = resolver;
        _options = options ?? new DnsResponderOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        _forwarder = _options.UpstreamForwarder is { } upstream ? new UpstreamForwarder(upstream) : null;
        _ttlSeconds = (uint)_options.Ttl.TotalSeconds;
        _requestSlots = new SemaphoreSlim(_options.MaxConcurrentRequests, _options.MaxConcurrentRequests);
        _connectionSlots = new SemaphoreSlim(_options.MaxTcpConnections, _options.MaxTcpConnections);
    }

    /// <summary>The address and port actually listened on (UDP and TCP share it); valid after <see cref="Start"/>.</summary>
    public IPEndPoint LocalEndPoint => _localEndPoint ?? throw new InvalidOperationException("not started");

    /// <summary>Binds both sockets and starts serving. Throws <see cref="SocketException"/> when the address cannot be
    /// bound (not configured on the host yet, port taken, no privilege for port 53); Start may then be called again.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _state) == 2, this);
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
            throw new InvalidOperationException("already started");

        try
        {
            (_udp, _tcp) = BindBoth();
        }
        catch
        {
            Interlocked.CompareExchange(ref _state, 0, 1);
            throw;
        }

        _localEndPoint = (IPEndPoint)_udp.LocalEndPoint!;
        var stopping = _stopping.Token;
        _udpLoop = Task.Run(() => ReceiveUdpAsync(_udp, stopping), CancellationToken.None);
        _tcpLoop = Task.Run(() => AcceptTcpAsync(_tcp, stopping), CancellationToken.None);
        _logger.LogInformation("DNS responder listening on {Endpoint} (udp+tcp), forwarding {Forwarding}",
            LocalEndPoint, _forwarder?.Upstream.ToString() ?? "off");
    }

    /// <summary>Stops listening, cancels queries in flight (they get no reply) and waits for every one to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
            return;
        await _stopping.CancelAsync();
        _udp?.Dispose(); // unblocks a pending receive or accept
        _tcp?.Dispose();
        await Task.WhenAll(_udpLoop, _tcpLoop);
        // Every request and connection holds a slot until it is completely done, so taking them all back is the drain.
        for (var i = 0; i < _options.MaxConcurrentRequests; i++)
            await _requestSlots.WaitAsync();
        for (var i = 0; i < _options.MaxTcpConnections; i++)
            await _connectionSlots.WaitAsync();
        _requestSlots.Dispose();
        _connectionSlots.Dispose();
        _stopping.Dispose();
        _logger.LogInformation("DNS responder on {Endpoint} stopped", _endpoint);
    }

    /// <summary>
    /// Answers one message from <paramref name="client"/>: the whole decision, independent of transport. Returns null
    /// when nothing must be sent (runts, responses, shutdown). Never throws.
    /// </summary>
    internal async ValueTask<byte[]?> AnswerAsync(ReadOnlyMemory<byte> packet, IPAddress client, bool overTcp, CancellationToken cancellationToken)
    {
        var parsed = DnsCodec.ParseQuery(packet.Span);
        switch (parsed.Status)
        {
            case DnsQueryParseStatus.Ignore:
                _logger.LogDebug("dns: ignored {Length}-byte non-query from {Client}", packet.Length, client);
                return null;
            case DnsQueryParseStatus.FormatError or DnsQueryParseStatus.NotImplemented:
                var code = parsed.Status == DnsQueryParseStatus.FormatError ? DnsResponseCode.FormErr : DnsResponseCode.NotImp;
                _logger.LogDebug("dns: {Code} for {Length}-byte message from {Client}", code, packet.Length, client);
                return DnsCodec.BuildHeaderOnlyResponse(parsed.Id, parsed.Opcode, parsed.RecursionDesired, code);
        }

        var query = parsed.Query!;
        var question = query.Question;
        var maxLength = overTcp ? DnsCodec.MaxMessageLength
            : query.Edns is null ? DnsCodec.MaxUdpLengthWithoutEdns
            : Math.Clamp(query.Edns.UdpPayloadSize, DnsCodec.MaxUdpLengthWithoutEdns, _options.MaxUdpPayloadSize);
        try
        {
            if (query.Edns is { Version: > 0 })
                return Respond(DnsResponseCode.BadVers, authoritative: false); // RFC 6891 6.1.3

            // Only Internet-class data lives here, and zone transfers are not a thing this responder does.
            if (question.Class is not (DnsRecordClass.IN or DnsRecordClass.ANY) || question.Type is DnsRecordType.AXFR or DnsRecordType.IXFR)
                return Respond(DnsResponseCode.Refused, authoritative: false);

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.RequestTimeout);
            var answer = await ResolveAsync(question, client, deadline.Token);
            switch (answer?.Kind)
            {
                case DnsAnswerKind.Addresses:
                    var wantsAddresses = question.Type is DnsRecordType.A or DnsRecordType.ANY;
                    return Respond(DnsResponseCode.NoError, authoritative: true, wantsAddresses ? answer.Addresses : []);
                case DnsAnswerKind.NameError:
                    return Respond(DnsResponseCode.NXDomain, authoritative: true);
                case DnsAnswerKind.Refused:
                    return Respond(DnsResponseCode.Refused, authoritative: false);
                case DnsAnswerKind.Forward when _forwarder is null:
                    return Respond(DnsResponseCode.Refused, authoritative: false);
                case DnsAnswerKind.Forward:
                    var relayed = await _forwarder.ForwardAsync(packet, question, overTcp, deadline.Token);
                    Log(relayed is null ? "forward failed: SERVFAIL" : "forwarded to " + _forwarder.Upstream);
                    return relayed ?? Respond(DnsResponseCode.ServFail, authoritative: false, log: false);
                default: // ServerFailure, or a resolver that returned null
                    return Respond(DnsResponseCode.ServFail, authoritative: false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null; // shutting down: the client will retry elsewhere
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or SocketException or IOException)
        {
            Log($"timed out or upstream failed ({e.GetType().Name}): SERVFAIL");
            return Respond(DnsResponseCode.ServFail, authoritative: false, log: false);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "dns: answering {Name} {Type} for {Client} failed", question.Name, question.Type, client);
            return Respond(DnsResponseCode.ServFail, authoritative: false, log: false);
        }

        byte[] Respond(DnsResponseCode code, bool authoritative, IReadOnlyList<IPAddress>? addresses = null, bool log = true)
        {
            var response = DnsCodec.BuildResponse(query, code, addresses ?? [], _ttlSeconds, maxLength, authoritative);
            if (log && _logger.IsEnabled(LogLevel.Debug))
                Log(addresses is { Count: > 0 } ? $"{code} {string.Join(",", addresses)}" : code.ToString());
            return response;
        }

        void Log(string outcome) =>
            _logger.LogDebug("dns: {Transport} {Client} asked {Name} {Type}: {Outcome}",
                overTcp ? "tcp" : "udp", client, question.Name, question.Type, outcome);
    }

    private async Task<DnsAnswer?> ResolveAsync(DnsQuestion question, IPAddress client, CancellationToken deadline) =>
        // WaitAsync bounds the wait even for a resolver that ignores its token.
        await _resolver(question, client, deadline).AsTask().WaitAsync(deadline);

    private (Socket Udp, Socket Tcp) BindBoth()
    {
        // With port 0 the kernel picks the UDP port and TCP must get the same one; retry if TCP has it taken.
        for (var attempt = 0; ; attempt++)
        {
            var udp = _options.OpenSocket(_endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            Socket tcp;
            try
            {
                tcp = _options.OpenSocket(_endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            }
            catch
            {
                udp.Dispose();
                throw;
            }

            try
            {
                // Room for a burst (every container resolving at once) while all request slots are busy; the
                // kernel caps this at net.core.rmem_max, and past it datagrams drop and clients retry.
                udp.ReceiveBufferSize = UdpReceiveBufferBytes;
                udp.Bind(_endpoint);
                // Lets a restarted netplugin rebind while old connections sit in TIME_WAIT (not a second listener).
                tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                tcp.Bind(udp.LocalEndPoint!);
                tcp.Listen(128);
                return (udp, tcp);
            }
            catch (SocketException e) when (_endpoint.Port == 0 && attempt < 20 && e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                udp.Dispose();
                tcp.Dispose();
            }
            catch
            {
                udp.Dispose();
                tcp.Dispose();
                throw;
            }
        }
    }

    private async Task ReceiveUdpAsync(Socket udp, CancellationToken stopping)
    {
        var buffer = new byte[DnsCodec.MaxMessageLength];
        EndPoint anySender = new IPEndPoint(_endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stopping.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await udp.ReceiveFromAsync(buffer, SocketFlags.None, anySender, stopping);
                await _requestSlots.WaitAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogDebug("dns: udp receive failed: {Error}", e.SocketErrorCode);
                continue;
            }

            var packet = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            _ = AnswerUdpAsync(udp, packet, (IPEndPoint)received.RemoteEndPoint, stopping);
        }
    }

    private async Task AnswerUdpAsync(Socket udp, byte[] packet, IPEndPoint client, CancellationToken stopping)
    {
        try
        {
            var response = await AnswerAsync(packet, Unmapped(client.Address), overTcp: false, stopping);
            if (response is not null)
                await udp.SendToAsync(response, SocketFlags.None, client, stopping);
        }
        catch (Exception e)
        {
            _logger.LogDebug("dns: udp reply to {Client} failed: {Error}", client, e.Message);
        }
        finally
        {
            _requestSlots.Release();
        }
    }

    private async Task AcceptTcpAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogDebug("dns: tcp accept failed: {Error}", e.SocketErrorCode);
                continue;
            }

            if (!_connectionSlots.Wait(0, CancellationToken.None))
            {
                _logger.LogDebug("dns: too many tcp connections, closing one from {Client}", connection.RemoteEndPoint);
                connection.Dispose();
                continue;
            }

            _ = ServeTcpConnectionAsync(connection, stopping);
        }
    }

    /// <summary>Serves length-prefixed messages in order until the client closes, idles out or sends a non-query.</summary>
    private async Task ServeTcpConnectionAsync(Socket connection, CancellationToken stopping)
    {
        var client = Unmapped(((IPEndPoint)connection.RemoteEndPoint!).Address);
        try
        {
            await using var stream = new NetworkStream(connection, ownsSocket: true);
            var prefix = new byte[2];
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                idle.CancelAfter(_options.TcpIdleTimeout);
                if (await stream.ReadAtLeastAsync(prefix, 2, throwOnEndOfStream: false, idle.Token) < 2)
                    return; // closed between messages: the normal end
                var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                await stream.ReadExactlyAsync(message, idle.Token);

                byte[]? response;
                await _requestSlots.WaitAsync(stopping);
                try
                {
                    response = await AnswerAsync(message, client, overTcp: true, stopping);
                }
                finally
                {
                    _requestSlots.Release();
                }

                if (response is null)
                    return; // nothing to say to a non-query: closing beats leaving the client waiting
                var framed = new byte[2 + response.Length];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)response.Length);
                response.CopyTo(framed, 2);
                await stream.WriteAsync(framed, idle.Token);
            }
        }
        catch (Exception e)
        {
            _logger.LogDebug("dns: tcp connection from {Client} ended: {Error}", client, e.Message);
        }
        finally
        {
            connection.Dispose();
            _connectionSlots.Release();
        }
    }

    private static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
