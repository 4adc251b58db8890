namespace Contiv.Policy;

/// <summary>Input refused by validation; the message is one line, as netctl prints it (Contiv's wording where Contiv had one).</summary>
public sealed class PolicyException : Exception
{
    public PolicyException(string message)
        : base(message)
    {
    }

    public PolicyException()
    {
    }

    public PolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What validation needs to know about a tenant's other objects (names that exist).</summary>
public interface ITenantCatalog
{
    bool HasGroup(string tenant, string group);

    bool HasNetwork(string tenant, string network);

    bool HasPolicy(string tenant, string policy);

    bool HasNetProfile(string tenant, string profile);
}
