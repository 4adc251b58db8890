namespace Contiv.Telemetry;

/// <summary>Where a server's request log finds the one-line error of a request it answered with a failure.</summary>
public interface IRequestErrorFeature
{
    string? Error { get; set; }
}
