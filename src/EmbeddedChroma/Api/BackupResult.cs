namespace EmbeddedChroma;

/// <summary>What <see cref="ChromaClient.Backup(string)"/> wrote.</summary>
/// <param name="Path">The backup folder (absolute): a store that <see cref="ChromaStore.Open"/> opens.</param>
/// <param name="Bytes">Bytes written (the SQLite database, the key ring, the vector arenas and graphs).</param>
/// <param name="Elapsed">How long the copy took.</param>
public sealed record BackupResult(string Path, long Bytes, TimeSpan Elapsed);
