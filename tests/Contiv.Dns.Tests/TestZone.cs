using System.Net;

namespace Contiv.Dns.Tests;

/// <summary>The records the tests' responders serve, plus names that exercise each resolver outcome.</summary>
internal static class TestZone
{
    public static readonly IPAddress C1 = IPAddress.Parse("10.1.1.2");
    public static readonly IPAddress C2 = IPAddress.Parse("10.1.1.3");

    /// <summary>200 addresses: 3,200 bytes of answers, more than any UDP limit here.</summary>
    public static readonly IPAddress[] Many = [.. Enumerable.Range(0, 200).Select(i => new IPAddress([10, 2, (byte)(i / 250), (byte)(1 + (i % 250))]))];

    /// <summary>60 addresses: too many for 512 bytes, few enough for 1232.</summary>
    public static readonly IPAddress[] Sixty = Many[..60];

    public static ValueTask<DnsAnswer> ResolveAsync(DnsQuestion question, IPAddress client, CancellationToken cancellationToken) =>
        question.NormalizedName switch
        {
            "contiv-c1" => ValueTask.FromResult(DnsAnswer.WithAddresses(C1)),
            "contiv-c2" => ValueTask.FromResult(DnsAnswer.WithAddresses(C2)),
            "many" => ValueTask.FromResult(DnsAnswer.WithAddresses(Many)),
            "sixty" => ValueTask.FromResult(DnsAnswer.WithAddresses(Sixty)),
            "no-addresses" => ValueTask.FromResult(DnsAnswer.WithAddresses()),
            "other-tenant" => ValueTask.FromResult(DnsAnswer.Refused),
            "store-down" => ValueTask.FromResult(DnsAnswer.ServerFailure),
            "external.example" => ValueTask.FromResult(DnsAnswer.Forward),
            "throws" => throw new InvalidOperationException("resolver bug"),
            "hangs" => new ValueTask<DnsAnswer>(new TaskCompletionSource<DnsAnswer>().Task), // ignores its token too
            "slow" => SlowAsync(cancellationToken),
            _ => ValueTask.FromResult(DnsAnswer.NameError),
        };

    private static async ValueTask<DnsAnswer> SlowAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(20, cancellationToken);
        return DnsAnswer.WithAddresses(C1);
    }

    /// <summary>A responder on a free port of 127.0.0.1, started.</summary>
    public static DnsResponder Start(
        Func<DnsQuestion, IPAddress, CancellationToken, ValueTask<DnsAnswer>>? resolver = null,
        DnsResponderOptions? options = null,
        int port = 0)
    {
        var responder = new DnsResponder(new IPEndPoint(IPAddress.Loopback, port), resolver ?? ResolveAsync, options);
        responder.Start();
        return responder;
    }

    public static DnsQuery Query(string name, DnsRecordType type = DnsRecordType.A, DnsEdns? edns = null) =>
        new((ushort)Random.Shared.Next(ushort.MaxValue + 1), new DnsQuestion(name, type), RecursionDesired: true, edns);
}
