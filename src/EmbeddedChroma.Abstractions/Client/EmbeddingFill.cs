using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>
/// Turns texts into embeddings with a collection's generator, for every implementation of the contract (Chroma's
/// clients embed on the client side too, so the embedded store and a remote client share this one piece).
/// </summary>
internal static class EmbeddingFill
{
    /// <summary>
    /// The batch with <see cref="RecordBatch.Embeddings"/> filled from its documents when they are missing, or the
    /// batch itself when it has embeddings (or is an update without documents).
    /// </summary>
    public static async ValueTask<RecordBatch> CompleteAsync(
        RecordBatch batch, IEmbeddingGenerator<string, Embedding<float>>? generator, string operation, string collection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Embeddings is not null || batch.Ids is null)
        {
            return batch;
        }

        if (batch.Documents is null)
        {
            // Add/upsert without either is refused by the implementation's own validation; update may change metadata only.
            return batch;
        }

        if (generator is null)
        {
            if (operation == "update")
            {
                return batch;
            }

            throw new ChromaValidationException($"{operation}: no embeddings were given and collection '{Echo.Text(collection)}' has no embedding generator to embed the documents.");
        }

        if (batch.Documents.Count != batch.Ids.Count)
        {
            throw new ChromaValidationException($"{operation}: documents has {batch.Documents.Count} entries for {batch.Ids.Count} ids.");
        }

        var texts = new string[batch.Documents.Count];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = batch.Documents[i] ?? throw new ChromaValidationException($"{operation}: documents[{i}] is null, so no embedding can be generated for it.");
        }

        return batch with { Embeddings = await EmbedAsync(generator, texts, operation, cancellationToken).ConfigureAwait(false) };
    }

    /// <summary>
    /// The query embeddings of <paramref name="request"/>: its <see cref="QueryRequest.QueryEmbeddings"/>, or its
    /// <see cref="QueryRequest.QueryTexts"/> embedded by <paramref name="generator"/>. Call it after the key check.
    /// </summary>
    /// <exception cref="ChromaValidationException">Both or neither are given, texts without a generator, or a null text.</exception>
    /// <exception cref="ChromaEmbeddingException">The generator failed.</exception>
    public static async ValueTask<IReadOnlyList<float[]>> QueryEmbeddingsAsync(
        QueryRequest request, IEmbeddingGenerator<string, Embedding<float>>? generator, string collection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.QueryTexts is null)
        {
            return request.QueryEmbeddings ?? throw new ChromaValidationException("query: query_embeddings (or query_texts) must be a non-empty list.");
        }

        if (request.QueryEmbeddings is not null)
        {
            throw new ChromaValidationException("query: give query_embeddings or query_texts, not both.");
        }

        if (generator is null)
        {
            throw new ChromaValidationException($"query: collection '{Echo.Text(collection)}' has no embedding generator, so it cannot query by texts.");
        }

        if (request.QueryTexts.Count == 0 || request.QueryTexts.Any(t => t is null))
        {
            throw new ChromaValidationException("query: query_texts must be a non-empty list of strings.");
        }

        return await EmbedAsync(generator, request.QueryTexts, "query", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One embedding per text, in order.</summary>
    /// <exception cref="ChromaEmbeddingException">The generator failed or returned another number of embeddings.</exception>
    public static async ValueTask<float[][]> EmbedAsync(
        IEmbeddingGenerator<string, Embedding<float>> generator, IReadOnlyList<string> texts, string operation, CancellationToken cancellationToken)
    {
        GeneratedEmbeddings<Embedding<float>> generated;
        try
        {
            generated = await generator.GenerateAsync(texts, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (ChromaException)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new ChromaEmbeddingException($"{operation}: the embedding generator failed on {texts.Count} texts ({ex.GetType().Name}; see the inner exception).", ex);
        }

        if (generated is null || generated.Count != texts.Count)
        {
            throw new ChromaEmbeddingException($"{operation}: the embedding generator returned {generated?.Count ?? 0} embeddings for {texts.Count} texts.");
        }

        var vectors = new float[generated.Count][];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = generated[i].Vector.ToArray();
        }

        return vectors;
    }
}
