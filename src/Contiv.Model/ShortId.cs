namespace Contiv.Model;

/// <summary>Docker's short form of an id (its first 12 characters), for logs, messages and kernel names.</summary>
public static class ShortId
{
    public const int Length = 12;

    /// <summary>The first 12 characters, or the whole id when it is shorter (a test's or a user's own id).</summary>
    public static string Of(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return id.Length > Length ? id[..Length] : id;
    }
}
