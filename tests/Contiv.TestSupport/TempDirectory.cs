namespace Contiv.TestSupport;

/// <summary>A fresh directory under the system temp directory, deleted (recursively) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    private TempDirectory(string path)
    {
        Path = path;
    }

    /// <summary>Absolute path of the directory.</summary>
    public string Path { get; }

    /// <summary>Creates e.g. <c>/tmp/contiv-test-a1b2c3</c>. Keep the prefix short where Unix socket paths (108 bytes) live inside.</summary>
    public static TempDirectory Create(string prefix = "contiv-test-") =>
        new(Directory.CreateTempSubdirectory(prefix).FullName);

    /// <summary>A path inside the directory (not created).</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file open for a moment; a leftover temp dir is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public override string ToString() => Path;
}
