using Contiv.TestSupport;
using Xunit;

namespace Contiv.State.Tests;

/// <summary>The etcd store's credentials: etcd users (user=/password=) and TLS (cacert=/cert=/key=).</summary>
public sealed class EtcdSecurityTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task A_cluster_with_authentication_serves_the_right_user_and_refuses_others_by_name()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync();
        await etcd.EnableAuthenticationAsync("root", "s3cret&more");

        await using (var store = KeyValueStoreFactory.Create($"{etcd.Url}?user=root&password={Uri.EscapeDataString("s3cret&more")}"))
        {
            Assert.True(await store.TryCommitAsync([], [new KeyWrite("k", "v")], Cancellation));
            var changes = new ChangeRecorder();
            using var subscription = store.Subscribe("k", changes.Record);
            Assert.True(await store.TryCommitAsync([new KeyCondition("k", "v")], [new KeyWrite("k", "w")], Cancellation));
            await changes.WaitForKeyAsync("k", TimeSpan.FromSeconds(5));
        }

        await using var wrong = KeyValueStoreFactory.Create($"{etcd.Url}?user=root&password=nope");
        var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => wrong.GetAsync(["k"], Cancellation));
        Assert.Contains(etcd.Description, refused.Message, StringComparison.Ordinal);
        Assert.Contains("user 'root'", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("nope", refused.Message, StringComparison.Ordinal);

        await using var anonymous = KeyValueStoreFactory.Create(etcd.Url);
        var noUser = await Assert.ThrowsAsync<StoreUnavailableException>(() => anonymous.GetAsync(["k"], Cancellation));
        Assert.Contains("none given", noUser.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_cluster_that_requires_client_certificates_serves_a_store_given_the_ca_and_certificate()
    {
        await using var etcd = await EtcdCluster.StartOrSkipAsync(tls: true);

        await using (var store = KeyValueStoreFactory.Create(etcd.UrlWithPrefix("tls/")))
        {
            Assert.Equal(etcd.Description, store.Description);
            var changes = new ChangeRecorder();
            using var subscription = store.Subscribe(string.Empty, changes.Record);
            Assert.True(await store.TryCommitAsync([new KeyCondition("k", null)], [new KeyWrite("k", "v")], Cancellation));
            Assert.Equal("v", (await store.GetAsync(["k"], Cancellation))["k"]);
            await changes.WaitForKeyAsync("k", TimeSpan.FromSeconds(5));
        }

        // Trusting the CA but presenting no certificate: the members refuse the handshake.
        await using var anonymous = KeyValueStoreFactory.Create($"{etcd.Description}?cacert={Uri.EscapeDataString(etcd.Tls!.CaFile)}&timeout=2");
        var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => anonymous.GetAsync(["k"], Cancellation));
        Assert.Contains(etcd.Description, refused.Message, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine(refused.Message);
    }
}
