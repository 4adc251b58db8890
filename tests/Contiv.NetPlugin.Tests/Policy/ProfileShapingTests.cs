using Contiv.Policy;
using Xunit;

namespace Contiv.NetPlugin.Tests.Policy;

/// <summary>The pure netprofile → tbf parameter computation.</summary>
public class ProfileShapingTests
{
    private static NetProfile Profile(string? bandwidth, int? burstKilobytes = null, int? dscp = null) =>
        ObjectValidation.ValidateNetProfile("default", "p", bandwidth, dscp, burstKilobytes);

    [Fact]
    public void Rate_is_the_bandwidth_in_bytes_per_second()
    {
        Assert.Equal(6_250_000UL, ProfileShaping.TokenBucketOf(Profile("50mbps"))!.BytesPerSecond);
        Assert.Equal(125_000_000UL, ProfileShaping.TokenBucketOf(Profile("1 gbps"))!.BytesPerSecond);
        Assert.Equal(62_500UL, ProfileShaping.TokenBucketOf(Profile("500kbps"))!.BytesPerSecond);
    }

    [Fact]
    public void Without_a_burst_the_bucket_is_10_ms_at_the_rate_but_at_least_64_KiB()
    {
        Assert.Equal(64u * 1024, ProfileShaping.TokenBucketOf(Profile("50mbps"))!.BurstBytes); // 10 ms is 62.5 KB
        Assert.Equal(1_250_000u, ProfileShaping.TokenBucketOf(Profile("1gbps"))!.BurstBytes);
    }

    [Fact]
    public void A_given_burst_is_in_KiB_and_never_below_16_KiB()
    {
        Assert.Equal(32u * 1024, ProfileShaping.TokenBucketOf(Profile("20mbps", burstKilobytes: 32))!.BurstBytes);
        Assert.Equal(ProfileShaping.MinimumBurstBytes, ProfileShaping.TokenBucketOf(Profile("20mbps", burstKilobytes: 1))!.BurstBytes);
        Assert.Equal(64u * 1024, ProfileShaping.TokenBucketOf(Profile("20mbps", burstKilobytes: 0))!.BurstBytes); // 0: not given
    }

    [Fact]
    public void Limit_is_the_burst_plus_50_ms_at_the_rate_so_it_tells_bursts_apart()
    {
        var bucket = ProfileShaping.TokenBucketOf(Profile("50mbps"))!;
        Assert.Equal(bucket.BurstBytes + 312_500u, bucket.LimitBytes);
        Assert.NotEqual(bucket.LimitBytes, ProfileShaping.TokenBucketOf(Profile("50mbps", burstKilobytes: 128))!.LimitBytes);
    }

    [Fact]
    public void A_profile_without_bandwidth_shapes_nothing()
    {
        Assert.Null(ProfileShaping.TokenBucketOf(Profile(null, dscp: 46)));
    }

    [Fact]
    public void Rates_beyond_32_bits_of_bytes_per_second_are_kept_whole()
    {
        var bucket = ProfileShaping.TokenBucketOf(Profile("100gbps"))!;
        Assert.Equal(12_500_000_000UL, bucket.BytesPerSecond);
        Assert.True(bucket.LimitBytes >= bucket.BurstBytes);
    }
}
