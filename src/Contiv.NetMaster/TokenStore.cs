using System.Security.Cryptography;
using System.Text;
using Contiv.Model;

namespace Contiv.NetMaster;

/// <summary>
/// Who is calling: an admin (every tenant, global settings, tenant create/delete) or a token scoped
/// to one tenant (only that tenant's networks and endpoints; global settings read-only). Set on
/// every request by <see cref="TokenAuthentication"/> (admin for everyone when no tokens are
/// configured) and bound as a handler parameter.
/// </summary>
public sealed class Caller
{
    private Caller(string? tenant, string description)
    {
        Tenant = tenant;
        Description = description;
    }

    /// <summary>Everything allowed: the caller when no token file is configured.</summary>
    public static Caller Unauthenticated { get; } = new(null, "no token configured");

    /// <summary>The tenant this caller is limited to; null for admin.</summary>
    public string? Tenant { get; }

    public bool IsAdmin => Tenant is null;

    /// <summary>For logs: which token line authenticated the request (never the token itself).</summary>
    public string Description { get; }

    public static Caller Admin(int line) => new(null, $"admin token (line {line})");

    public static Caller Scoped(string tenant, int line) => new(tenant, $"token of tenant {tenant} (line {line})");

    public bool CanSee(string tenant) => IsAdmin || string.Equals(tenant, Tenant, StringComparison.Ordinal);

    /// <summary>403 unless this caller may see and change <paramref name="tenant"/>'s objects.</summary>
    /// <remarks>
    /// 403 rather than 404: the decision is made from the tenant named in the URL alone, before the
    /// store is read, so the answer is the same whether the other tenant's object exists or not (it
    /// reveals nothing), and it tells the user the real problem (their token's scope) instead of a
    /// misleading "does not exist".
    /// </remarks>
    public void EnsureTenant(string tenant)
    {
        if (!CanSee(tenant))
        {
            throw new AccessDeniedException($"forbidden: the token is scoped to tenant {Tenant} and cannot access tenant {tenant}");
        }
    }

    /// <summary>403 unless this is an admin (or no tokens are configured).</summary>
    public void EnsureAdmin(string action)
    {
        if (!IsAdmin)
        {
            throw new AccessDeniedException($"forbidden: the token is scoped to tenant {Tenant}; {action} needs an admin token");
        }
    }

    /// <summary>Minimal API binding. Fails closed: a request that did not pass authentication has no caller.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<Caller?>(context.Features.Get<Caller>()
            ?? throw new InvalidOperationException("request reached an API handler without authentication"));
}

/// <summary>A request the caller's token does not allow: 403 with a JSON error.</summary>
public sealed class AccessDeniedException(string message) : Exception(message);

/// <summary>netmaster refuses to start with this configuration; the message says what to change.</summary>
public sealed class NetMasterConfigurationException(string message) : Exception(message);

/// <summary>
/// The tokens of a token file: lines <c>TOKEN</c> (admin) or <c>TOKEN TENANT</c> (scoped), blank lines
/// and <c># comments</c> ignored. Only SHA-256 digests of the tokens are kept in memory, so a lookup
/// takes the same time however close a guess is, and errors name line numbers, never contents.
/// </summary>
public sealed class TokenStore
{
    /// <summary>Tokens are secrets, not passwords: 16 characters at least (e.g. <c>openssl rand -hex 32</c>).</summary>
    public const int MinimumLength = 16;

    private readonly Dictionary<string, Caller> _byDigest;

    private TokenStore(Dictionary<string, Caller> byDigest)
    {
        _byDigest = byDigest;
    }

    public int Count => _byDigest.Count;

    public static TokenStore Load(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NetMasterConfigurationException($"cannot read --token-file {path}: {e.Message}");
        }

        return Parse(lines, path);
    }

    /// <summary>Parses token lines; <paramref name="source"/> names the file in error messages.</summary>
    public static TokenStore Parse(IReadOnlyList<string> lines, string source)
    {
        var byDigest = new Dictionary<string, Caller>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            // Never quote the line: a misplaced field may well be a token.
            var number = i + 1;
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 2)
            {
                throw Bad(source, number, $"expected TOKEN or TOKEN TENANT, found {fields.Length} fields");
            }

            var token = fields[0];
            if (token.Length < MinimumLength)
            {
                throw Bad(source, number, $"the token is shorter than {MinimumLength} characters");
            }

            if (token.Any(c => c is < '!' or > '~'))
            {
                throw Bad(source, number, "the token must be printable ASCII (it travels in an HTTP header)");
            }

            Caller caller;
            if (fields.Length == 2)
            {
                try
                {
                    Names.ValidateTenant(fields[1]);
                }
                catch (ContivException)
                {
                    throw Bad(source, number, "the tenant name is invalid (letters, digits, '-' and '_')");
                }

                caller = Caller.Scoped(fields[1], number);
            }
            else
            {
                caller = Caller.Admin(number);
            }

            if (!byDigest.TryAdd(Digest(token), caller))
            {
                throw Bad(source, number, "the same token appears on an earlier line");
            }
        }

        return byDigest.Count == 0
            ? throw new NetMasterConfigurationException($"--token-file {source} holds no tokens (lines: TOKEN for admin, TOKEN TENANT for one tenant)")
            : new TokenStore(byDigest);
    }

    /// <summary>The caller a presented token stands for, or null.</summary>
    public Caller? Find(string token) => _byDigest.GetValueOrDefault(Digest(token));

    private static string Digest(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static NetMasterConfigurationException Bad(string source, int line, string problem) =>
        new($"--token-file {source} line {line}: {problem}");
}
