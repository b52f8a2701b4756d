namespace EmbeddedChroma;

/// <summary>How a collection's vector file is used (see <see cref="Collection.GetSlots"/>).</summary>
/// <param name="Records">Live records.</param>
/// <param name="Allocated">Vector slots allocated: live records plus the slots deleted records left behind.</param>
public sealed record CollectionSlots(int Records, int Allocated)
{
    /// <summary>Slots of deleted records, reused by later writes and removed by <see cref="Collection.Compact()"/>: <c>Allocated − Records</c>.</summary>
    public int Dead => Allocated - Records;
}
