using EmbeddedChroma.Security;
using EmbeddedChroma.Engine;
using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

// The client contract (IChromaCollection): each call runs the embedded operation on the caller's thread and returns
// a completed task (the store is in-process; there is nothing to wait for). Failures arrive through the task.
public sealed partial class Collection : IChromaCollection
{
    /// <summary>Embeds documents and query texts for this handle (not persisted), or <see langword="null"/>.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator => _generator;

    /// <inheritdoc/>
    public Task<int> CountAsync(CancellationToken cancellationToken = default) => Completed.Run(Count, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The token is checked while the batch is written too: cancelled before the commit, the batch writes nothing.</remarks>
    public Task AddAsync(RecordBatch batch, CancellationToken cancellationToken = default) =>
        WriteAsync(RecordWriteMode.Add, ChromaActions.Add, batch, null, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The token is checked while the batch is written too: cancelled before the commit, the batch writes nothing.</remarks>
    public Task UpsertAsync(RecordBatch batch, CancellationToken cancellationToken = default) =>
        WriteAsync(RecordWriteMode.Upsert, ChromaActions.Upsert, batch, null, cancellationToken);

    /// <summary>
    /// <see cref="AddAsync(RecordBatch, CancellationToken)"/> reporting the records written to <paramref name="progress"/>
    /// (see <see cref="Add(RecordBatch, IProgress{ChromaProgress}?, CancellationToken)"/>; embedded collections only: the
    /// client contract has no progress).
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled before the batch committed; nothing is written (the task is cancelled).</exception>
    public Task AddAsync(RecordBatch batch, IProgress<ChromaProgress>? progress, CancellationToken cancellationToken = default) =>
        WriteAsync(RecordWriteMode.Add, ChromaActions.Add, batch, progress, cancellationToken);

    /// <summary><see cref="UpsertAsync(RecordBatch, CancellationToken)"/> reporting the records written to <paramref name="progress"/> (operation <c>"upsert"</c>).</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled before the batch committed; nothing is written (the task is cancelled).</exception>
    public Task UpsertAsync(RecordBatch batch, IProgress<ChromaProgress>? progress, CancellationToken cancellationToken = default) =>
        WriteAsync(RecordWriteMode.Upsert, ChromaActions.Upsert, batch, progress, cancellationToken);

    /// <inheritdoc/>
    public Task UpdateAsync(RecordBatch batch, CancellationToken cancellationToken = default) =>
        WriteAsync(RecordWriteMode.Update, ChromaActions.Update, batch, null, cancellationToken);

    /// <inheritdoc/>
    public Task<GetResult> GetAsync(GetRequest request, CancellationToken cancellationToken = default) =>
        Completed.Run(
            () => Get(Required(request, "get").Ids, request.Where, request.WhereDocument, request.Limit, request.Offset, request.Include ?? ChromaDefaults.GetInclude),
            cancellationToken);

    /// <inheritdoc/>
    public async Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default)
    {
        using var op = Observe(Telemetry.Ops.Query);
        try
        {
            op?.BatchSize(request?.QueryEmbeddings?.Count ?? request?.QueryTexts?.Count ?? 0);
            return await QueryAsyncCore(request!, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private async Task<QueryResult> QueryAsyncCore(QueryRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Required(request, "query");
        var embeddings = request.QueryEmbeddings;
        var texts = request.QueryTexts is not null || embeddings is null;
        if (texts)
        {
            // Texts: the key and the other arguments are checked before the generator sees them (one call counts once).
            Gate(ChromaActions.Query);
            ValidateQuery(request.NResults, request.Where, request.WhereDocument, request.Ids, request.Include ?? ChromaDefaults.QueryInclude, request.EfSearch);
            embeddings = await EmbeddingFill.QueryEmbeddingsAsync(request, _generator, State.Name, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            Recheck(ChromaActions.Query);
        }

        return QueryCore(embeddings!, request.NResults, request.Where, request.WhereDocument, request.Ids, request.Include ?? ChromaDefaults.QueryInclude, request.EfSearch, gated: texts);
    }

    /// <inheritdoc/>
    public Task DeleteAsync(DeleteRequest request, CancellationToken cancellationToken = default) =>
        Completed.Run(() => Delete(Required(request, "delete").Ids, request.Where, request.WhereDocument, request.Limit), cancellationToken);

    /// <inheritdoc/>
    public Task ModifyAsync(CollectionModification changes, CancellationToken cancellationToken = default) =>
        Completed.Run(
            () =>
            {
                Modify(Required(changes, "modify").Name, changes.Metadata, changes.Configuration);
                return 0;
            },
            cancellationToken);

    private async Task WriteAsync(RecordWriteMode mode, string action, RecordBatch batch, IProgress<ChromaProgress>? progress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = mode.ToString().ToLowerInvariant();
        Required(batch, operation);
        var generate = batch.Embeddings is null && batch.Documents is not null && (_generator is not null || mode != RecordWriteMode.Update);
        // A text write is observed here, embedding included; any other is observed by Write.
        using var op = generate ? Observe(OperationName(mode)) : null;
        try
        {
            op?.BatchSize(Telemetry.CountOf(batch.Ids));
            if (generate)
            {
                // The key and the rest of the batch are checked before the generator runs: a key that may not write, or an
                // invalid batch, never gets its texts embedded.
                Gate(action);
                ValidateRecords(mode, batch.Ids, batch.Metadatas, batch.Documents, batch.Uris);
                batch = await EmbeddingFill.CompleteAsync(batch, _generator, operation, State.Name, cancellationToken).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                Recheck(action);
            }

            Write(
                mode, action, batch.Ids, batch.Embeddings, batch.Metadatas, batch.Documents, batch.Uris, generated: generate || mode == RecordWriteMode.Update, gated: generate,
                progress: ProgressReporter.Create(operation, "records", progress, cancellationToken));
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>After embedding: the key must still be usable (revoked, disabled or expired meanwhile stops the call), counted once.</summary>
    private void Recheck(string action) => _client.Recheck(action, new ResourceRef(State.Tenant, State.Database, State.Name));

    private static T Required<T>(T? request, string operation)
        where T : class =>
        request ?? throw new ChromaValidationException($"{operation}: the request is null.");
}
