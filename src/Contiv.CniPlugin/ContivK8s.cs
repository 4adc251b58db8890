using Contiv.Cni;

namespace Contiv.CniPlugin;

/// <summary>Where contivk8s sends a pod's CNI call: the node's netplugin (an HTTP POST on its CNI socket).</summary>
public interface INetPluginCni
{
    /// <summary>The reply's status and body; throws <see cref="CniException"/> when netplugin cannot be reached.</summary>
    Task<(int Status, string Body)> PostAsync(string socket, string path, string json, CancellationToken ct);
}

/// <summary>One CNI invocation, from environment and stdin to exit code and stdout.</summary>
public static class ContivK8s
{
    public static async Task<(int ExitCode, string Output)> RunAsync(Func<string, string?> env, string stdin, INetPluginCni netplugin, CancellationToken ct)
    {
        // Errors before the configuration is read are reported in the newest version we speak.
        var version = CniVersions.Current;
        try
        {
            var call = CniInvocation.FromEnvironment(env);
            if (call.Command == CniCommand.Version)
            {
                return (0, CniJson.Version());
            }

            var config = NetworkConfig.Parse(stdin);
            version = config.CniVersion;
            if (call.Command == CniCommand.Check && !CniVersions.HasCheck(version))
            {
                throw new CniException(CniErrorCode.IncompatibleVersion, $"CHECK is not defined in CNI version {version} (0.4.0 or later)");
            }

            var request = PodRequest.From(call, config);
            var (status, body) = await netplugin.PostAsync(config.Socket, PodRequest.PathOf(call.Command), request.ToJson(), ct);
            if (status == 200)
            {
                // ADD prints its result; DEL and CHECK print nothing on success.
                return (0, call.Command == CniCommand.Add ? body : string.Empty);
            }

            // netplugin's reply is already CNI's error object in the caller's version.
            return (1, LooksLikeCniError(body) ? body : CniJson.Error(version, CniErrorCode.PluginUnavailable, $"netplugin answered {status}: {body}"));
        }
        catch (CniException e)
        {
            return (1, CniJson.Error(version, e.Code, e.Message, e.Details));
        }
    }

    private static bool LooksLikeCniError(string body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("code", out _) && doc.RootElement.TryGetProperty("msg", out _);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
