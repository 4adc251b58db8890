using System.Text.Encodings.Web;
using System.Text.Json;

namespace Contiv.State;

/// <summary>
/// The embedded store's data file: <c>{"format":1,"storeId":"…","generation":N,"entries":{"key":"value",…},
/// "pools":{"name":{"first":N,"size":N,"version":N,"bits":"base64"},…}}</c> (pools optional: older files have none).
/// The identity fields come first so a reader can tell from the first few hundred bytes whether the
/// file still holds the version it has cached, without parsing the entries.
/// </summary>
internal static class EmbeddedStateFile
{
    public const int FormatVersion = 1;

    /// <summary>Comfortably more than the identity fields need (about 100 bytes).</summary>
    private const int HeaderBytes = 512;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // Keys and values are written as they are (readable when inspecting the file by hand); the
        // file is never embedded in HTML, which is what the default escaping protects.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Reads the file at <paramref name="path"/>, returning <paramref name="cached"/> when the file still
    /// holds that version. A missing file is the empty store.
    /// </summary>
    /// <remarks>
    /// No lock is needed: writers replace the file by rename, so an open file is always one complete
    /// version, old or new, and stays readable even if it is replaced meanwhile.
    /// </remarks>
    public static EmbeddedSnapshot Read(string path, EmbeddedSnapshot? cached)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            return EmbeddedSnapshot.Empty;
        }

        using (stream)
        {
            var length = stream.Length;
            if (length > int.MaxValue)
            {
                throw new InvalidDataException($"state file {path} is implausibly large ({length} bytes)");
            }

            var buffer = new byte[(int)length];
            var read = ReadUpTo(stream, buffer, 0, Math.Min(HeaderBytes, buffer.Length));
            if (cached is not null && TryReadIdentity(buffer.AsSpan(0, read), out var storeId, out var generation) && cached.IsSameVersion(storeId, generation))
            {
                return cached;
            }

            read += ReadUpTo(stream, buffer, read, buffer.Length - read);
            return Parse(path, buffer.AsSpan(0, read));
        }
    }

    /// <summary>
    /// Writes <paramref name="snapshot"/> to a temporary file next to <paramref name="path"/> and fsyncs
    /// it; <see cref="Replace"/> then makes it the data file. Callers hold the store's exclusive lock,
    /// so one temporary name suffices; one left behind by a crashed writer is simply overwritten.
    /// </summary>
    /// <remarks>
    /// Crash safety: the data file only ever changes by rename, so a crash at any point leaves either
    /// the old or the new file, complete; fsync before the rename makes sure the renamed file has its
    /// contents on disk, fsync of the directory afterwards makes the rename itself durable.
    /// </remarks>
    public static string WriteTemporary(string path, EmbeddedSnapshot snapshot)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024))
        {
            using (var writer = new Utf8JsonWriter(stream, WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteNumber("format", FormatVersion);
                writer.WriteString("storeId", snapshot.StoreId);
                writer.WriteNumber("generation", snapshot.Generation);
                writer.WriteStartObject("entries");
                foreach (var key in snapshot.SortedKeys)
                {
                    writer.WriteString(key, snapshot.Entries[key]);
                }

                writer.WriteEndObject();
                if (snapshot.Pools.Count > 0)
                {
                    writer.WriteStartObject("pools");
                    foreach (var name in snapshot.Pools.Keys.Order(StringComparer.Ordinal))
                    {
                        var pool = snapshot.Pools[name];
                        writer.WriteStartObject(name);
                        writer.WriteNumber("first", pool.FirstAddress);
                        writer.WriteNumber("size", pool.Size);
                        writer.WriteNumber("version", pool.Version);
                        writer.WriteBase64String("bits", pool.Bits);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            stream.Flush(flushToDisk: true);
        }

        return temporary;
    }

    /// <summary>Atomically replaces <paramref name="path"/> by <paramref name="temporary"/> (rename(2)).</summary>
    public static void Replace(string temporary, string path) => File.Move(temporary, path, overwrite: true);

    /// <summary>Makes the last <see cref="Replace"/> durable.</summary>
    public static void SyncDirectory(string path) => NativeFile.FsyncDirectory(Path.GetDirectoryName(path)!);

    private static int ReadUpTo(FileStream stream, byte[] buffer, int offset, int count)
    {
        var total = 0;
        while (total < count)
        {
            var read = stream.Read(buffer, offset + total, count - total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Reads storeId and generation from the start of the file, if they are there.</summary>
    internal static bool TryReadIdentity(ReadOnlySpan<byte> head, out string? storeId, out long generation)
    {
        storeId = null;
        generation = -1;
        var reader = new Utf8JsonReader(head, isFinalBlock: false, state: default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }

                switch (name)
                {
                    case "storeId" when reader.TokenType == JsonTokenType.String:
                        storeId = reader.GetString();
                        break;
                    case "generation" when reader.TokenType == JsonTokenType.Number:
                        generation = reader.GetInt64();
                        break;
                    case "entries":
                        return false;
                    default:
                        break;
                }

                if (storeId is not null && generation >= 0)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static EmbeddedSnapshot Parse(string path, ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            Expect(ref reader, JsonTokenType.StartObject);
            string? storeId = null;
            long generation = -1;
            var format = -1;
            Dictionary<string, string>? entries = null;
            Dictionary<string, AddressPool>? pools = null;
            while (true)
            {
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                var name = reader.GetString();
                Read(ref reader);
                switch (name)
                {
                    case "format":
                        format = reader.GetInt32();
                        break;
                    case "storeId":
                        storeId = reader.GetString();
                        break;
                    case "generation":
                        generation = reader.GetInt64();
                        break;
                    case "entries":
                        entries = ReadEntries(ref reader);
                        break;
                    case "pools":
                        pools = ReadPools(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (format != FormatVersion)
            {
                throw new InvalidDataException($"state file {path} has format {format}; this version reads format {FormatVersion}");
            }

            if (storeId is null || generation < 0 || entries is null)
            {
                throw new InvalidDataException($"state file {path} lacks storeId, generation or entries");
            }

            return new EmbeddedSnapshot(storeId, generation, entries, pools);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"state file {path} is not a valid state file: {exception.Message}", exception);
        }
    }

    private static Dictionary<string, string> ReadEntries(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("entries must be an object");
        }

        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return entries;
            }

            var key = reader.GetString()!;
            Read(ref reader);
            entries[key] = reader.GetString() ?? throw new JsonException($"entry '{key}' is null");
        }
    }

    private static Dictionary<string, AddressPool> ReadPools(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("pools must be an object");
        }

        var pools = new Dictionary<string, AddressPool>(StringComparer.Ordinal);
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return pools;
            }

            var name = reader.GetString()!;
            Expect(ref reader, JsonTokenType.StartObject);
            uint? first = null;
            int? size = null;
            long? version = null;
            byte[]? bits = null;
            while (true)
            {
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                var field = reader.GetString();
                Read(ref reader);
                switch (field)
                {
                    case "first":
                        first = reader.GetUInt32();
                        break;
                    case "size":
                        size = reader.GetInt32();
                        break;
                    case "version":
                        version = reader.GetInt64();
                        break;
                    case "bits":
                        bits = reader.GetBytesFromBase64();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (first is null || size is null || version is null || bits is null)
            {
                throw new JsonException($"pool '{name}' lacks first, size, version or bits");
            }

            pools[name] = new AddressPool(first.Value, size.Value, version.Value, bits);
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        Read(ref reader);
        if (reader.TokenType != type)
        {
            throw new JsonException($"expected {type}, found {reader.TokenType}");
        }
    }

    private static void Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of file");
        }
    }
}
