namespace Contiv.Cni;

/// <summary>The CNI operations a runtime asks for (CNI_COMMAND).</summary>
public enum CniCommand
{
    Add,
    Del,
    Check,
    Version,
}

/// <summary>
/// One plugin invocation as the runtime describes it in the environment. Parsing follows the spec's
/// rules: CNI_COMMAND always; CNI_CONTAINERID and CNI_IFNAME for ADD, DEL and CHECK; CNI_NETNS for ADD
/// and CHECK (DEL must work when the namespace is gone). Anything missing or malformed is
/// <see cref="CniErrorCode.InvalidEnvironment"/>.
/// </summary>
public sealed record CniInvocation(
    CniCommand Command,
    string ContainerId,
    string? NetworkNamespace,
    string InterfaceName,
    IReadOnlyDictionary<string, string> Args,
    string? Path)
{
    /// <summary>Linux's IFNAMSIZ less the terminating zero.</summary>
    public const int MaxInterfaceName = 15;

    public static CniInvocation FromEnvironment(Func<string, string?> env)
    {
        var commandText = env("CNI_COMMAND");
        var command = commandText switch
        {
            "ADD" => CniCommand.Add,
            "DEL" => CniCommand.Del,
            "CHECK" => CniCommand.Check,
            "VERSION" => CniCommand.Version,
            null or "" => throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_COMMAND is not set"),
            _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_COMMAND {commandText} is not one of ADD, DEL, CHECK, VERSION"),
        };
        if (command == CniCommand.Version)
        {
            return new CniInvocation(command, string.Empty, null, string.Empty, new Dictionary<string, string>(), env("CNI_PATH"));
        }

        var containerId = Required(env, "CNI_CONTAINERID");
        var ifName = Required(env, "CNI_IFNAME");
        if (ifName.Length > MaxInterfaceName || ifName is "." or ".." || ifName.Any(c => c is '/' or ':' or ' ' || char.IsControl(c)))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_IFNAME {ifName} is not a valid interface name");
        }

        var netns = env("CNI_NETNS");
        if (command != CniCommand.Del && string.IsNullOrEmpty(netns))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_NETNS is not set");
        }

        return new CniInvocation(command, containerId, string.IsNullOrEmpty(netns) ? null : netns, ifName, ParseArgs(env("CNI_ARGS")), env("CNI_PATH"));
    }

    /// <summary>CNI_ARGS: <c>KEY=VALUE</c> pairs separated by semicolons (Kubernetes passes K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID).</summary>
    public static IReadOnlyDictionary<string, string> ParseArgs(string? args)
    {
        var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (args ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_ARGS entry \"{pair}\" is not KEY=VALUE");
            }

            parsed[pair[..equals]] = pair[(equals + 1)..];
        }

        return parsed;
    }

    private static string Required(Func<string, string?> env, string name) =>
        env(name) is { Length: > 0 } value ? value : throw new CniException(CniErrorCode.InvalidEnvironment, $"{name} is not set");
}
