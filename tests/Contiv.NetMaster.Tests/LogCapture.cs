using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Contiv.NetMaster.Tests;

/// <summary>
/// Records every log event of every category at every level (Trace included): category, level,
/// formatted message, each structured value, the exception with its stack and the active scopes.
/// That is a superset of what any log provider could print.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Text => string.Join('\n', _lines);

    /// <summary>Adds this capture to a logging builder with everything enabled.</summary>
    public void AddTo(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Trace);
        logging.AddFilter(_ => true);
        logging.AddProvider(this);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable BeginScope<TState>(TState state)
            where TState : notnull
        {
            var text = Describe(state);
            capture._lines.Enqueue($"[scope] {category}: {text}");
            return new Scope();
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}[{eventId.Id}]: {formatter(state, exception)} | {Describe(state)}";
            if (exception is not null)
            {
                line += " | " + exception;
            }

            capture._lines.Enqueue(line);
        }

        private static string Describe<TState>(TState state) =>
            state is IEnumerable<KeyValuePair<string, object?>> values
                ? string.Join("; ", values.Select(kv => $"{kv.Key}={Flatten(kv.Value)}"))
                : state?.ToString() ?? string.Empty;

        private static string Flatten(object? value) => value switch
        {
            null => "null",
            string s => s,
            System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(i => i?.ToString())) + "]",
            _ => value.ToString() ?? string.Empty,
        };

        private sealed class Scope : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
