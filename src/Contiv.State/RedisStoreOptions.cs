using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Contiv.State;

/// <summary>
/// Where and how <see cref="RedisKeyValueStore"/> connects. Usually parsed from a URL:
/// <c>redis://host:port[/db][?prefix=...&amp;password=...]</c> or
/// <c>redis+unix:///path/to/redis.sock[?db=N&amp;prefix=...&amp;password=...]</c>.
/// </summary>
public sealed record RedisStoreOptions
{
    public const string DefaultKeyPrefix = "contiv/";
    public const int DefaultPort = 6379;

    public RedisStoreOptions(EndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        EndPoint = endPoint;
    }

    /// <summary>A <see cref="DnsEndPoint"/>, <see cref="IPEndPoint"/> or <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public EndPoint EndPoint { get; init; }

    /// <summary>The Redis logical database (SELECT index).</summary>
    public int Database { get; init; }

    public string? Password { get; init; }

    /// <summary>
    /// Prepended to every Redis key and to the change channel, so several deployments (or test runs)
    /// can share one server without seeing each other. The URL's <c>prefix=</c> parameter.
    /// </summary>
    public string KeyPrefix { get; init; } = DefaultKeyPrefix;

    /// <summary>How long one attempt of one operation may take before it is retried.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an operation may take, retries included, before <see cref="StoreUnavailableException"/>.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Retries after the first attempt (with exponential backoff), within <see cref="OperationTimeout"/>.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The server's address for humans and error messages; never includes the password.</summary>
    public string Description
    {
        get
        {
            var database = Database == 0 ? string.Empty : "/" + Database.ToString(CultureInfo.InvariantCulture);
            return EndPoint switch
            {
                UnixDomainSocketEndPoint unix => $"redis+unix://{unix}" + (Database == 0 ? string.Empty : "?db=" + Database.ToString(CultureInfo.InvariantCulture)),
                IPEndPoint { AddressFamily: AddressFamily.InterNetworkV6 } ip => $"redis://[{ip.Address}]:{ip.Port}{database}",
                IPEndPoint ip => $"redis://{ip.Address}:{ip.Port}{database}",
                DnsEndPoint dns => $"redis://{dns.Host}:{dns.Port}{database}",
                _ => $"redis://{EndPoint}{database}",
            };
        }
    }

    /// <summary>Parses a <c>redis://</c> or <c>redis+unix://</c> URL.</summary>
    /// <exception cref="ArgumentException">The URL is malformed or has an unknown parameter.</exception>
    public static RedisStoreOptions Parse(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException($"'{url}' is not a valid URL; expected redis://host:port[/db] or redis+unix:///path/to/redis.sock", nameof(url));
        }

        var query = ParseQuery(url, uri.Query);
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            // redis://:password@host or redis://user:password@host; only the password is used.
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            password = Uri.UnescapeDataString(colon >= 0 ? uri.UserInfo[(colon + 1)..] : uri.UserInfo);
        }

        EndPoint endPoint;
        var database = 0;
        switch (uri.Scheme)
        {
            case "redis":
                if (uri.Host.Length == 0)
                {
                    throw new ArgumentException($"'{url}' has no host; expected redis://host:port[/db]", nameof(url));
                }

                var port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
                endPoint = IPAddress.TryParse(uri.DnsSafeHost, out var address)
                    ? new IPEndPoint(address, port)
                    : new DnsEndPoint(uri.DnsSafeHost, port);
                var path = uri.AbsolutePath.Trim('/');
                if (path.Length > 0 && !int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database))
                {
                    throw new ArgumentException($"'{url}': the path must be a database number (redis://host:port/2), not '{path}'", nameof(url));
                }

                break;
            case "redis+unix":
                if (uri.Host.Length > 0 || uri.LocalPath.Length <= 1)
                {
                    throw new ArgumentException($"'{url}' must name an absolute socket path: redis+unix:///path/to/redis.sock", nameof(url));
                }

                endPoint = new UnixDomainSocketEndPoint(uri.LocalPath);
                break;
            default:
                throw new ArgumentException($"'{url}' is not a Redis URL; expected redis://host:port[/db] or redis+unix:///path/to/redis.sock", nameof(url));
        }

        var options = new RedisStoreOptions(endPoint) { Password = password };
        foreach (var (name, value) in query)
        {
            switch (name)
            {
                case "prefix":
                    options = options with { KeyPrefix = value };
                    break;
                case "password":
                    options = options with { Password = value };
                    break;
                case "db":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out database))
                    {
                        throw new ArgumentException($"'{url}': db must be a database number, not '{value}'", nameof(url));
                    }

                    break;
                default:
                    throw new ArgumentException($"'{url}': unknown parameter '{name}' (known: prefix, password, db)", nameof(url));
            }
        }

        return options with { Database = database };
    }

    private static List<(string Name, string Value)> ParseQuery(string url, string query)
    {
        var result = new List<(string, string)>();
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"'{url}': query parameter '{part}' must be name=value", nameof(url));
            }

            result.Add((Uri.UnescapeDataString(part[..equals]), Uri.UnescapeDataString(part[(equals + 1)..])));
        }

        return result;
    }
}
