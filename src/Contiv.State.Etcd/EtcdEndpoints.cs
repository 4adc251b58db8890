using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Contiv.State.Etcd.Api;
using Grpc.Core;
using Grpc.Net.Client;

namespace Contiv.State.Etcd;

/// <summary>One member's gRPC channel and the clients of the etcd services the store calls.</summary>
internal sealed class EtcdEndpoint : IDisposable
{
    public EtcdEndpoint(Uri address, GrpcChannel channel)
    {
        Address = address;
        Channel = channel;
        Kv = new KV.KVClient(channel);
        Watch = new Watch.WatchClient(channel);
        Lease = new Lease.LeaseClient(channel);
        Auth = new Auth.AuthClient(channel);
        Maintenance = new Maintenance.MaintenanceClient(channel);
    }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    public KV.KVClient Kv { get; }

    public Watch.WatchClient Watch { get; }

    public Lease.LeaseClient Lease { get; }

    public Auth.AuthClient Auth { get; }

    public Maintenance.MaintenanceClient Maintenance { get; }

    public void Dispose() => Channel.Dispose();
}

/// <summary>
/// The members the store knows, the one calls currently go to, and the auth token. A call that fails
/// for a reason another member might not have moves the store on to the next member.
/// </summary>
internal sealed class EtcdEndpoints : IDisposable
{
    /// <summary>etcd's "require leader" header: a member cut off from the quorum refuses at once instead of waiting.</summary>
    private const string RequireLeaderHeader = "hasleader";

    private readonly EtcdStoreOptions _options;
    private readonly EtcdEndpoint[] _members;
    private readonly SemaphoreSlim _authenticating = new(1, 1);
    private int _current;
    private volatile string? _token;

    public EtcdEndpoints(EtcdStoreOptions options)
    {
        _options = options;
        _members = [.. options.Endpoints.Select(address => new EtcdEndpoint(address, CreateChannel(address, options)))];
        // Spread processes over the members instead of all starting on the first.
        _current = Random.Shared.Next(_members.Length);
    }

    public IReadOnlyList<EtcdEndpoint> Members => _members;

    public EtcdEndpoint Current => _members[Volatile.Read(ref _current) % _members.Length];

    /// <summary>Moves on from <paramref name="failed"/> (unless another caller already did).</summary>
    public void MoveOnFrom(EtcdEndpoint failed)
    {
        var index = Array.IndexOf(_members, failed);
        Interlocked.CompareExchange(ref _current, (index + 1) % _members.Length, index);
    }

    /// <summary>Forgets the auth token, e.g. after the cluster said it is no longer valid.</summary>
    public void DropToken() => _token = null;

    /// <summary>The per-call headers (auth token, require-leader) and the attempt's cancellation.</summary>
    public async Task<CallOptions> CallOptionsAsync(EtcdEndpoint endpoint, CancellationToken token)
    {
        var headers = new Metadata { { RequireLeaderHeader, "true" } };
        if (_options.User is { } user)
        {
            headers.Add("token", _token ?? await AuthenticateAsync(endpoint, user, token));
        }

        return new CallOptions(headers, cancellationToken: token);
    }

    public void Dispose()
    {
        foreach (var member in _members)
        {
            member.Dispose();
        }

        _authenticating.Dispose();
    }

    private async Task<string> AuthenticateAsync(EtcdEndpoint endpoint, string user, CancellationToken token)
    {
        await _authenticating.WaitAsync(token);
        try
        {
            if (_token is { } fresh)
            {
                return fresh;
            }

            var response = await endpoint.Auth.AuthenticateAsync(
                new AuthenticateRequest { Name = user, Password = _options.Password ?? string.Empty },
                new CallOptions(cancellationToken: token));
            _token = response.Token;
            return response.Token;
        }
        finally
        {
            _authenticating.Release();
        }
    }

    private static GrpcChannel CreateChannel(Uri address, EtcdStoreOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // A dead member must cost one attempt, not a TCP connect timeout.
            ConnectTimeout = options.AttemptTimeout,
            // The watch stream is long-lived: notice a member that vanished without closing it.
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(3),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = CreateTlsOptions(options);
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            // Listings of many keys come back as one Range; etcd's own requests are limited to 1.5 MiB.
            MaxReceiveMessageSize = 256 * 1024 * 1024,
            MaxSendMessageSize = 16 * 1024 * 1024,
            // An attempt that hits its time limit is an OperationCanceledException for the retry
            // pipeline, not an RpcException(Cancelled) that looks like a server answer.
            ThrowOperationCanceledOnCancellation = true,
            // After a failed connect the channel refuses calls until its reconnect backoff ends
            // (up to 2 minutes by default): a restarted member must be usable again within a second.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromSeconds(1),
        });
    }

    /// <summary>Reads the certificate files once, when the store is opened: a wrong path is a configuration error.</summary>
    private static SslClientAuthenticationOptions CreateTlsOptions(EtcdStoreOptions options)
    {
        var tls = new SslClientAuthenticationOptions();
        if (options.ClientCertificateFile is { } certificateFile)
        {
            tls.ClientCertificates = [ReadPem(() => X509Certificate2.CreateFromPemFile(certificateFile, options.ClientKeyFile), $"client certificate '{certificateFile}' with key '{options.ClientKeyFile}'")];
        }

        if (options.CaCertificateFile is { } caFile)
        {
            // Trust exactly the cluster's CA (etcdctl --cacert), not the system's.
            var authorities = new X509Certificate2Collection();
            ReadPem(() => authorities.ImportFromPemFile(caFile), $"CA file '{caFile}'");
            tls.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            tls.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        }

        return tls;
    }

    private static void ReadPem(Action read, string what) => ReadPem<object?>(() => { read(); return null; }, what);

    private static T ReadPem<T>(Func<T> read, string what)
    {
        try
        {
            return read();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"etcd store: cannot read the {what}: {exception.Message}", exception);
        }
    }
}
