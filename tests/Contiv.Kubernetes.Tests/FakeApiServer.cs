using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Contiv.Kubernetes.Tests;

/// <summary>What the fake API server saw of one request.</summary>
internal sealed record RecordedRequest(string Method, string Path, string? Accept, string? Authorization, string? UserAgent, string? ClientCertificateThumbprint);

/// <summary>
/// A stand-in for the Kubernetes API server on 127.0.0.1 (Kestrel, plain HTTP or HTTPS, optionally
/// requiring a client certificate) that answers pod GETs with recorded objects. Each test sets
/// <see cref="Respond"/> to play the failure it is about.
/// </summary>
internal sealed class FakeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeApiServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Answers a request, given how many came before it. Defaults to <see cref="ServeRecordedPodsAsync"/>.</summary>
    public Func<HttpContext, int, Task> Respond { get; set; } = (context, _) => ServeRecordedPodsAsync(context);

    public static async Task<FakeApiServer> StartAsync(X509Certificate2? serverCertificate = null, bool requireClientCertificate = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (serverCertificate is not null)
            {
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = serverCertificate;
                    https.ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate;
                    // The test checks which certificate came; trusting it is not what is under test.
                    https.ClientCertificateValidation = (_, _, _) => true;
                });
            }
        }));
        var app = builder.Build();
        var server = new FakeApiServer(app);
        app.Run(async context =>
        {
            var certificate = await context.Connection.GetClientCertificateAsync();
            server.Requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path.Value ?? "",
                context.Request.Headers.Accept.ToString(), context.Request.Headers.Authorization.ToString(), context.Request.Headers.UserAgent.ToString(),
                certificate?.Thumbprint));
            await server.Respond(context, server.Requests.Count - 1);
        });
        await app.StartAsync();
        server.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return server;
    }

    /// <summary>The recorded contiv-c1 pod at its path; a recorded NotFound Status for any other.</summary>
    public static Task ServeRecordedPodsAsync(HttpContext context) =>
        context.Request.Path == "/api/v1/namespaces/default/pods/contiv-c1"
            ? ServeAsync(context, 200, "pod-contiv-c1.json")
            : ServeAsync(context, 404, "status-404-pod-not-found.json");

    public static async Task ServeAsync(HttpContext context, int status, string recordedFile)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Recorded", recordedFile)));
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>Certificates made for a test: the API server's (self-signed, its own CA) and a client's.</summary>
internal static class TestCertificates
{
    public static X509Certificate2 CreateServer(string subject = "CN=kube-apiserver")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        // Like kubeadm's apiserver certificate: valid for the address the client dials.
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Through PKCS#12 so the private key is one SslStream can use as a server on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    public static (X509Certificate2 Certificate, string CertificatePem, string KeyPem) CreateClient(string subject = "CN=system:node:k8s-node1, O=system:nodes")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return (certificate, certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A kubeconfig *-data value: the PEM text, base64-encoded.</summary>
    public static string ToData(string pem) => Convert.ToBase64String(Encoding.UTF8.GetBytes(pem));
}
