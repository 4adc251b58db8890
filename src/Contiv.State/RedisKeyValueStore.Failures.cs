using System.Globalization;
using System.Net.Sockets;
using Polly;
using Polly.Timeout;
using StackExchange.Redis;

namespace Contiv.State;

/// <summary>Retries, time limits and the text of failures: what a caller sees when Redis is not there.</summary>
public sealed partial class RedisKeyValueStore
{
    private static ResiliencePipeline BuildPipeline(RedisStoreOptions options) => StoreRetryPipeline.Build(
        options.OperationTimeout, options.AttemptTimeout, options.MaxRetries, IsTransient, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));

    /// <summary>Failures worth retrying: the server may answer the same request a moment later.</summary>
    private static bool IsTransient(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException or SocketException or IOException or TimeoutRejectedException => true,
        // A restarted server answers LOADING while it replays its append-only file.
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// True when the client refused the command without sending it: with <see cref="BacklogPolicy.FailFast"/>
    /// that is "No connection is active/available", UnableToResolvePhysicalConnection.
    /// </summary>
    private static bool WasRejectedBeforeSending(Exception exception) =>
        exception is RedisConnectionException { FailureType: ConnectionFailureType.UnableToResolvePhysicalConnection or ConnectionFailureType.UnableToConnect };

    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private async Task<T> RunAsync<T>(Func<IDatabase, CancellationToken, Task<T>> operation, CommitAttempts? commit, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            return await _pipeline.ExecuteAsync(
                async token =>
                {
                    var multiplexer = await _connection.WaitAsync(token);
                    return await operation(multiplexer.GetDatabase(_options.Database), token);
                },
                cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && (IsTransient(exception) || exception is OperationCanceledException))
        {
            throw new StoreUnavailableException($"state store {Description} is unreachable: {DescribeFailure(exception)}", exception)
            {
                CommitOutcomeUnknown = commit?.OutcomeUnknown ?? false,
            };
        }
    }

    private string DescribeFailure(Exception exception)
    {
        switch (exception)
        {
            case TimeoutRejectedException:
                return string.Create(CultureInfo.InvariantCulture, $"no answer within {_options.OperationTimeout.TotalSeconds:0.#} s");
            case RedisTimeoutException:
                return "timed out waiting for a reply";
            case RedisServerException:
                return exception.Message;
        }

        // "No connection available" wraps the real cause (e.g. UnableToConnect); the library's messages
        // are long diagnostic dumps, so describe the deepest failure type and any socket error instead.
        RedisConnectionException? deepest = null;
        string? socketError = null;
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is RedisConnectionException connection)
            {
                deepest = connection;
            }
            else if (current is SocketException or IOException)
            {
                socketError ??= current.Message;
            }
        }

        if (deepest is null)
        {
            return FirstClause(exception.Message);
        }

        var reason = deepest.FailureType switch
        {
            ConnectionFailureType.UnableToConnect => "cannot connect",
            ConnectionFailureType.UnableToResolvePhysicalConnection => "not connected",
            ConnectionFailureType.SocketClosed => "connection closed",
            ConnectionFailureType.SocketFailure => "connection failed",
            ConnectionFailureType.AuthenticationFailure => "authentication failed",
            _ => "connection problem",
        };
        var cause = socketError ?? _lastConnectionCause;
        return cause is null ? $"{reason} ({deepest.FailureType})" : $"{reason} ({deepest.FailureType}): {cause}";
    }

    private static string FirstClause(string message)
    {
        var end = message.IndexOf("; ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        // The socket error (e.g. "Connection refused") when the library has one.
        if (e.Exception?.InnerException is { } cause and not RedisException)
        {
            _lastConnectionCause = cause.Message;
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _lastConnectionCause = null;
        // Messages published while we were disconnected are lost: tell subscribers to re-read. (Before
        // the first successful subscription, KeepSubscribingAsync sends the Resync.)
        if (_messages is not null)
        {
            RequestResync();
        }
    }
}

internal static class TaskCancellationExtensions
{
    /// <summary>
    /// Awaits a task that cannot itself be cancelled (StackExchange.Redis takes no tokens), giving up
    /// when <paramref name="token"/> fires. The abandoned task still completes later; its fault is observed.
    /// </summary>
    public static async Task<T> WaitOrAbandonAsync<T>(this Task<T> task, CancellationToken token)
    {
        try
        {
            return await task.WaitAsync(token);
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }
}
