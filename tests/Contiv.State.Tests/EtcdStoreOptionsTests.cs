using Contiv.State.Etcd;
using Xunit;

namespace Contiv.State.Tests;

public sealed class EtcdStoreOptionsTests
{
    [Theory]
    [InlineData("etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379")]
    [InlineData("etcd://h1,h2:2380,h3", "etcd://h1:2379,h2:2380,h3:2379")]
    [InlineData("ETCD://10.0.0.1:2379, 10.0.0.2:2379 ,10.0.0.3:2379/", "etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379")]
    [InlineData("etcd://[::1]:2379", "etcd://[::1]:2379")]
    [InlineData("etcds://h1:2379,h2:2379", "etcds://h1:2379,h2:2379")]
    [InlineData("etcd://h1?timeout=3", "etcd://h1:2379")]
    [InlineData("etcd://root:secret@h1:2379?prefix=lab%2F", "etcd://h1:2379")]
    public async Task Etcd_urls_open_an_etcd_store_named_by_its_endpoints(string url, string description)
    {
        await using var store = KeyValueStoreFactory.Create(url);

        Assert.IsType<EtcdKeyValueStore>(store);
        Assert.Equal(description, store.Description);
        Assert.DoesNotContain("secret", store.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Endpoints_tls_and_auth_parameters_are_parsed()
    {
        var options = EtcdStoreOptions.Parse("etcd://h1:2379,h2:12379?prefix=a%2Fb%2F&cacert=/ca.pem&cert=/c.pem&key=/k.pem&user=contiv&password=p%26q&timeout=2.5");

        Assert.Equal(["https://h1:2379/", "https://h2:12379/"], options.Endpoints.Select(endpoint => endpoint.ToString()));
        Assert.Equal("a/b/", options.KeyPrefix);
        Assert.Equal(("/ca.pem", "/c.pem", "/k.pem"), (options.CaCertificateFile, options.ClientCertificateFile, options.ClientKeyFile));
        Assert.Equal(("contiv", "p&q"), (options.User, options.Password));
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.OperationTimeout);
        Assert.True(options.UsesTls);

        var plain = EtcdStoreOptions.Parse("etcd://user:pw@h1");
        Assert.Equal(["http://h1:2379/"], plain.Endpoints.Select(endpoint => endpoint.ToString()));
        Assert.Equal(("user", "pw"), (plain.User, plain.Password));
        Assert.Equal(EtcdStoreOptions.DefaultKeyPrefix, plain.KeyPrefix);
        Assert.False(plain.UsesTls);
    }
}
