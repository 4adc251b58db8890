using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Contiv.Datapath.TestSupport;
using Contiv.Policy;
using Contiv.TestSupport;
using Xunit;

namespace Contiv.NetPlugin.Tests.Policy;

/// <summary>
/// <see cref="LinuxBridgeDatapath.ApplyEndpointProfile"/> on a real kernel, measured with iperf3
/// between two containers of a network built by the datapath. Needs root and iperf3.
/// </summary>
public class NetProfileTests
{
    private static readonly IPAddress AAddress = IPAddress.Parse("10.77.0.11");
    private static readonly IPAddress BAddress = IPAddress.Parse("10.77.0.12");

    [Fact]
    public void Bandwidth_is_held_within_ten_percent_both_ways_changes_live_and_goes_away()
    {
        if (!File.Exists("/usr/bin/iperf3"))
        {
            Prerequisite.MissingPackage("iperf3", "iperf3");
        }

        using var lab = new PolicyDatapathLab();
        var a = lab.AddContainer("a", AAddress);
        var b = lab.AddContainer("b", BAddress);
        var veth = DatapathNames.HostVeth(a.EndpointId);
        var vethIndex = LinkIndex(lab, veth);

        var fifty = ObjectValidation.ValidateNetProfile("default", "fifty", "50mbps", null, null);
        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, fifty));
        Assert.False(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, fifty), "the same profile again changes nothing");
        Assert.Contains("tbf", Tc(lab, "qdisc", "show", "dev", veth), StringComparison.Ordinal);
        Assert.Contains("rate 50Mbit", Tc(lab, "qdisc", "show", "dev", DatapathNames.ProfileIfb(a.EndpointId)), StringComparison.Ordinal);
        Assert.Contains("mirred (Egress Redirect to device " + DatapathNames.ProfileIfb(a.EndpointId), Tc(lab, "filter", "show", "dev", veth, "ingress"), StringComparison.Ordinal);

        var fromA = Iperf(a, b, reverse: false);
        var toA = Iperf(a, b, reverse: true);
        Assert.InRange(fromA, 45e6, 55e6);
        Assert.InRange(toA, 45e6, 55e6);

        var twenty = ObjectValidation.ValidateNetProfile("default", "twenty", "20mbps", null, 32);
        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, twenty));
        Assert.Equal(vethIndex, LinkIndex(lab, veth)); // changed live: the same veth
        var fromA20 = Iperf(a, b, reverse: false);
        var toA20 = Iperf(a, b, reverse: true);
        Assert.InRange(fromA20, 18e6, 22e6);
        Assert.InRange(toA20, 18e6, 22e6);

        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, null));
        Assert.False(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, null));
        Assert.DoesNotContain("tbf", Tc(lab, "qdisc", "show", "dev", veth), StringComparison.Ordinal);
        Assert.DoesNotContain("clsact", Tc(lab, "qdisc", "show", "dev", veth), StringComparison.Ordinal);
        Assert.Equal(1, lab.ExecInNetwork("ip", ["link", "show", DatapathNames.ProfileIfb(a.EndpointId)], out _));
        var unshaped = Iperf(a, b, reverse: false);
        Assert.True(unshaped > 100e6, $"without the profile a sends at {unshaped / 1e6:F1} Mbit/s");

        // The measurements, for the report (xunit shows test output).
        TestContext.Current.TestOutputHelper?.WriteLine(FormattableString.Invariant(
            $"50mbps: from a {fromA / 1e6:F2}, to a {toA / 1e6:F2}; 20mbps: from a {fromA20 / 1e6:F2}, to a {toA20 / 1e6:F2}; none: {unshaped / 1e6:F0} Mbit/s"));
    }

    private static int LinkIndex(PolicyDatapathLab lab, string device)
    {
        Assert.Equal(0, lab.ExecInNetwork("ip", ["-j", "link", "show", device], out var output));
        using var json = JsonDocument.Parse(output);
        return json.RootElement[0].GetProperty("ifindex").GetInt32();
    }

    private static string Tc(PolicyDatapathLab lab, params string[] arguments)
    {
        lab.ExecInNetwork("tc", arguments, out var output);
        return output;
    }

    /// <summary>
    /// Received TCP goodput in bit/s of a 3 s iperf3 run from <paramref name="client"/> to
    /// <paramref name="server"/> (reverse: server to client). The server is one-off (-1) and killed by
    /// its PID if it outlives the run.
    /// </summary>
    private static double Iperf(PolicyDatapathLab.Container client, PolicyDatapathLab.Container server, bool reverse)
    {
        var port = 5201 + (Environment.ProcessId % 500);
        using var serverProcess = Process.Start(Tool.StartInfo("ip", ["netns", "exec", server.Namespace.Name, "/usr/bin/iperf3", "-s", "-1", "-B", server.Address.ToString(), "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            ?? throw new InvalidOperationException("cannot start iperf3 -s");
        try
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                string[] arguments = ["netns", "exec", client.Namespace.Name, "/usr/bin/iperf3", "-c", server.Address.ToString(), "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "3", "-J", .. reverse ? ["-R"] : Array.Empty<string>()];
                if (Tool.TryRun("ip", arguments, out var output, out _) == 0)
                {
                    using var json = JsonDocument.Parse(output);
                    if (json.RootElement.TryGetProperty("end", out var end) && end.TryGetProperty("sum_received", out var received))
                    {
                        return received.GetProperty("bits_per_second").GetDouble();
                    }

                    if (!json.RootElement.TryGetProperty("error", out var error) || error.GetString()?.Contains("Connection refused", StringComparison.Ordinal) != true)
                    {
                        throw new InvalidOperationException($"iperf3 gave no result: {output}");
                    }
                }

                // The server is not listening yet (iperf3 -J reports that in its JSON, with exit status 0 or 1 depending on the version).
                Thread.Sleep(100);
            }

            throw new InvalidOperationException("iperf3 never reached its server");
        }
        finally
        {
            if (!serverProcess.WaitForExit(TimeSpan.FromSeconds(2)))
            {
                serverProcess.Kill();
                serverProcess.WaitForExit();
            }
        }
    }
}
