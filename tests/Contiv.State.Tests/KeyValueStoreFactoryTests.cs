using System.Net;
using System.Net.Sockets;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

public sealed class KeyValueStoreFactoryTests
{
    [Theory]
    [InlineData("redis://127.0.0.1:6390", "redis://127.0.0.1:6390")]
    [InlineData("redis://localhost", "redis://localhost:6379")]
    [InlineData("REDIS://127.0.0.1:6390/2?prefix=lab%2F", "redis://127.0.0.1:6390/2")]
    [InlineData("redis://[::1]:6390", "redis://[::1]:6390")]
    [InlineData("redis://:secret@127.0.0.1:6390", "redis://127.0.0.1:6390")]
    [InlineData("redis+unix:///run/contiv/redis.sock?prefix=x/&db=1", "redis+unix:///run/contiv/redis.sock?db=1")]
    public async Task Redis_urls_open_a_redis_store(string url, string description)
    {
        await using var store = KeyValueStoreFactory.Create(url);

        Assert.IsType<RedisKeyValueStore>(store);
        Assert.Equal(description, store.Description);
    }

    [Fact]
    public void Redis_url_parameters_are_parsed()
    {
        var tcp = RedisStoreOptions.Parse("redis://:from-userinfo@127.0.0.1:6390/4?prefix=a%2Fb%2F");
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 6390), tcp.EndPoint);
        Assert.Equal(4, tcp.Database);
        Assert.Equal("a/b/", tcp.KeyPrefix);
        Assert.Equal("from-userinfo", tcp.Password);

        var unix = RedisStoreOptions.Parse("redis+unix:///run/redis.sock?password=p%26q&prefix=");
        Assert.Equal("/run/redis.sock", Assert.IsType<UnixDomainSocketEndPoint>(unix.EndPoint).ToString());
        Assert.Equal("p&q", unix.Password);
        Assert.Equal(string.Empty, unix.KeyPrefix);

        Assert.Equal(RedisStoreOptions.DefaultKeyPrefix, RedisStoreOptions.Parse("redis://h").KeyPrefix);
        Assert.IsType<DnsEndPoint>(RedisStoreOptions.Parse("redis://redis.example").EndPoint);
    }

    [Fact]
    public async Task Embedded_urls_and_bare_paths_open_an_embedded_store()
    {
        using var directory = TempDirectory.Create();
        var viaUrl = directory.Combine("by-url");
        var viaPath = directory.Combine("by-path");

        await using var byUrl = KeyValueStoreFactory.Create("embedded://" + viaUrl);
        await using var byPath = KeyValueStoreFactory.Create(viaPath);

        Assert.Equal(viaUrl, Assert.IsType<EmbeddedKeyValueStore>(byUrl).Directory);
        Assert.Equal(viaPath, Assert.IsType<EmbeddedKeyValueStore>(byPath).Directory);
        Assert.Equal("embedded://" + viaUrl, byUrl.Description);
        Assert.True(Directory.Exists(viaUrl));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("http://127.0.0.1:6379", "unknown state store kind 'http'")]
    [InlineData("consul://127.0.0.1:8500", "unknown state store kind 'consul'")]
    [InlineData("etcd://", "names no endpoint")]
    [InlineData("etcd://127.0.0.1:2379/path", "is not host[:port]")]
    [InlineData("etcd://127.0.0.1:2379?perfix=x", "unknown parameter 'perfix'")]
    [InlineData("etcd://127.0.0.1:2379?cert=/c.pem", "needs both cert= and key=")]
    [InlineData("etcd://127.0.0.1:2379?password=x", "password= needs user=")]
    [InlineData("etcd://127.0.0.1:2379?timeout=0", "timeout must be seconds")]
    [InlineData("etcd://127.0.0.1:2379?cacert=/nonexistent/ca.pem", "cannot read the CA file '/nonexistent/ca.pem'")]
    [InlineData("redis://", "has no host")]
    [InlineData("redis://127.0.0.1:6390/zero", "database number")]
    [InlineData("redis://127.0.0.1:6390?perfix=x", "unknown parameter 'perfix'")]
    [InlineData("redis://127.0.0.1:6390?prefix", "must be name=value")]
    [InlineData("redis+unix://host/redis.sock", "absolute socket path")]
    [InlineData("redis+unix:///run/redis.sock?db=x", "db must be a database number")]
    [InlineData("embedded://relative/dir", "absolute directory")]
    [InlineData("embedded:///var/lib/contiv?x=1", "absolute directory")]
    [InlineData("host:6379", "neither a URL nor a directory path")]
    public void Bad_urls_are_rejected_with_a_clear_message(string url, string expected)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => KeyValueStoreFactory.Create(url));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
