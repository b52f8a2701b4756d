using System.Globalization;

namespace EmbeddedChroma.CrashHost;

/// <summary>
/// What the crash host writes, shared with the tests that check it: every record written by batch <c>n</c> gets
/// embedding <see cref="Embedding"/>(id, n), metadata <c>{"batch": n, "k": …}</c> and document <see cref="Document"/>(id, n),
/// so the parent recomputes a record's exact content from the id and the number of the batch that last wrote it.
/// </summary>
/// <remarks>
/// Protocol (stdout, one line each, flushed): <c>READY</c> once the store is open; before a batch runs
/// <c>BEGIN &lt;n&gt; &lt;op&gt; &lt;ids…&gt; END</c>; after it returned <c>ACK &lt;n&gt; &lt;op&gt; &lt;ids…&gt; END</c>.
/// A line without the trailing <c>END</c> was cut by the kill. Ops: add, upsert (ids may be new or existing),
/// delete, compact (<see cref="Collection.Compact"/>; no ids), reopen (close and reopen the store; no ids).
/// </remarks>
public static class CrashWorkload
{
    public const int Dimension = 16;
    public const int HnswThreshold = 300;
    public const string CollectionName = "crash";

    /// <summary>Options both the host and the checking parent open the store with.</summary>
    /// <remarks>Automatic compaction runs often here (every few hundred freed slots), so kills land in it too.</remarks>
    public static ChromaStoreOptions Options { get; } = new()
    {
        HnswThreshold = HnswThreshold,
        AutoCompactionMinDeadSlots = 200,
        AutoCompactionDeadFraction = 0.15,
    };

    /// <summary>The embedding batch <paramref name="batch"/> writes for <paramref name="id"/>: a pure function of both.</summary>
    public static float[] Embedding(string id, long batch)
    {
        ArgumentNullException.ThrowIfNull(id);
        var random = new Random(unchecked((int)Mix(StableHash(id), (ulong)batch)));
        var vector = new float[Dimension];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return vector;
    }

    public static string Document(string id, long batch) => string.Create(CultureInfo.InvariantCulture, $"doc {id} v{batch}");

    public static Dictionary<string, MetadataValue?> Metadata(string id, long batch) => new(StringComparer.Ordinal)
    {
        ["batch"] = batch,
        ["k"] = (long)(StableHash(id) % 7),
    };

    /// <summary>The generator of batch <paramref name="batch"/> under <paramref name="seed"/>.</summary>
    public static Random BatchRandom(int seed, long batch) => new(unchecked((int)Mix((ulong)seed, (ulong)batch)));

    /// <summary>FNV-1a over the UTF-16 code units (string.GetHashCode is randomized per process).</summary>
    public static ulong StableHash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    private static ulong Mix(ulong a, ulong b)
    {
        // SplitMix64 finalizer over the pair.
        var z = a + (b * 0x9E3779B97F4A7C15UL) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Parses a complete protocol line (<c>BEGIN</c>/<c>ACK</c> … <c>END</c>); null for anything else or a cut line.</summary>
    public static BatchLine? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 4 || parts[^1] != "END" || (parts[0] != "BEGIN" && parts[0] != "ACK"))
        {
            return null;
        }

        return new BatchLine(parts[0] == "ACK", long.Parse(parts[1], CultureInfo.InvariantCulture), parts[2], parts[3..^1]);
    }
}

/// <summary>One parsed protocol line.</summary>
public sealed record BatchLine(bool Acknowledged, long Batch, string Operation, IReadOnlyList<string> Ids);
