using System.Globalization;

namespace Contiv.EndToEnd.Tests;

/// <summary>
/// An idle cluster costs next to nothing: agents reconcile on relevant changes and every 10 s, and
/// their heartbeats do not wake each other (they once did: 3 agents committed ~50 times a second).
/// </summary>
[Collection(nameof(SharedLab))]
public sealed class IdleClusterTests(ContivLabFixture lab)
{
    [Fact]
    public async Task Idle_agents_commit_only_their_periodic_heartbeats()
    {
        lab.SkipIfUnavailable();

        // Every store commit is announced with one PUBLISH; count them for 5 s on h1's Redis.
        var monitor = await lab.BashAsync(
            "lab_exec h1 timeout 5 redis-cli -h \"$(lab_host_ip h1)\" -p \"$CONTIV_REDIS_PORT\" monitor | grep -c '\"PUBLISH\"' || true");
        var publishes = int.Parse(monitor.Stdout.Trim(), CultureInfo.InvariantCulture);

        // 3 agents x (one heartbeat per 10 s resync, plus the odd late settling pass).
        Assert.True(publishes <= 15, $"{publishes} store commits in 5 s on an idle 3-host cluster");
    }
}
