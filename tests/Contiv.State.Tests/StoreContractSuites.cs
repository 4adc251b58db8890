using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>The contract against Redis: one server per class, a fresh key prefix per test.</summary>
public sealed class RedisStoreContractTests(RedisServerFixture redis) : KeyValueStoreContractTests, IClassFixture<RedisServerFixture>
{
    private readonly string _prefix = RedisServerFixture.UniquePrefix("contract");

    protected override Task<IKeyValueStore> CreateInstanceAsync() =>
        Task.FromResult(KeyValueStoreFactory.Create(redis.Server.UrlWithPrefix(_prefix)));
}

/// <summary>The contract against Redis reached through its Unix socket.</summary>
public sealed class RedisUnixSocketStoreContractTests(RedisServerFixture redis) : KeyValueStoreContractTests, IClassFixture<RedisServerFixture>
{
    private readonly string _prefix = RedisServerFixture.UniquePrefix("unix");

    protected override Task<IKeyValueStore> CreateInstanceAsync() =>
        Task.FromResult(KeyValueStoreFactory.Create($"{redis.Server.UnixSocketUrl}?prefix={Uri.EscapeDataString(_prefix)}"));
}

/// <summary>The contract against the embedded store: a fresh state directory per test.</summary>
public sealed class EmbeddedStoreContractTests : KeyValueStoreContractTests
{
    private readonly TempDirectory _directory = TempDirectory.Create("contiv-state-");

    /// <summary>Other instances learn of commits by polling (every 200 ms by default).</summary>
    protected override TimeSpan CrossInstanceDelivery => TimeSpan.FromSeconds(3);

    protected override Task<IKeyValueStore> CreateInstanceAsync() =>
        Task.FromResult(KeyValueStoreFactory.Create("embedded://" + _directory.Path));

    protected override ValueTask CleanUpAsync()
    {
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The contract against a one-member etcd cluster: one member per class, a fresh key prefix per test.</summary>
public sealed class EtcdStoreContractTests(EtcdServerFixture etcd) : KeyValueStoreContractTests, IClassFixture<EtcdServerFixture>
{
    private readonly string _prefix = RedisServerFixture.UniquePrefix("contract");

    protected override Task<IKeyValueStore> CreateInstanceAsync() =>
        Task.FromResult(KeyValueStoreFactory.Create(etcd.Cluster.UrlWithPrefix(_prefix)));
}
