using System.Buffers;
using System.Text.Json;

namespace Contiv.State;

/// <summary>
/// The payloads on a Redis store's change channel: a JSON array of the keys one commit wrote, or a
/// JSON string, a probe a store publishes to itself to learn that its subscription is live again.
/// JSON because keys may contain any character, including separators.
/// </summary>
internal static class ChangeMessages
{
    public static byte[] EncodeKeys(IReadOnlyList<string> keys)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var key in keys)
            {
                writer.WriteStringValue(key);
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] EncodeProbe(string probeId)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStringValue(probeId);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a payload; returns false for anything this version does not understand.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out IReadOnlyList<string>? keys, out string? probeId)
    {
        keys = null;
        probeId = null;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read())
            {
                return false;
            }

            if (reader.TokenType == JsonTokenType.String)
            {
                probeId = reader.GetString();
                return probeId is not null;
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return false;
            }

            var list = new List<string>();
            while (reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                list.Add(reader.GetString()!);
            }

            if (reader.TokenType != JsonTokenType.EndArray)
            {
                return false;
            }

            keys = list;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
