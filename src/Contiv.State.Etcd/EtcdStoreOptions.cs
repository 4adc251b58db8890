using System.Globalization;

namespace Contiv.State.Etcd;

/// <summary>
/// Where and how <see cref="EtcdKeyValueStore"/> connects. Usually parsed from a URL:
/// <c>etcd://host1:2379,host2:2379,host3:2379[?prefix=P&amp;cacert=F&amp;cert=F&amp;key=F&amp;user=U&amp;password=S]</c>,
/// the endpoint list etcdctl takes, with its TLS and auth options (<c>--cacert</c>, <c>--cert</c>,
/// <c>--key</c>, <c>--user</c>/<c>--password</c>) as parameters. <c>etcds://</c> is TLS with the system's CAs.
/// </summary>
public sealed record EtcdStoreOptions
{
    public const string DefaultKeyPrefix = "contiv/";
    public const int DefaultPort = 2379;

    private const string Expected = "expected etcd://host1:2379,host2:2379[?prefix=...&cacert=...&cert=...&key=...&user=...&password=...]";

    public EtcdStoreOptions(IReadOnlyList<Uri> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("an etcd store needs at least one endpoint", nameof(endpoints));
        }

        Endpoints = endpoints;
    }

    /// <summary>The members' client URLs (<c>http://host:port</c>, or <c>https://</c> with TLS); tried in turn.</summary>
    public IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>Prepended to every etcd key, so several deployments or test runs can share a cluster.</summary>
    public string KeyPrefix { get; init; } = DefaultKeyPrefix;

    /// <summary>PEM file of the CA that signed the members' certificates (etcdctl --cacert); implies TLS.</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>PEM client certificate and key (etcdctl --cert/--key), for members run with --client-cert-auth; imply TLS.</summary>
    public string? ClientCertificateFile { get; init; }

    public string? ClientKeyFile { get; init; }

    /// <summary>etcd user and password (etcdctl --user): the store authenticates and sends the token with every call.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>How long one attempt may take before it is retried on the next endpoint.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an operation may take, retries included, before <see cref="StoreUnavailableException"/>.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Retries after the first attempt (with exponential backoff), within <see cref="OperationTimeout"/>.</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>How many lost compare-and-set races a pool take or release tolerates before giving up.</summary>
    public int MaxPoolConflicts { get; init; } = 200;

    public bool UsesTls => Endpoints.Any(endpoint => endpoint.Scheme == Uri.UriSchemeHttps);

    /// <summary>The endpoints for humans and error messages; never includes the password.</summary>
    public string Description =>
        (UsesTls ? "etcds://" : "etcd://") + string.Join(',', Endpoints.Select(endpoint => endpoint.Authority));

    /// <summary>Parses an <c>etcd://</c> or <c>etcds://</c> URL.</summary>
    /// <exception cref="ArgumentException">The URL is malformed or has an unknown parameter.</exception>
    public static EtcdStoreOptions Parse(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        url = url.Trim();
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? string.Empty : url[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("etcd" or "etcds"))
        {
            throw new ArgumentException($"'{url}' is not an etcd URL; {Expected}", nameof(url));
        }

        var rest = url[(schemeEnd + 3)..];
        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        var hostList = (queryStart < 0 ? rest : rest[..queryStart]).TrimEnd('/');
        var query = queryStart < 0 ? string.Empty : rest[(queryStart + 1)..];
        string? user = null;
        string? password = null;
        var at = hostList.LastIndexOf('@');
        if (at >= 0)
        {
            // etcd://user:password@host1,host2 as well as ?user=...&password=...
            var userInfo = hostList[..at];
            hostList = hostList[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        }

        var hosts = hostList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (hosts.Length == 0)
        {
            throw new ArgumentException($"'{url}' names no endpoint; {Expected}", nameof(url));
        }

        var parameters = ParseQuery(url, query);
        var tls = scheme == "etcds" || parameters.ContainsKey("cacert") || parameters.ContainsKey("cert");
        var endpoints = hosts.Select(host => ParseEndpoint(url, host, tls)).ToList();
        var options = new EtcdStoreOptions(endpoints) { User = user, Password = password };
        foreach (var (name, value) in parameters)
        {
            options = name switch
            {
                "prefix" => options with { KeyPrefix = value },
                "cacert" => options with { CaCertificateFile = value },
                "cert" => options with { ClientCertificateFile = value },
                "key" => options with { ClientKeyFile = value },
                "user" => options with { User = value },
                "password" => options with { Password = value },
                "timeout" => options with { OperationTimeout = ParseSeconds(url, name, value) },
                _ => throw new ArgumentException($"'{url}': unknown parameter '{name}' (known: prefix, cacert, cert, key, user, password, timeout)", nameof(url)),
            };
        }

        if ((options.ClientCertificateFile is null) != (options.ClientKeyFile is null))
        {
            throw new ArgumentException($"'{url}': a client certificate needs both cert= and key=", nameof(url));
        }

        if (options.Password is not null && options.User is null)
        {
            throw new ArgumentException($"'{url}': password= needs user=", nameof(url));
        }

        return options;
    }

    private static Uri ParseEndpoint(string url, string host, bool tls)
    {
        var text = (tls ? "https://" : "http://") + host;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var endpoint) || endpoint.Host.Length == 0 || endpoint.AbsolutePath != "/")
        {
            throw new ArgumentException($"'{url}': '{host}' is not host[:port]; {Expected}", nameof(url));
        }

        return endpoint.IsDefaultPort && !host.EndsWith(":" + endpoint.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            ? new UriBuilder(endpoint) { Port = DefaultPort }.Uri
            : endpoint;
    }

    private static TimeSpan ParseSeconds(string url, string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 300
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"'{url}': {name} must be seconds (0 < s <= 300), not '{value}'", nameof(url));

    private static Dictionary<string, string> ParseQuery(string url, string query)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"'{url}': query parameter '{part}' must be name=value", nameof(url));
            }

            result[Uri.UnescapeDataString(part[..equals])] = Uri.UnescapeDataString(part[(equals + 1)..]);
        }

        return result;
    }
}
