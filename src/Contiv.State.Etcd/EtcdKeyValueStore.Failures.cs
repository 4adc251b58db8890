using System.Globalization;
using System.Net.Sockets;
using Grpc.Core;
using Polly;
using Polly.Timeout;

namespace Contiv.State.Etcd;

/// <summary>Retries, time limits and the text of failures: what a caller sees when no quorum answers.</summary>
public sealed partial class EtcdKeyValueStore
{
    // The next member is usually fine at once; a leader election takes about a second.
    private static ResiliencePipeline BuildPipeline(EtcdStoreOptions options) => StoreRetryPipeline.Build(
        options.OperationTimeout, options.AttemptTimeout, options.MaxRetries, IsTransient, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(800));

    /// <summary>Wrong user or password, or none for a cluster with authentication on: retrying cannot help.</summary>
    private static bool IsRefusedCredentials(RpcException exception) =>
        exception.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.FailedPrecondition
        && exception.Status.Detail is "etcdserver: authentication failed, invalid user ID or password" or "etcdserver: user name is empty"
            or "etcdserver: permission denied" or "etcdserver: authentication is not enabled";

    /// <summary>Failures another member, or the same one a moment later, may not have.</summary>
    private static bool IsTransient(Exception exception) => exception switch
    {
        // Unavailable: connection refused or lost, "no leader", "leader changed", "request timed out".
        // Unauthenticated: the token expired (it is dropped and fetched again). NotFound only comes
        // from a receipt lease that expired (a new one is granted).
        RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unauthenticated or StatusCode.NotFound or StatusCode.Internal or StatusCode.Unknown
            || (rpc.StatusCode == StatusCode.Cancelled && rpc.Status.DebugException is not null),
        SocketException or IOException or HttpRequestException or TimeoutRejectedException => true,
        _ => false,
    };

    /// <summary>
    /// True when the request provably never became a proposal: the member refused the connection, or
    /// (require-leader) answered that it has no leader before proposing anything.
    /// </summary>
    private static bool WasRejectedBeforeSending(Exception exception)
    {
        if (exception is RpcException { StatusCode: StatusCode.Unavailable } noLeader && noLeader.Status.Detail == "etcdserver: no leader")
        {
            return true;
        }

        for (var current = exception; current is not null; current = current is RpcException rpc ? rpc.Status.DebugException : current.InnerException)
        {
            if (current is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs one remote operation through the retry pipeline, each attempt on the current member with its
    /// own time limit; a failed attempt moves on to the next member.
    /// </summary>
    private async Task<T> RunAsync<T>(Func<EtcdEndpoint, CallOptions, Task<T>> operation, CommitAttempts? attempts, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Exception? lastFailure = null;
        try
        {
            return await _pipeline.ExecuteAsync(
                async token =>
                {
                    var endpoint = _endpoints.Current;
                    try
                    {
                        return await operation(endpoint, await _endpoints.CallOptionsAsync(endpoint, token));
                    }
                    catch (Exception exception) when (IsTransient(exception) || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                    {
                        lastFailure = exception;
                        OnAttemptFailed(endpoint, exception);
                        throw;
                    }
                },
                cancellationToken);
        }
        catch (RpcException exception) when (IsRefusedCredentials(exception))
        {
            throw new StoreUnavailableException($"state store {Description} refused the credentials{(_options.User is { } user ? $" of user '{user}'" : " (none given: add user= and password=)")}: {exception.Status.Detail}", exception);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && (IsTransient(exception) || exception is OperationCanceledException))
        {
            throw new StoreUnavailableException($"state store {Description} is unreachable: {DescribeFailure(exception, lastFailure)}", exception)
            {
                CommitOutcomeUnknown = attempts?.OutcomeUnknown ?? false,
            };
        }
    }

    private void OnAttemptFailed(EtcdEndpoint endpoint, Exception exception)
    {
        if (exception is RpcException { StatusCode: StatusCode.Unauthenticated })
        {
            _endpoints.DropToken();
        }
        else if (exception is RpcException { StatusCode: StatusCode.NotFound })
        {
            _receiptLeases.Drop();
        }

        _endpoints.MoveOnFrom(endpoint);
    }

    /// <summary>One line: what the last attempt ran into (the whole operation's deadline says little).</summary>
    private string DescribeFailure(Exception exception, Exception? lastFailure)
    {
        var limit = string.Create(CultureInfo.InvariantCulture, $"no quorum answered within {_options.OperationTimeout.TotalSeconds:0.#} s");
        var cause = lastFailure ?? exception;
        var detail = cause switch
        {
            RpcException rpc => DescribeRpc(rpc),
            TimeoutRejectedException => string.Create(CultureInfo.InvariantCulture, $"no reply within {_options.AttemptTimeout.TotalSeconds:0.#} s"),
            OperationCanceledException => string.Create(CultureInfo.InvariantCulture, $"no reply within {_options.AttemptTimeout.TotalSeconds:0.#} s"),
            _ => cause.Message,
        };
        return exception is TimeoutRejectedException || lastFailure is not null ? $"{limit} (last: {detail})" : detail;
    }

    private static string DescribeRpc(RpcException rpc)
    {
        for (Exception? inner = rpc.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.Message;
            }
        }

        var detail = rpc.Status.Detail;
        var newline = detail.IndexOf('\n', StringComparison.Ordinal);
        return $"{rpc.StatusCode}: {(newline < 0 ? detail : detail[..newline])}";
    }
}
