namespace EmbeddedChroma;

/// <summary>
/// How a collection keeps the vectors its HNSW graph walks (configuration <c>vector_storage</c>), chosen at creation.
/// Whatever the choice, every record's float32 embedding stays in the store and query results carry exact float32
/// distances: with a compact choice the graph walks the compact rows, then its best candidates are re-ranked with the
/// float32 rows, which are read from their file on demand instead of being held in memory.
/// </summary>
public enum VectorStorage
{
    /// <summary>float32 rows, mapped in memory (<c>"float32"</c>, the default): 4 bytes per dimension.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Named after the configuration value float32 it stands for.")]
    Float32 = 0,

    /// <summary>
    /// float16 rows in memory (<c>"float16"</c>): 2 bytes per dimension, half the memory of <see cref="Float32"/>; the
    /// float32 rows are read from disk only to re-rank each query's best candidates.
    /// </summary>
    Float16 = 1,
}
