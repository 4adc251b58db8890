using Contiv.TestSupport;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// A lab a fixture brings up with its own script (the swarm plugin lab, the packaging lab): the
/// environment for scripts/lib/contiv.sh, the prerequisites check (fatal under
/// CONTIV_E2E_REQUIRED=1, a skip otherwise) and the shell helpers the tests use.
/// </summary>
public abstract class ScriptedLabFixture : IAsyncLifetime
{
    protected ScriptedLabFixture(string labDir, string prefix, IReadOnlyDictionary<string, string>? extraEnv = null)
    {
        Env = new()
        {
            ["LAB_DIR"] = labDir,
            ["LAB_PREFIX"] = prefix,
            ["LAB_QUIET"] = "1",
        };
        foreach (var (key, value) in extraEnv ?? new Dictionary<string, string>())
        {
            Env[key] = value;
        }
    }

    /// <summary>Why the lab cannot run here, or null when it can.</summary>
    public string? SkipReason { get; private set; }

    public Dictionary<string, string> Env { get; }

    public async ValueTask InitializeAsync()
    {
        SkipReason = ContivLabFixture.Prerequisites();
        if (SkipReason is not null)
        {
            if (Prerequisite.Required)
            {
                throw new InvalidOperationException("end-to-end prerequisites missing: " + SkipReason);
            }

            return;
        }

        await StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (SkipReason is null)
        {
            await StopAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Brings the lab up; on failure it tears down what it started (<see cref="StopAsync"/>) and throws.</summary>
    protected abstract Task StartAsync();

    /// <summary>Tears the lab down; safe to call on a half-started lab.</summary>
    protected abstract Task StopAsync();

    public void SkipIfUnavailable()
    {
        if (SkipReason is not null)
        {
            Assert.Skip(SkipReason);
        }
    }

    public Task<CommandResult> BashAsync(string script, TimeSpan? timeout = null) => Shell.ContivAsync(script, timeout ?? TimeSpan.FromSeconds(90), Env);

    public Task<CommandResult> DockerAsync(string host, string args) => BashAsync($"lab_docker {host} {args}");
}
