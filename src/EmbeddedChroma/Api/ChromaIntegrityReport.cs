using EmbeddedChroma.Engine;

namespace EmbeddedChroma;

/// <summary>
/// What <see cref="ChromaClient.VerifyIntegrity()"/> checked and what it repaired. Damage in SQLite's records is never
/// in a report (it is a <see cref="ChromaCorruptStoreException"/>); the data derived from the records (vector arenas,
/// HNSW graphs, filter indexes and rows, the document index) is compared with them, and what differed was rebuilt from
/// them before the call returned: <see cref="Repaired"/> says whether anything was.
/// </summary>
public sealed class ChromaIntegrityReport
{
    internal ChromaIntegrityReport(long recordsChecked, IReadOnlyList<ChromaCollectionIntegrity> collections, ChromaDerivedCheck documentIndex)
    {
        RecordsChecked = recordsChecked;
        Collections = collections;
        DocumentIndex = documentIndex;
    }

    /// <summary>Records whose id, embedding, metadata, document and uri were checked against their checksums (all of the store's).</summary>
    public long RecordsChecked { get; }

    /// <summary>Every collection of every tenant and database, oldest first, with its derived data's checks.</summary>
    public IReadOnlyList<ChromaCollectionIntegrity> Collections { get; }

    /// <summary>The store's full-text document index (one for every collection): checked, or repaired.</summary>
    public ChromaDerivedCheck DocumentIndex { get; }

    /// <summary>Every check of derived data: the document index, then each collection's.</summary>
    public IEnumerable<ChromaDerivedCheck> Checks => Collections.SelectMany(c => c.Checks).Prepend(DocumentIndex);

    /// <summary>True when some derived data differed from the records and was rebuilt (the store is sound now).</summary>
    public bool Repaired => Checks.Any(c => c.State == ChromaDerivedState.Repaired);

    /// <summary>
    /// True when a saved file in the store folder (a filter index) is damaged and was left as it is because the store was
    /// opened read-only. Answers are right (opens do not use such a file: they build the index from the records); open the
    /// store writable and verify again to replace it. A read-only open keeps its arenas and graphs in a private scratch
    /// folder, so those are repaired there.
    /// </summary>
    public bool Damaged => Checks.Any(c => c.State == ChromaDerivedState.Damaged);

    /// <summary>One line per collection and kind of derived data, for logs.</summary>
    public override string ToString() =>
        $"{RecordsChecked} records checked, {Collections.Count} collections" + (Repaired ? ", repaired" : string.Empty) + (Damaged ? ", damaged" : string.Empty);

    internal static ChromaIntegrityReport From(long records, FilterDataFindings filterData, List<(CollectionEngine Collection, int Records, List<DerivedFinding> Findings)> derived)
    {
        var documents = filterData.DocumentIndexRebuilt
            ? new ChromaDerivedCheck(ChromaDerivedKind.DocumentIndex, ChromaDerivedState.Repaired, "differed from the documents: rebuilt from the records")
            : filterData.DocumentsChecked
                ? new ChromaDerivedCheck(ChromaDerivedKind.DocumentIndex, ChromaDerivedState.Checked, "matches the documents")
                : new ChromaDerivedCheck(ChromaDerivedKind.DocumentIndex, ChromaDerivedState.Absent, "no collection");
        var collections = new List<ChromaCollectionIntegrity>(derived.Count);
        foreach (var (collection, count, findings) in derived)
        {
            var checks = findings.Select(f => new ChromaDerivedCheck((ChromaDerivedKind)f.Kind, (ChromaDerivedState)f.Outcome, f.Detail)).ToList();
            var rows = filterData.RowsRebuilt.GetValueOrDefault(collection.Id);
            checks.Add(filterData.RowsNotKept.Contains(collection.Id)
                ? new ChromaDerivedCheck(ChromaDerivedKind.FilterRows, ChromaDerivedState.Absent, "not kept: 'where' is answered by the in-memory filter index (derived from the records); the rows are derived from the records when a read must filter in SQL")
                : rows > 0
                ? new ChromaDerivedCheck(ChromaDerivedKind.FilterRows, ChromaDerivedState.Repaired, $"the filter rows of {rows} record(s) differed from their metadata: rebuilt from the records")
                : filterData.IndexesRebuilt is { } indexes
                    ? new ChromaDerivedCheck(ChromaDerivedKind.FilterRows, ChromaDerivedState.Repaired, $"SQLite found their indexes damaged ({indexes}): rebuilt")
                    : new ChromaDerivedCheck(ChromaDerivedKind.FilterRows, ChromaDerivedState.Checked, "match the records' metadata"));
            var state = collection.State;
            collections.Add(new ChromaCollectionIntegrity(state.Tenant, state.Database, state.Name, state.Uuid, count, checks));
        }

        return new ChromaIntegrityReport(records, collections, documents);
    }
}

/// <summary>One collection's part of a <see cref="ChromaIntegrityReport"/>.</summary>
/// <param name="Tenant">The collection's tenant.</param>
/// <param name="Database">The collection's database.</param>
/// <param name="Name">The collection's name.</param>
/// <param name="Id">The collection's id (its derived files are named after it).</param>
/// <param name="Records">Its records.</param>
/// <param name="Checks">One check per kind of derived data: vector arena, HNSW graph, filter index, filter rows.</param>
public sealed record ChromaCollectionIntegrity(string Tenant, string Database, string Name, Guid Id, int Records, IReadOnlyList<ChromaDerivedCheck> Checks);

/// <summary>The check of one kind of derived data.</summary>
/// <param name="Kind">What was checked.</param>
/// <param name="State">What the check found.</param>
/// <param name="Detail">What was compared, or why it is absent; for a repair, what differed and what was done.</param>
public sealed record ChromaDerivedCheck(ChromaDerivedKind Kind, ChromaDerivedState State, string Detail);

/// <summary>The kinds of data a store derives from its records (rebuilt from them whenever they differ).</summary>
public enum ChromaDerivedKind
{
    /// <summary>The vector arena (<c>vectors/&lt;id&gt;.vec</c>): its rows against the records' embeddings, its header, owner stamp and rows checksum.</summary>
    VectorArena = 0,

    /// <summary>The HNSW graph in memory (structure, nodes against the records) and its saved file (<c>vectors/&lt;id&gt;.hnsw</c>: checksums, owner).</summary>
    HnswGraph = 1,

    /// <summary>The metadata filter index in memory and its saved file (<c>vectors/&lt;id&gt;.flt</c>), against one built from the records.</summary>
    FilterIndex = 2,

    /// <summary>The filter rows in SQLite (<c>record_meta</c>) against the records' metadata.</summary>
    FilterRows = 3,

    /// <summary>The store's full-text index of documents (FTS5) against the documents.</summary>
    DocumentIndex = 4,
}

/// <summary>What the check of one kind of derived data found.</summary>
public enum ChromaDerivedState
{
    /// <summary>It equals what the records derive.</summary>
    Checked = 0,

    /// <summary>It differed from the records (or its file was damaged) and was rebuilt from them.</summary>
    Repaired = 1,

    /// <summary>There is none, legitimately (see the detail: no embeddings yet, below the graph threshold, disabled …).</summary>
    Absent = 2,

    /// <summary>Its saved file is damaged and was left as it is: the store was opened read-only (see <see cref="ChromaIntegrityReport.Damaged"/>). Open it writable and verify again.</summary>
    Damaged = 3,
}
