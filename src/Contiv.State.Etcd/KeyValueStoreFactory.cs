using Contiv.State.Etcd;

namespace Contiv.State;

/// <summary>Opens the store a URL names; the one place that knows every store kind.</summary>
/// <remarks>
/// It lives in the etcd project's assembly (still in namespace Contiv.State, so callers are unchanged):
/// that assembly sees every store, while Contiv.State cannot reference the etcd client.
/// </remarks>
public static class KeyValueStoreFactory
{
    public const string DefaultEmbeddedDirectory = "/var/lib/contiv";

    private const string Expected =
        "expected etcd://host1:2379,host2:2379,host3:2379[?prefix=...&cacert=...&cert=...&key=...&user=...&password=...], redis://host:port[/db][?prefix=...&password=...], redis+unix:///path/to/redis.sock[?prefix=...], embedded:///path/to/state-dir, or a directory path";

    /// <summary>
    /// <list type="bullet">
    /// <item><c>redis://host[:port][/db][?prefix=P&amp;password=S]</c>: Redis over TCP (default port 6379).</item>
    /// <item><c>redis+unix:///path/to/redis.sock[?db=N&amp;prefix=P&amp;password=S]</c>: Redis over a Unix socket,
    /// which processes in different network namespaces can share.</item>
    /// <item><c>etcd://host1:2379,host2:2379,host3:2379[?prefix=P&amp;cacert=F&amp;cert=F&amp;key=F&amp;user=U&amp;password=S]</c>:
    /// an etcd v3 cluster (default port 2379), TLS when a CA or client certificate is given (or <c>etcds://</c>).</item>
    /// <item><c>embedded:///var/lib/contiv</c>, or just a path: the embedded store in that directory.</item>
    /// </list>
    /// Opening does not wait for Redis or etcd: an unreachable server shows up as
    /// <see cref="StoreUnavailableException"/> from operations, and the store recovers when it is back.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is malformed or names an unknown kind of store.</exception>
    public static IKeyValueStore Create(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        url = url.Trim();
        if (url.Length == 0)
        {
            throw new ArgumentException($"the state store URL is empty; {Expected}", nameof(url));
        }

        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            if (url.Contains(':', StringComparison.Ordinal) && !url.StartsWith('/') && !url.StartsWith('.'))
            {
                throw new ArgumentException($"'{url}' is neither a URL nor a directory path; {Expected}", nameof(url));
            }

            return new EmbeddedKeyValueStore(url);
        }

        var scheme = url[..schemeEnd].ToLowerInvariant();
        return scheme switch
        {
            "etcd" or "etcds" => new EtcdKeyValueStore(EtcdStoreOptions.Parse(url)),
            "redis" or "redis+unix" => new RedisKeyValueStore(RedisStoreOptions.Parse(url)),
            "embedded" => new EmbeddedKeyValueStore(ParseEmbeddedDirectory(url)),
            _ => throw new ArgumentException($"'{url}': unknown state store kind '{scheme}'; {Expected}", nameof(url)),
        };
    }

    private static string ParseEmbeddedDirectory(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length > 0 || uri.LocalPath.Length <= 1 || uri.Query.Length > 0)
        {
            throw new ArgumentException($"'{url}' must name an absolute directory and nothing else: embedded:///var/lib/contiv", nameof(url));
        }

        return uri.LocalPath;
    }
}
