using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// The store's data (documents, embeddings, metadata) is readable only by its owner: the folder and vectors/ are
/// 0700, and every file (chroma.sqlite3 and its -wal/-shm, chroma.lock, arenas, graphs, backups) 0600, from the moment
/// it is created. A store whose files were widened later opens with a warning naming each file, its mode and the fix;
/// the files are left as they are. (Unix only, as the ring-file tests: Windows relies on the folder's ACL.)
/// </summary>
public sealed class StoreFilePermissionTests : IDisposable
{
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Folder700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly TempStoreFolder _root = new("ec-perms");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _root.Dispose();
    }

    /// <summary>Every folder (itself included) and file under <paramref name="folder"/> with its mode.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static List<(string Path, UnixFileMode Mode, bool IsFolder)> Modes(string folder) =>
        Directory.GetDirectories(folder, "*", SearchOption.AllDirectories).Append(folder)
            .Select(d => (d, File.GetUnixFileMode(d), true))
            .Concat(Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(f => (f, File.GetUnixFileMode(f), false)))
            .ToList();

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void ShouldBeOwnerOnly(string folder, params string[] mustExist)
    {
        var modes = Modes(folder);
        foreach (var name in mustExist)
        {
            modes.Should().Contain(m => Path.GetFileName(m.Path).EndsWith(name, StringComparison.Ordinal), $"{name} should exist in {folder}");
        }

        foreach (var (path, mode, isFolder) in modes)
        {
            mode.Should().Be(isFolder ? Folder700 : File600, $"{Path.GetRelativePath(folder, path)} must be its owner's only");
        }
    }

    [Fact]
    public void Create_makes_the_folder_0700_and_every_file_0600_when_a_store_is_written_compacted_and_closed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var folder = Path.Combine(_root.Path, "store");
        string admin;
        var options = new ChromaStoreOptions { HnswThreshold = 100 };
        using (var store = ChromaStore.Create(folder, out admin, options))
        {
            var collection = store.GetClient(admin).CreateCollection("docs");
            collection.Add(Enumerable.Range(0, 300).Select(i => $"r{i}").ToArray(), Enumerable.Range(0, 300).Select(i => new[] { i, 1f, 2f }).ToArray(), documents: Enumerable.Range(0, 300).Select(i => $"secret document {i}").ToArray());
            collection.WaitForIndex();
            ShouldBeOwnerOnly(folder, "chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-shm", "chroma.lock", ".vec", "keyring.sqlite3");
        }

        ShouldBeOwnerOnly(folder, "chroma.sqlite3", "chroma.lock", ".vec", ".hnsw", "keyring.pepper");
        using (var store = ChromaStore.Open(folder, options))
        {
            var collection = store.GetClient(admin).GetCollection("docs");
            collection.Delete(Enumerable.Range(0, 200).Select(i => $"r{i}").ToArray());
            collection.Compact(); // writes a new arena under a temporary name, then renames it
            collection.Count().Should().Be(100);
        }

        ShouldBeOwnerOnly(folder, "chroma.sqlite3", "chroma.lock", ".vec", "keyring.pepper");
    }

    [Fact]
    public void Backup_writes_a_0700_folder_of_0600_files_when_the_store_is_backed_up()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var folder = Path.Combine(_root.Path, "store");
        var backup = Path.Combine(_root.Path, "backup", "nested");
        using (var store = ChromaStore.Create(folder, out var admin))
        {
            var client = store.GetClient(admin);
            client.CreateCollection("loaded").Add(["a", "b"], [[1f, 2f], [3f, 4f]], documents: ["x", "y"]);
            client.CreateCollection("other").Add(["c"], [[1f, 2f, 3f]]);
            client.Backup(backup);
        }

        ShouldBeOwnerOnly(backup, "chroma.sqlite3", ".vec", "keyring.sqlite3", "keyring.pepper");
    }

    [Fact]
    public void Open_warns_naming_each_file_its_mode_and_the_fix_when_group_or_others_may_read_the_store()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var folder = Path.Combine(_root.Path, "store");
        string admin;
        using (var store = ChromaStore.Create(folder, out admin))
        {
            store.GetClient(admin).CreateCollection("docs").Add(["a"], [[1f, 2f]]);
        }

        const UnixFileMode wideFile = File600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode wideFolder = Folder700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        var database = Path.Combine(folder, "chroma.sqlite3");
        var arena = Directory.GetFiles(Path.Combine(folder, "vectors"), "*.vec").Single();
        File.SetUnixFileMode(database, wideFile);
        File.SetUnixFileMode(arena, wideFile | UnixFileMode.GroupWrite);
        File.SetUnixFileMode(folder, wideFolder);
        var log = new CapturingLogger();

        using (var store = ChromaStore.Open(folder, new ChromaStoreOptions { Logger = log }))
        {
            store.GetClient(admin).GetCollection("docs").Count().Should().Be(1, "a warning, not a refusal: the data files are the owner's to share");
        }

        var warnings = log.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message).ToList();
        warnings.Should().Contain(m => m.Contains($"'{database}'", StringComparison.Ordinal) && m.Contains("mode 644", StringComparison.Ordinal) && m.Contains("chmod 600", StringComparison.Ordinal));
        warnings.Should().Contain(m => m.Contains($"'{arena}'", StringComparison.Ordinal) && m.Contains("mode 664", StringComparison.Ordinal));
        warnings.Should().Contain(m => m.Contains($"'{folder}'", StringComparison.Ordinal) && m.Contains("mode 755", StringComparison.Ordinal) && m.Contains("chmod 700", StringComparison.Ordinal));
        warnings.Should().NotContain(m => m.Contains("chroma.lock", StringComparison.Ordinal), "files still owner-only are not reported");
        File.GetUnixFileMode(database).Should().Be(wideFile, "the store does not change the owner's files behind their back");
    }
}
