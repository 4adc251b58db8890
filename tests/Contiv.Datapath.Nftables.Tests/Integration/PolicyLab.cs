using System.Net;
using System.Net.Sockets;
using Contiv.Policy;

namespace Contiv.Datapath.Nftables.Tests.Integration;

/// <summary>
/// Two "hosts", each a network namespace shaped like one of netplugin's per-network namespaces
/// (bridge cvbr-x42 + vxlan port vx42 + one host-side veth per container), joined by a veth
/// underlay, and three container namespaces: a (10.9.0.1) and b (10.9.0.2) on host 1, c
/// (10.9.0.3) on host 2. Built with iproute2 (test code may use the tools), torn down on Dispose,
/// also when the test fails. Probes send real packets between the containers' own sockets.
/// </summary>
internal sealed class PolicyLab : IDisposable
{
    public static readonly IPAddress A = IPAddress.Parse("10.9.0.1");
    public static readonly IPAddress B = IPAddress.Parse("10.9.0.2");
    public static readonly IPAddress C = IPAddress.Parse("10.9.0.3");
    public static readonly IPNetwork Subnet = IPNetwork.Parse("10.9.0.0/24");

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1.5);
    private readonly List<TestNamespace> _namespaces = [];

    public PolicyLab()
    {
        try
        {
            Host1 = Add("h1");
            Host2 = Add("h2");
            ContainerA = Add("a");
            ContainerB = Add("b");
            ContainerC = Add("c");
            foreach (var host in (TestNamespace[])[Host1, Host2])
            {
                host.IpText("link", "set", "lo", "up");
                host.IpText("link", "add", "cvbr-x42", "type", "bridge");
                host.IpText("link", "set", "cvbr-x42", "up");
            }

            Host1.IpText("link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", Host2.Name);
            Underlay(Host1, "192.168.251.1", "192.168.251.2");
            Underlay(Host2, "192.168.251.2", "192.168.251.1");
            Attach(ContainerA, Host1, A, "cvh-a");
            Attach(ContainerB, Host1, B, "cvh-b");
            Attach(ContainerC, Host2, C, "cvh-c");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNamespace Host1 { get; }

    public TestNamespace Host2 { get; }

    public TestNamespace ContainerA { get; }

    public TestNamespace ContainerB { get; }

    public TestNamespace ContainerC { get; }

    public TestNamespace ContainerOf(IPAddress address) =>
        address.Equals(A) ? ContainerA : address.Equals(B) ? ContainerB : address.Equals(C) ? ContainerC
        : throw new ArgumentException($"no container has {address}", nameof(address));

    /// <summary>What netplugin would do on every host: br_netfilter on in the network's namespace, the compiled table in it.</summary>
    public void Enforce(NetworkRuleset ruleset, params TestNamespace[] hosts)
    {
        foreach (var host in hosts.Length == 0 ? [Host1, Host2] : hosts)
        {
            using var netns = host.Open();
            BridgeNetfilter.SetCallIptables(netns, true);
            using var nft = NftablesNetlink.Open(netns);
            nft.ReplaceTable(PolicyTableEncoder.Encode(ruleset));
        }
    }

    /// <summary>True when a TCP connection from <paramref name="from"/> to <paramref name="to"/>:<paramref name="port"/> is established (SYN, SYN-ACK, ACK all passed).</summary>
    public bool TcpConnects(IPAddress from, IPAddress to, int port)
    {
        using var listener = InNamespace(ContainerOf(to), () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        listener.Bind(new IPEndPoint(to, port));
        listener.Listen();
        using var client = InNamespace(ContainerOf(from), () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        try
        {
            client.ConnectAsync(new IPEndPoint(to, port), timeout.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    /// <summary>Sends one datagram from <paramref name="from"/>:<paramref name="fromPort"/>; true when it arrives at <paramref name="to"/>:<paramref name="toPort"/>.</summary>
    public bool UdpArrives(IPAddress from, int fromPort, IPAddress to, int toPort)
    {
        using var receiver = UdpSocket(to, toPort);
        using var sender = UdpSocket(from, fromPort);
        sender.SendTo("probe"u8, new IPEndPoint(to, toPort));
        return Receives(receiver);
    }

    /// <summary>A UDP socket inside the container that owns <paramref name="address"/>, bound to it.</summary>
    public Socket UdpSocket(IPAddress address, int port)
    {
        var socket = InNamespace(ContainerOf(address), () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        socket.Bind(new IPEndPoint(address, port));
        return socket;
    }

    public static bool Receives(Socket socket) => ReceiveCount(socket, ProbeTimeout) > 0;

    /// <summary>Datagrams read until none came for <paramref name="quiet"/>.</summary>
    public static int ReceiveCount(Socket socket, TimeSpan quiet)
    {
        var count = 0;
        var buffer = new byte[64];
        while (socket.Poll(quiet, SelectMode.SelectRead))
        {
            socket.Receive(buffer);
            count++;
        }

        return count;
    }

    /// <summary>One ICMP echo from the container of <paramref name="from"/> (busybox ping); true when the reply came back.</summary>
    public bool Pings(IPAddress from, IPAddress to) =>
        ContainerOf(from).Exec("busybox", ["ping", "-c", "1", "-W", "1", to.ToString()], out _, out _) == 0;

    /// <summary>`conntrack -L` in a host's network namespace (the entries of the policy's connection tracking).</summary>
    public static string Conntrack(TestNamespace host, params string[] arguments)
    {
        host.Exec("conntrack", ["-L", .. arguments], out var output, out _);
        return output;
    }

    public void Dispose()
    {
        foreach (var ns in _namespaces)
        {
            ns.Dispose();
        }
    }

    private static T InNamespace<T>(TestNamespace ns, Func<T> create)
    {
        using var netns = ns.Open();
        return netns.RunInside(create);
    }

    private TestNamespace Add(string label)
    {
        var ns = TestNamespace.Create(label, prefix: "cvnf");
        _namespaces.Add(ns);
        return ns;
    }

    private static void Underlay(TestNamespace host, string local, string remote)
    {
        host.IpText("addr", "add", $"{local}/24", "dev", "ul0");
        host.IpText("link", "set", "ul0", "up");
        host.IpText("link", "add", "vx42", "type", "vxlan", "id", "42", "local", local, "remote", remote, "dstport", "4789", "dev", "ul0");
        host.IpText("link", "set", "vx42", "master", "cvbr-x42", "up");
    }

    private static void Attach(TestNamespace container, TestNamespace host, IPAddress address, string veth)
    {
        host.IpText("link", "add", veth, "mtu", "1450", "type", "veth", "peer", "name", "eth0", "netns", container.Name);
        host.IpText("link", "set", veth, "master", "cvbr-x42", "up");
        container.IpText("link", "set", "lo", "up");
        container.IpText("link", "set", "eth0", "mtu", "1450", "up");
        container.IpText("addr", "add", $"{address}/24", "dev", "eth0");
    }
}
