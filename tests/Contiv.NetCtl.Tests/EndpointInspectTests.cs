using Xunit;

namespace Contiv.NetCtl.Tests;

/// <summary><c>netctl endpoint inspect</c> against a real netmaster: Contiv's <c>{"Oper": {EndpointOper}}</c>.</summary>
public sealed class EndpointInspectTests(TutorialNetMaster fixture) : IClassFixture<TutorialNetMaster>
{
    /// <summary>The endpoint as the Kubernetes excerpt's `net inspect` shows it, wrapped in Oper.</summary>
    private const string Expected = """
        {
          "Oper": {
            "containerName": "contiv-c1",
            "endpointID": "21f97ca11caa355fd56c75869b60587f149257932095c552fc3af76b0be0d91f",
            "homingHost": "node1",
            "ipAddress": [
              "10.1.2.1",
              ""
            ],
            "labels": "map[]",
            "macAddress": "02:02:0a:01:02:01",
            "network": "contiv-net.default"
          }
        }

        """;

    [Theory]
    [InlineData("endpoint", TutorialNetMaster.EndpointId)]
    [InlineData("ep", "21f97ca1")]
    [InlineData("endpoint", "2")]
    public async Task Inspect_by_id_or_unique_prefix_prints_contivs_oper_object(string command, string id)
    {
        var run = await fixture.Server.NetCtlAsync(command, "inspect", id);
        Assert.Equal((0, string.Empty), (run.ExitCode, run.Stderr));
        Assert.Equal(Expected.ReplaceLineEndings("\n"), run.Stdout);
    }

    [Fact]
    public async Task A_missing_id_is_one_error_line()
    {
        var missing = await fixture.Server.NetCtlAsync("endpoint", "inspect", "3");
        Assert.Equal((1, string.Empty, "Error: endpoint 3 not found\n"), (missing.ExitCode, missing.Stdout, missing.Stderr));

        var none = await fixture.Server.NetCtlAsync("endpoint", "inspect");
        Assert.Equal(1, none.ExitCode);
        Assert.StartsWith("Error: Required argument missing", none.Stderr, StringComparison.Ordinal);
        Assert.Contains("usage: netctl endpoint inspect ENDPOINT-ID", none.Stderr, StringComparison.Ordinal);
    }
}
