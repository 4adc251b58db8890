using System.Net;
using System.Net.Sockets;
using Contiv.Datapath;
using Contiv.Datapath.TestSupport;
using Contiv.Policy;
using Contiv.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Contiv.NetPlugin.Tests.Policy;

/// <summary>
/// One network built by <see cref="LinuxBridgeDatapath"/> itself (single-host mode, no VTEP: the
/// namespace under a temp state dir holds the bridge and the bridge-side veths), and "containers":
/// throwaway namespaces (pdp-…) holding the container ends of endpoints made by CreateEndpoint,
/// with addresses in 10.77.0.0/24. Everything is removed on Dispose, also when a test fails:
/// container namespaces (their veth ends go with them), the network (RemoveNetwork unmounts its
/// namespace) and the temp dir. Traffic only flows between these namespaces.
/// </summary>
internal sealed class PolicyDatapathLab : IDisposable
{
    public const string Tenant = "default";
    public const string NetworkName = "contiv-net";
    public static readonly IPNetwork Subnet = IPNetwork.Parse("10.77.0.0/24");
    private static int s_counter;

    private readonly TempDirectory _stateDir;
    private readonly List<TestNamespace> _containers = [];
    private readonly List<string> _endpointIds = [];

    public PolicyDatapathLab()
    {
        TestNamespace.RequireNamespaces();
        _stateDir = TempDirectory.Create("pdp-");
        var n = Interlocked.Increment(ref s_counter);
        Network = new NetworkDatapathSpec($"{NetworkName}.{Tenant}", "vxlan", 3000 + n);
        Datapath = Restarted();
        try
        {
            Datapath.EnsureNetwork(Network);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public LinuxBridgeDatapath Datapath { get; }

    /// <summary>Another datapath on the same state dir: what a restarted netplugin starts with (dispose it; the lab removes the network).</summary>
    public LinuxBridgeDatapath Restarted() =>
        new(new RouteNetlink(), new PluginOptions { StateDir = _stateDir.Path, HostName = "pdp" }, NullLogger<LinuxBridgeDatapath>.Instance);

    public NetworkDatapathSpec Network { get; }

    public string NamespacePath => Datapath.NamespacePath(Network);

    /// <summary>A container with <paramref name="address"/>: an endpoint of the network whose container end is eth0 in a new namespace.</summary>
    public Container AddContainer(string label, IPAddress address)
    {
        var endpointId = $"pdp{Environment.ProcessId:x}{label}{Interlocked.Increment(ref s_counter)}";
        _endpointIds.Add(endpointId);
        var ns = TestNamespace.Create(label, prefix: "pdp");
        _containers.Add(ns);
        var bytes = address.GetAddressBytes();
        var containerSide = Datapath.CreateEndpoint(Network, endpointId, $"02:42:{bytes[0]:x2}:{bytes[1]:x2}:{bytes[2]:x2}:{bytes[3]:x2}", 1500);
        Tool.Run("ip", "link", "set", containerSide, "netns", ns.Name);
        ns.IpText("link", "set", containerSide, "name", "eth0");
        ns.IpText("link", "set", "lo", "up");
        ns.IpText("link", "set", "eth0", "up");
        ns.IpText("addr", "add", $"{address}/24", "dev", "eth0");
        return new Container(ns, address, endpointId);
    }

    /// <summary>`ip -n`-style command inside the network's namespace (nft, tc, conntrack), by its bind mount.</summary>
    public int ExecInNetwork(string file, string[] arguments, out string output) =>
        Tool.TryRun("nsenter", [$"--net={NamespacePath}", file, .. arguments], out output, out _);

    public string NftList()
    {
        ExecInNetwork("nft", ["list", "ruleset"], out var output);
        return output;
    }

    public void Dispose()
    {
        foreach (var ns in _containers)
        {
            ns.Dispose();
        }

        foreach (var id in _endpointIds)
        {
            try
            {
                Datapath.DeleteEndpoint(Network, id);
            }
            catch (NetlinkException)
            {
                // Gone with its namespace.
            }
        }

        try
        {
            Datapath.RemoveNetwork(Network);
        }
        finally
        {
            Datapath.Dispose();
            _stateDir.Dispose();
        }
    }

    /// <summary>A container namespace, its address, and the endpoint id whose veth it holds.</summary>
    internal sealed record Container(TestNamespace Namespace, IPAddress Address, string EndpointId)
    {
        private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1.5);

        public Socket Open(SocketType type, ProtocolType protocol)
        {
            using var netns = Namespace.Open();
            return netns.OpenSocket(AddressFamily.InterNetwork, type, protocol);
        }

        public Socket Listen(int port)
        {
            var listener = Open(SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(Address, port));
            listener.Listen();
            return listener;
        }

        /// <summary>True when a TCP connection to <paramref name="to"/>:<paramref name="port"/> is established (a listener must be there).</summary>
        public bool Connects(Container to, int port)
        {
            using var listener = to.Listen(port);
            using var client = Open(SocketType.Stream, ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(ProbeTimeout);
            try
            {
                client.ConnectAsync(new IPEndPoint(to.Address, port), timeout.Token).AsTask().GetAwaiter().GetResult();
                return true;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                return false;
            }
        }

        public Socket Udp(int port)
        {
            var socket = Open(SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(Address, port));
            return socket;
        }

        public static bool Receives(Socket socket)
        {
            if (!socket.Poll(ProbeTimeout, SelectMode.SelectRead))
            {
                return false;
            }

            socket.Receive(new byte[256]);
            return true;
        }

        public bool Pings(Container to) =>
            Namespace.Exec("/usr/bin/busybox", ["ping", "-c", "1", "-W", "1", to.Address.ToString()], out _, out _) == 0;
    }
}

/// <summary>A tenant's groups, policies and rules as netctl would create them, compiled for the lab's network.</summary>
internal sealed class PolicyScenario : ITenantCatalog
{
    private readonly Dictionary<string, List<string>> _groupPolicies = [];
    private readonly Dictionary<IPAddress, string?> _endpoints = [];
    private readonly HashSet<string> _policies = [];
    private readonly List<PolicyRule> _rules = [];

    public PolicyScenario Endpoint(IPAddress address, string? group)
    {
        _endpoints[address] = group;
        return this;
    }

    public PolicyScenario Group(string name, params string[] policies)
    {
        _groupPolicies[name] = [.. policies];
        return this;
    }

    public PolicyScenario Policy(string name)
    {
        _policies.Add(name);
        return this;
    }

    public PolicyScenario Rule(RuleConfig config)
    {
        _rules.Add((config with { TenantName = PolicyDatapathLab.Tenant }).Validate(this));
        return this;
    }

    public PolicyScenario RemoveRule(string policy, string ruleId)
    {
        _rules.RemoveAll(r => r.Policy == policy && r.RuleId == ruleId);
        return this;
    }

    public static RuleConfig In(string policy, string ruleId) => new(PolicyDatapathLab.Tenant, policy, ruleId, Direction: "in");

    public NetworkRuleset Compile() => PolicyCompiler.Compile(
        new TenantPolicyState(
            PolicyDatapathLab.Tenant,
            [.. _groupPolicies.Select(g => new EndpointGroup(PolicyDatapathLab.Tenant, g.Key, PolicyDatapathLab.NetworkName, Policies: g.Value))],
            _rules,
            [.. _endpoints.Select(e => new PolicyEndpoint(e.Key, PolicyDatapathLab.NetworkName, e.Value))],
            new Dictionary<string, IPNetwork> { [PolicyDatapathLab.NetworkName] = PolicyDatapathLab.Subnet }),
        PolicyDatapathLab.NetworkName);

    public bool HasGroup(string tenant, string group) => _groupPolicies.ContainsKey(group);

    public bool HasNetwork(string tenant, string network) => network == PolicyDatapathLab.NetworkName;

    public bool HasPolicy(string tenant, string policy) => _policies.Contains(policy);

    public bool HasNetProfile(string tenant, string profile) => false;
}
