namespace Contiv.Model;

/// <summary>What kind of failure a request hit; maps onto HTTP status codes and CLI exit codes.</summary>
public enum ErrorKind
{
    /// <summary>The request itself is wrong (bad CIDR, tag out of range, bad name).</summary>
    Invalid,

    /// <summary>A named object does not exist.</summary>
    NotFound,

    /// <summary>The request clashes with existing state (duplicate, in use, exhausted).</summary>
    Conflict,

    /// <summary>A dependency (state store, Docker engine) is unavailable.</summary>
    Unavailable,
}

/// <summary>
/// A failure that is the user's to act on. The message is one line, shown verbatim by netctl and in
/// libnetwork's <c>{"Err": "..."}</c> replies, so it names the object and what is wrong with it.
/// </summary>
public sealed class ContivException(ErrorKind kind, string message) : Exception(message)
{
    public ErrorKind Kind { get; } = kind;

    public static ContivException Invalid(string message) => new(ErrorKind.Invalid, message);

    public static ContivException NotFound(string message) => new(ErrorKind.NotFound, message);

    public static ContivException Conflict(string message) => new(ErrorKind.Conflict, message);

    public static ContivException Unavailable(string message) => new(ErrorKind.Unavailable, message);
}
