namespace EmbeddedChroma;

/// <summary>
/// The distance function of a collection, with ChromaDB's definitions: smaller is closer.
/// </summary>
public enum DistanceSpace
{
    /// <summary>Squared Euclidean distance, Σ(aᵢ − bᵢ)². Chroma's default (<c>"l2"</c>).</summary>
    L2 = 0,

    /// <summary>Cosine distance, 1 − a·b / (‖a‖‖b‖) (<c>"cosine"</c>). Vectors are stored normalized.</summary>
    Cosine = 1,

    /// <summary>Inner-product distance, 1 − a·b (<c>"ip"</c>).</summary>
    InnerProduct = 2,
}
