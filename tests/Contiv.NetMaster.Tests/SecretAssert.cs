using Xunit;

namespace Contiv.NetMaster.Tests;

/// <summary>Checks text (logs, error lines) for secrets and for anything that looks like they leaked.</summary>
public static class SecretAssert
{
    public static void NoSecrets(string text, params string[] secrets)
    {
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);

            // Also no recognisable half of one (a truncated or reformatted header).
            Assert.DoesNotContain(secret[..(secret.Length / 2)], text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(secret))[..12], text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Bearer ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization:", text, StringComparison.OrdinalIgnoreCase);
    }
}
