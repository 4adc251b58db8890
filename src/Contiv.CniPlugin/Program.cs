using Contiv.CniPlugin;

// contivk8s: CNI_COMMAND and friends in the environment, the network configuration on stdin, the
// result or CNI's error object on stdout (exit 0 / 1), as the CNI specification asks.
var stdin = Console.IsInputRedirected ? await Console.In.ReadToEndAsync() : string.Empty;
var (exitCode, output) = await ContivK8s.RunAsync(Environment.GetEnvironmentVariable, stdin, new NetPluginCniClient(), CancellationToken.None);
if (output.Length > 0)
{
    await Console.Out.WriteLineAsync(output);
}

return exitCode;
