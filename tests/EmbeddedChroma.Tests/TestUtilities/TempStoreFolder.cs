namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>A fresh, uniquely named folder under the system temp folder, deleted (recursively) on dispose.</summary>
internal sealed class TempStoreFolder : IDisposable
{
    public TempStoreFolder(string prefix = "ec-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    public void Dispose()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(Path))
                {
                    Directory.Delete(Path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(50);
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                Thread.Sleep(50);
            }
        }
    }

    public override string ToString() => Path;
}
