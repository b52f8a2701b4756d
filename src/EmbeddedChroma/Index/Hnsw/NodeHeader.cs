namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// The first int of a node's level-0 record. Every level-0 record is <c>[header][MaxM0 links]</c>, fixed stride,
/// in one contiguous block indexed by slot:
/// <code>
///  bit  31       30       29 … 24    23 … 16    15 … 0
///       deleted  present  reserved   level      link count at level 0 (≤ MaxM0)
/// </code>
/// An all-zero header is a slot that was never inserted. Upper-level records (<c>[count][M links]</c> per level
/// 1…level) live in a per-node array; their first int holds only the count.
/// </summary>
internal static class NodeHeader
{
    public const int CountMask = 0xFFFF;
    public const int LevelShift = 16;
    public const int LevelMask = 0xFF;
    public const int PresentBit = 1 << 30;
    public const int DeletedBit = 1 << 31;

    /// <summary>Highest level a node may get; the draw is clamped (P(level &gt; 31) is negligible for M ≥ 2).</summary>
    public const int MaxLevel = 31;

    public static int Count(int header) => header & CountMask;

    public static int Level(int header) => (header >> LevelShift) & LevelMask;

    public static bool IsPresent(int header) => (header & PresentBit) != 0;

    public static bool IsDeleted(int header) => (header & DeletedBit) != 0;

    public static int WithCount(int header, int count) => (header & ~CountMask) | count;

    public static int NewNode(int level) => PresentBit | (level << LevelShift);
}
