using Microsoft.Extensions.VectorData;

namespace VectorDataSample;

/// <summary>A movie: the key is the Chroma id, the plot the Chroma document (full-text indexed), the rest metadata.</summary>
public sealed class Movie
{
    public const int Dimensions = 384;   // all-MiniLM-L6-v2

    [VectorStoreKey]
    public int Key { get; set; }

    [VectorStoreData(IsIndexed = true)]
    public string Title { get; set; } = "";

    [VectorStoreData(IsIndexed = true)]
    public int Year { get; set; }

    [VectorStoreData(IsIndexed = true)]
    public string[] Genres { get; set; } = [];

    [VectorStoreData(IsFullTextIndexed = true)]
    public string Plot { get; set; } = "";

    /// <summary>Embedded from the plot by the registered generator.</summary>
    [VectorStoreVector(Dimensions, DistanceFunction = DistanceFunction.CosineSimilarity)]
    public string Embedding => Plot;
}
