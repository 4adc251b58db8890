using Polly;
using Polly.Retry;

namespace Contiv.State;

/// <summary>
/// How a remote store's call is bounded: one time limit for the whole operation, bounded retries of
/// transient failures with jittered exponential backoff, and a time limit per attempt. The Redis and
/// etcd stores differ only in what is transient and how long to wait between attempts.
/// </summary>
internal static class StoreRetryPipeline
{
    public static ResiliencePipeline Build(TimeSpan operationTimeout, TimeSpan attemptTimeout, int maxRetries, Func<Exception, bool> isTransient, TimeSpan firstDelay, TimeSpan maxDelay)
    {
        var builder = new ResiliencePipelineBuilder().AddTimeout(operationTimeout);
        if (maxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle(isTransient),
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = firstDelay,
                MaxDelay = maxDelay,
            });
        }

        return builder.AddTimeout(attemptTimeout).Build();
    }
}
