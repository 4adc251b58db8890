using Grpc.Core;

namespace Contiv.Cri.Tests;

/// <summary>
/// An in-process stand-in for a CRI runtime: answers unary calls with <see cref="Handler"/>
/// (method name, request) and records the calls; a handler that throws RpcException is a failing
/// runtime. No socket, no HTTP/2.
/// </summary>
internal sealed class FakeCallInvoker(Func<string, object, object> handler) : CallInvoker
{
    public Func<string, object, object> Handler { get; } = handler;

    public List<string> Calls { get; } = [];

    /// <summary>The request headers of each call, in call order.</summary>
    public List<Metadata> Headers { get; } = [];

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        lock (Calls)
        {
            Calls.Add(method.FullName);
            Headers.Add(options.Headers ?? []);
        }

        Task<TResponse> response;
        try
        {
            response = Task.FromResult((TResponse)Handler(method.Name, request));
        }
        catch (RpcException e)
        {
            response = Task.FromException<TResponse>(e);
        }

        return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new NotSupportedException();

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException();

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException();
}
