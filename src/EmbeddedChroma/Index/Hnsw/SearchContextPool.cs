namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// A small lock-free pool of <see cref="SearchContext"/>s (hnswlib <c>VisitedListPool</c>, qdrant
/// <c>visited_pool.rs</c>). Rent and return are one interlocked exchange per probed slot and allocate nothing;
/// when every pooled context is in use a fresh one is made, and a surplus one is dropped on return.
/// Thread-safe.
/// </summary>
internal sealed class SearchContextPool(int maxM0, int m)
{
    private readonly SearchContext?[] _items = new SearchContext?[(2 * Environment.ProcessorCount) + 2];

    public SearchContext Rent()
    {
        for (int i = 0; i < _items.Length; i++)
        {
            SearchContext? context = Interlocked.Exchange(ref _items[i], null);
            if (context is not null)
            {
                return context;
            }
        }

        return new SearchContext(maxM0, m);
    }

    public void Return(SearchContext context)
    {
        for (int i = 0; i < _items.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _items[i], context, null) is null)
            {
                return;
            }
        }
    }
}
