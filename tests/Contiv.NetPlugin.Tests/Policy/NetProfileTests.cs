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

        var fromA = Within(50e6, () => Iperf(a, b, reverse: false, () => Tc(lab, "-s", "qdisc", "show")));
        var toA = Within(50e6, () => Iperf(a, b, reverse: true, () => Tc(lab, "-s", "qdisc", "show")));

        var twenty = ObjectValidation.ValidateNetProfile("default", "twenty", "20mbps", null, 32);
        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, twenty));
        Assert.Equal(vethIndex, LinkIndex(lab, veth)); // changed live: the same veth
        var fromA20 = Within(20e6, () => Iperf(a, b, reverse: false, () => Tc(lab, "-s", "qdisc", "show")));
        var toA20 = Within(20e6, () => Iperf(a, b, reverse: true, () => Tc(lab, "-s", "qdisc", "show")));

        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, null));
        Assert.False(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, null));
        Assert.DoesNotContain("tbf", Tc(lab, "qdisc", "show", "dev", veth), StringComparison.Ordinal);
        Assert.DoesNotContain("clsact", Tc(lab, "qdisc", "show", "dev", veth), StringComparison.Ordinal);
        Assert.Equal(1, lab.ExecInNetwork("ip", ["link", "show", DatapathNames.ProfileIfb(a.EndpointId)], out _));
        var unshaped = Iperf(a, b, reverse: false, () => Tc(lab, "-s", "qdisc", "show"));
        Assert.True(unshaped > 100e6, $"without the profile a sends at {unshaped / 1e6:F1} Mbit/s");

        // The measurements, for the report (xunit shows test output).
        TestContext.Current.TestOutputHelper?.WriteLine(FormattableString.Invariant(
            $"50mbps: from a {fromA / 1e6:F2}, to a {toA / 1e6:F2}; 20mbps: from a {fromA20 / 1e6:F2}, to a {toA20 / 1e6:F2}; none: {unshaped / 1e6:F0} Mbit/s"));
    }

    [Fact]
    public void Dscp_marks_what_the_container_sends_changes_live_survives_a_restart_and_goes_away()
    {
        if (!File.Exists("/usr/sbin/tcpdump") && !File.Exists("/usr/bin/tcpdump"))
        {
            Prerequisite.MissingPackage("tcpdump", "tcpdump");
        }

        using var lab = new PolicyDatapathLab();
        var a = lab.AddContainer("a", AAddress);
        var b = lab.AddContainer("b", BAddress);
        Assert.Equal(0x00, TosOfPing(a, b));

        var gold = ObjectValidation.ValidateNetProfile("default", "gold", null, 46, null);
        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, gold));
        Assert.False(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, gold));
        Assert.Equal(46 << 2, TosOfPing(a, b));
        Assert.Equal(0x00, TosOfPing(b, a)); // only what a sends

        // Bandwidth and another mark, live; then a restarted datapath finds both in place.
        var both = ObjectValidation.ValidateNetProfile("default", "both", "50mbps", 10, null);
        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, both));
        Assert.Equal(10 << 2, TosOfPing(a, b));
        using (var restarted = lab.Restarted())
        {
            Assert.False(restarted.ApplyEndpointProfile(lab.Network, a.EndpointId, both));
        }

        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, null));
        Assert.Equal(0x00, TosOfPing(a, b));
        Assert.DoesNotContain("contiv-qos", lab.NftList(), StringComparison.Ordinal);

        // A deleted endpoint takes its mark and its ifb along.
        Assert.True(lab.Datapath.ApplyEndpointProfile(lab.Network, a.EndpointId, both));
        lab.Datapath.DeleteEndpoint(lab.Network, a.EndpointId);
        Assert.DoesNotContain("contiv-qos", lab.NftList(), StringComparison.Ordinal);
        Assert.Equal(1, lab.ExecInNetwork("ip", ["link", "show", DatapathNames.ProfileIfb(a.EndpointId)], out _));
    }

    /// <summary>The TOS byte of one ICMP echo request from <paramref name="from"/> as <paramref name="to"/> receives it (tcpdump in its namespace).</summary>
    private static int TosOfPing(PolicyDatapathLab.Container from, PolicyDatapathLab.Container to)
    {
        using var capture = Process.Start(Tool.StartInfo("ip", ["netns", "exec", to.Namespace.Name, "tcpdump", "-i", "eth0", "-n", "-v", "-l", "-c", "1", "icmp[icmptype] == icmp-echo and src " + from.Address]))
            ?? throw new InvalidOperationException("cannot start tcpdump");
        try
        {
            var output = capture.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            var started = capture.StandardError.ReadLineAsync(TestContext.Current.CancellationToken).AsTask(); // "listening on eth0 ..."
            started.Wait(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
            while (!output.IsCompleted && DateTime.UtcNow < deadline)
            {
                from.Namespace.Exec("/usr/bin/busybox", ["ping", "-c", "1", "-W", "1", to.Address.ToString()], out _, out _);
            }

            var line = output.IsCompleted ? output.Result : throw new InvalidOperationException("tcpdump saw no echo request");
            var match = System.Text.RegularExpressions.Regex.Match(line ?? "", @"tos 0x([0-9a-f]+)");
            Assert.True(match.Success, $"no tos in tcpdump's line: {line}");
            return Convert.ToInt32(match.Groups[1].Value, 16);
        }
        finally
        {
            if (!capture.WaitForExit(TimeSpan.FromSeconds(2)))
            {
                capture.Kill();
                capture.WaitForExit();
            }
        }
    }

    /// <summary>
    /// A measurement within ±10% of <paramref name="rate"/>. No run may exceed +10% (the shaper
    /// must never let more through); a run below -10% is repeated, up to 3 runs, because the 2
    /// shared cores under other engineers' builds can starve iperf3 itself, which only ever lowers
    /// what it measures.
    /// </summary>
    private static double Within(double rate, Func<double> measure)
    {
        var samples = new List<double>();
        for (var run = 0; run < 3; run++)
        {
            var measured = measure();
            samples.Add(measured);
            Assert.True(measured <= rate * 1.1, FormattableString.Invariant($"{measured / 1e6:F2} Mbit/s is over {rate / 1e6:F0} Mbit/s + 10%"));
            if (measured >= rate * 0.9)
            {
                return measured;
            }
        }

        Assert.Fail(FormattableString.Invariant($"3 runs below {rate / 1e6:F0} Mbit/s - 10%: {string.Join(", ", samples.Select(s => (s / 1e6).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))} Mbit/s"));
        return 0;
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
    private static double Iperf(PolicyDatapathLab.Container client, PolicyDatapathLab.Container server, bool reverse, Func<string>? diagnostics = null)
    {
        string Diagnostics() => diagnostics?.Invoke() ?? "";
        var port = 5201 + (Environment.ProcessId % 500);
        using var serverProcess = Process.Start(Tool.StartInfo("ip", ["netns", "exec", server.Namespace.Name, "/usr/bin/iperf3", "-s", "-1", "-B", server.Address.ToString(), "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            ?? throw new InvalidOperationException("cannot start iperf3 -s");
        try
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                string[] arguments = ["netns", "exec", client.Namespace.Name, "/usr/bin/iperf3", "-c", server.Address.ToString(), "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "3", "-J", .. reverse ? ["-R"] : Array.Empty<string>()];
                string output;
                int status;
                try
                {
                    status = Tool.TryRun("ip", arguments, out output, out _);
                }
                catch (TimeoutException e)
                {
                    throw new TimeoutException($"{e.Message}; qdiscs then: {Diagnostics()}", e);
                }

                if (status == 0)
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
