namespace EmbeddedChroma.Server;

/// <summary>Options of <see cref="ChromaEndpoints.MapChroma"/>.</summary>
public sealed record ChromaServerOptions
{
    /// <summary>Default of <see cref="MaxRequestBodyBytes"/>: 32 MiB (a batch of 5,461 records of 1,536 floats sent as base64 is about 45 MB in JSON numbers, 11 MB in base64).</summary>
    public const long DefaultMaxRequestBodyBytes = 32L * 1024 * 1024;

    /// <summary>The largest request body accepted, in bytes; a larger one is answered 413 before it is read.</summary>
    public long MaxRequestBodyBytes { get; init; } = DefaultMaxRequestBodyBytes;

    /// <summary>
    /// The batch size pre-flight-checks announces (Chroma's clients split larger batches to it); <see langword="null"/>
    /// for the store's own <see cref="ChromaStoreOptions.MaxBatchSize"/>.
    /// </summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>The version <c>/api/v2/version</c> answers (Chroma's server answers <c>1.0.0</c>; clients compare it).</summary>
    public string Version { get; init; } = "1.0.0";

    /// <summary>The route prefix (default <c>/api/v2</c>, Chroma's).</summary>
    public string Prefix { get; init; } = "/api/v2";

    /// <summary>
    /// When <see langword="true"/>, every successful answer carries a <c>Server-Timing</c> header (W3C) with the time
    /// spent in each stage of the request, in milliseconds: <c>auth</c> (the key check), <c>body</c> (reading and parsing
    /// the request body), <c>parse</c> (reading its fields into the store's types), <c>lookup</c> (finding the collection),
    /// <c>store</c> (the store's call) and <c>total</c> (from the start of the request until the answer starts to be
    /// written); a stage the route does not have is left out. For measuring where a request's time goes; off by default.
    /// </summary>
    public bool ServerTiming { get; init; }
}
