namespace EmbeddedChroma;

/// <summary>Chroma's defaults, the same for every implementation of the contract.</summary>
public static class ChromaDefaults
{
    /// <summary>The tenant used when none is named.</summary>
    public const string Tenant = "default_tenant";

    /// <summary>The database used when none is named.</summary>
    public const string Database = "default_database";

    /// <summary>Results per query when none is asked for (Chroma's <c>n_results</c> default).</summary>
    public const int NResults = 10;

    /// <summary>What <see cref="IChromaCollection.GetAsync"/> returns besides ids when the request does not say.</summary>
    public const Include GetInclude = Include.Metadatas | Include.Documents;

    /// <summary>What <see cref="IChromaCollection.QueryAsync"/> returns besides ids when the request does not say.</summary>
    public const Include QueryInclude = Include.Metadatas | Include.Documents | Include.Distances;
}
