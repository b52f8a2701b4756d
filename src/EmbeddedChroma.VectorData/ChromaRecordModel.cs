using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace EmbeddedChroma.VectorData;

/// <summary>
/// The Chroma shape of a record model: which property is the document, which distance space the vector needs, and
/// how scores are converted. Checked once, when the collection object is made.
/// </summary>
internal sealed class ChromaRecordModel
{
    /// <summary>The distance function used when the vector property names none.</summary>
    internal const string DefaultDistanceFunction = DistanceFunction.CosineSimilarity;

    public ChromaRecordModel(CollectionModel model, string collectionName)
    {
        Model = model;
        Vector = model.VectorProperty;
        DistanceFunctionName = Vector.DistanceFunction ?? DefaultDistanceFunction;
        Space = SpaceOf(DistanceFunctionName, Vector.ModelName);

        if (Vector.IndexKind is { } kind && kind != IndexKind.Hnsw)
        {
            throw new NotSupportedException(
                $"Vector property '{Vector.ModelName}' of collection '{collectionName}' asks for index kind '{kind}'; Chroma indexes with HNSW only (leave IndexKind unset or use Hnsw).");
        }

        var fullText = model.DataProperties.Where(p => p.IsFullTextIndexed).ToList();
        if (fullText.Count > 1)
        {
            throw new NotSupportedException(
                $"Collection '{collectionName}': {fullText.Count} data properties are full-text indexed ({string.Join(", ", fullText.Select(p => p.ModelName))}); a Chroma record has one document, so mark only one.");
        }

        if (fullText.Count == 1)
        {
            if (fullText[0].Type != typeof(string))
            {
                throw new NotSupportedException(
                    $"Data property '{fullText[0].ModelName}' is full-text indexed but has type '{fullText[0].Type.Name}'; the full-text property becomes the record's Chroma document and must be a string.");
            }

            Document = fullText[0];
        }

        Metadata = model.DataProperties.Where(p => !ReferenceEquals(p, Document)).ToList();
    }

    public CollectionModel Model { get; }

    public VectorPropertyModel Vector { get; }

    /// <summary>The full-text-indexed string property stored as the Chroma document, or <see langword="null"/>.</summary>
    public DataPropertyModel? Document { get; }

    /// <summary>The data properties stored as metadata (all but <see cref="Document"/>).</summary>
    public IReadOnlyList<DataPropertyModel> Metadata { get; }

    public string DistanceFunctionName { get; }

    public DistanceSpace Space { get; }

    /// <summary>Whether a higher score is a closer match.</summary>
    public bool HigherIsCloser => DistanceFunctionName is DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;

    /// <summary>Chroma's space for an MEVD distance function.</summary>
    internal static DistanceSpace SpaceOf(string distanceFunction, string property) => distanceFunction switch
    {
        DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance => DistanceSpace.Cosine,
        DistanceFunction.DotProductSimilarity or DistanceFunction.NegativeDotProductSimilarity => DistanceSpace.InnerProduct,
        DistanceFunction.EuclideanDistance or DistanceFunction.EuclideanSquaredDistance => DistanceSpace.L2,
        _ => throw new NotSupportedException(
            $"Distance function '{distanceFunction}' of vector property '{property}' is not supported; use CosineSimilarity, CosineDistance, DotProductSimilarity, NegativeDotProductSimilarity, EuclideanDistance or EuclideanSquaredDistance."),
    };

    /// <summary>
    /// MEVD's score from Chroma's distance: cosine distance is 1 − cos, ip distance is 1 − a·b and l2 is the squared
    /// Euclidean distance.
    /// </summary>
    public double ScoreOf(float distance) => DistanceFunctionName switch
    {
        DistanceFunction.CosineSimilarity => 1d - distance,
        DistanceFunction.CosineDistance => distance,
        DistanceFunction.DotProductSimilarity => 1d - distance,
        DistanceFunction.NegativeDotProductSimilarity => distance - 1d,
        DistanceFunction.EuclideanDistance => Math.Sqrt(Math.Max(0d, distance)),
        _ => distance, // EuclideanSquaredDistance
    };

    /// <summary>Whether <paramref name="score"/> passes <paramref name="threshold"/> (at least it for similarities, at most for distances).</summary>
    public bool Passes(double score, double? threshold) =>
        threshold is not { } t || (HigherIsCloser ? score >= t : score <= t);
}
