namespace EmbeddedChroma;

/// <summary>
/// How a collection keeps the vectors its HNSW graph walks (configuration <c>vector_storage</c>), chosen at creation; a later change (a modify) rebuilds the graph in the background.
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

    /// <summary>
    /// 8-bit codes in memory (<c>"int8"</c>): 1 byte per dimension (plus 4 per row), about a quarter of the memory of
    /// <see cref="Float32"/>. Per-dimension scalar quantization: each dimension's range is learned from the rows present
    /// when the collection's graph is built or loaded (values written later outside it are clamped until the next load or
    /// compaction re-learns it); queries stay float32 and re-rank more candidates than <see cref="Float16"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Named after the configuration value int8 it stands for.")]
    Int8 = 2,
}
