using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EmbeddedChroma.Tests.Model;

/// <summary>One record of the reference model. Metadata values are normalized: string, long, double or bool.</summary>
internal sealed class RefRecord
{
    public required string Id { get; init; }

    public required float[] Embedding { get; set; }

    public Dictionary<string, object>? Metadata { get; set; }

    public string? Document { get; set; }

    /// <summary>Insertion position: kept by upsert/update, new for a deleted then re-added id.</summary>
    public required long Order { get; init; }
}

/// <summary>A metadata filter of the model: compiled both to a <see cref="Where"/> and to a LINQ predicate.</summary>
internal abstract record ModelWhere
{
    public abstract bool Matches(IReadOnlyDictionary<string, object>? metadata);

    public abstract Where ToWhere();

    /// <summary>Chroma JSON; <paramref name="bare"/> writes <c>$eq</c> as a bare value.</summary>
    public abstract void WriteJson(StringBuilder sb, bool bare);

    public string ToJson(bool bare)
    {
        var sb = new StringBuilder();
        WriteJson(sb, bare);
        return sb.ToString();
    }
}

internal sealed record ModelComparison(string Key, string Op, object[] Values) : ModelWhere
{
    public override bool Matches(IReadOnlyDictionary<string, object>? metadata)
    {
        object? stored = null;
        var has = metadata is not null && metadata.TryGetValue(Key, out stored);
        var v = Values[0];
        return Op switch
        {
            "$eq" => has && ScalarEquals(stored!, v),
            "$ne" => !(has && ScalarEquals(stored!, v)),
            "$gt" => has && IsNumber(stored!) && ToDouble(stored!) > ToDouble(v),
            "$gte" => has && IsNumber(stored!) && ToDouble(stored!) >= ToDouble(v),
            "$lt" => has && IsNumber(stored!) && ToDouble(stored!) < ToDouble(v),
            "$lte" => has && IsNumber(stored!) && ToDouble(stored!) <= ToDouble(v),
            "$in" => has && Values.Any(x => ScalarEquals(stored!, x)),
            "$nin" => !(has && Values.Any(x => ScalarEquals(stored!, x))),
            _ => throw new InvalidOperationException(Op),
        };
    }

    public override Where ToWhere()
    {
        var values = Values.Select(ToFilterValue).ToArray();
        return Op switch
        {
            "$eq" => Where.Eq(Key, values[0]),
            "$ne" => Where.Ne(Key, values[0]),
            "$gt" => Where.Gt(Key, values[0]),
            "$gte" => Where.Gte(Key, values[0]),
            "$lt" => Where.Lt(Key, values[0]),
            "$lte" => Where.Lte(Key, values[0]),
            "$in" => Where.In(Key, values),
            "$nin" => Where.NotIn(Key, values),
            _ => throw new InvalidOperationException(Op),
        };
    }

    public override void WriteJson(StringBuilder sb, bool bare)
    {
        sb.Append('{').Append(JsonSerializer.Serialize(Key)).Append(':');
        if (bare && Op == "$eq")
        {
            AppendValue(sb, Values[0]);
            sb.Append('}');
            return;
        }

        sb.Append("{\"").Append(Op).Append("\":");
        if (Op is "$in" or "$nin")
        {
            sb.Append('[');
            for (var i = 0; i < Values.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                AppendValue(sb, Values[i]);
            }

            sb.Append(']');
        }
        else
        {
            AppendValue(sb, Values[0]);
        }

        sb.Append("}}");
    }

    private static void AppendValue(StringBuilder sb, object v)
    {
        switch (v)
        {
            case string s: sb.Append(JsonSerializer.Serialize(s)); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                var text = d.ToString("R", CultureInfo.InvariantCulture);
                sb.Append(text).Append(text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? "" : ".0");
                break;
            default: throw new InvalidOperationException(v.GetType().Name);
        }
    }

    public static bool IsNumber(object v) => v is long or double;

    public static double ToDouble(object v) => v switch
    {
        long l => l,
        double d => d,
        _ => throw new InvalidOperationException(v.GetType().Name),
    };

    /// <summary>Chroma's $eq: strings with strings, bools with bools, numbers numerically; never across categories.</summary>
    public static bool ScalarEquals(object stored, object value) => stored switch
    {
        string s => value is string t && string.Equals(s, t, StringComparison.Ordinal),
        bool b => value is bool c && b == c,
        long or double => IsNumber(value) && ToDouble(stored) == ToDouble(value),
        _ => false,
    };

    private static FilterValue ToFilterValue(object v) => v switch
    {
        string s => FilterValue.FromString(s),
        bool b => FilterValue.FromBoolean(b),
        long l => FilterValue.FromInt64(l),
        double d => FilterValue.FromDouble(d),
        _ => throw new InvalidOperationException(v.GetType().Name),
    };

    public override string ToString() => ToJson(bare: false);
}

internal sealed record ModelLogical(bool IsAnd, ModelWhere[] Clauses) : ModelWhere
{
    public override bool Matches(IReadOnlyDictionary<string, object>? metadata) =>
        IsAnd ? Clauses.All(c => c.Matches(metadata)) : Clauses.Any(c => c.Matches(metadata));

    public override Where ToWhere()
    {
        var clauses = Clauses.Select(c => c.ToWhere()).ToArray();
        return IsAnd ? Where.And(clauses) : Where.Or(clauses);
    }

    public override void WriteJson(StringBuilder sb, bool bare)
    {
        sb.Append(IsAnd ? "{\"$and\":[" : "{\"$or\":[");
        for (var i = 0; i < Clauses.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(Clauses[i].ToJson(bare));
        }

        sb.Append("]}");
    }

    public override string ToString() => ToJson(bare: false);
}

/// <summary>A document filter of the model.</summary>
internal abstract record ModelWhereDocument
{
    public abstract bool Matches(string? document);

    public abstract WhereDocument ToWhereDocument();

    public abstract string ToJson();
}

internal sealed record ModelDocumentText(bool Negated, string Text) : ModelWhereDocument
{
    public override bool Matches(string? document)
    {
        var contains = document is not null && document.Contains(Text, StringComparison.Ordinal);
        return Negated ? !contains : contains;
    }

    public override WhereDocument ToWhereDocument() => Negated ? WhereDocument.NotContains(Text) : WhereDocument.Contains(Text);

    public override string ToJson() => $"{{\"{(Negated ? "$not_contains" : "$contains")}\":{JsonSerializer.Serialize(Text)}}}";

    public override string ToString() => ToJson();
}

internal sealed record ModelDocumentLogical(bool IsAnd, ModelWhereDocument[] Clauses) : ModelWhereDocument
{
    public override bool Matches(string? document) =>
        IsAnd ? Clauses.All(c => c.Matches(document)) : Clauses.Any(c => c.Matches(document));

    public override WhereDocument ToWhereDocument()
    {
        var clauses = Clauses.Select(c => c.ToWhereDocument()).ToArray();
        return IsAnd ? WhereDocument.And(clauses) : WhereDocument.Or(clauses);
    }

    public override string ToJson() => $"{{\"{(IsAnd ? "$and" : "$or")}\":[{string.Join(",", Clauses.Select(c => c.ToJson()))}]}}";

    public override string ToString() => ToJson();
}

/// <summary>
/// Chroma's record semantics in plain dictionaries and LINQ: add ignores existing ids; upsert inserts or
/// replaces the embedding, merges metadata and replaces the document when one is given; update does the same
/// for existing ids only; delete removes the selected records; get returns insertion order.
/// </summary>
internal sealed class ReferenceModel(DistanceSpace space)
{
    private readonly Dictionary<string, RefRecord> _records = new(StringComparer.Ordinal);
    private long _nextOrder;

    public DistanceSpace Space { get; } = space;

    public int Count => _records.Count;

    public IReadOnlyList<RefRecord> Ordered => _records.Values.OrderBy(r => r.Order).ToList();

    public bool Contains(string id) => _records.ContainsKey(id);

    public RefRecord? Find(string id) => _records.GetValueOrDefault(id);

    public void Add(IReadOnlyList<string> ids, IReadOnlyList<float[]> embeddings, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas, IReadOnlyList<string?>? documents)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (!_records.ContainsKey(ids[i]))
            {
                Insert(ids[i], embeddings[i], metadatas?[i], documents?[i]);
            }
        }
    }

    public void Upsert(IReadOnlyList<string> ids, IReadOnlyList<float[]> embeddings, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas, IReadOnlyList<string?>? documents)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (_records.TryGetValue(ids[i], out var existing))
            {
                Replace(existing, embeddings[i], metadatas?[i], documents?[i]);
            }
            else
            {
                Insert(ids[i], embeddings[i], metadatas?[i], documents?[i]);
            }
        }
    }

    public void Update(IReadOnlyList<string> ids, IReadOnlyList<float[]>? embeddings, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas, IReadOnlyList<string?>? documents)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (_records.TryGetValue(ids[i], out var existing))
            {
                Replace(existing, embeddings?[i], metadatas?[i], documents?[i]);
            }
        }
    }

    public int Delete(IReadOnlyList<string>? ids, ModelWhere? where, ModelWhereDocument? whereDocument)
    {
        var victims = Select(ids, where, whereDocument);
        foreach (var v in victims)
        {
            _records.Remove(v.Id);
        }

        return victims.Count;
    }

    /// <summary>Records matching every given selector, in insertion order.</summary>
    public List<RefRecord> Select(IReadOnlyList<string>? ids, ModelWhere? where, ModelWhereDocument? whereDocument) =>
        Ordered
            .Where(r => ids is null || ids.Contains(r.Id, StringComparer.Ordinal))
            .Where(r => where is null || where.Matches(r.Metadata))
            .Where(r => whereDocument is null || whereDocument.Matches(r.Document))
            .ToList();

    /// <summary>Chroma's distance in double precision: l2 squared, cosine 1 − cos, ip 1 − dot.</summary>
    public double Distance(float[] query, float[] embedding)
    {
        double dot = 0, qq = 0, ee = 0, l2 = 0;
        for (var i = 0; i < query.Length; i++)
        {
            double q = query[i], e = embedding[i];
            dot += q * e;
            qq += q * q;
            ee += e * e;
            l2 += (q - e) * (q - e);
        }

        return Space switch
        {
            DistanceSpace.L2 => l2,
            DistanceSpace.Cosine => 1 - (dot / (Math.Sqrt(qq) * Math.Sqrt(ee))),
            DistanceSpace.InnerProduct => 1 - dot,
            _ => throw new InvalidOperationException(Space.ToString()),
        };
    }

    private void Insert(string id, float[] embedding, IReadOnlyDictionary<string, MetadataValue?>? metadata, string? document) =>
        _records[id] = new RefRecord
        {
            Id = id,
            Embedding = (float[])embedding.Clone(),
            Metadata = Merge(null, metadata),
            Document = document,
            Order = _nextOrder++,
        };

    private static void Replace(RefRecord existing, float[]? embedding, IReadOnlyDictionary<string, MetadataValue?>? metadata, string? document)
    {
        if (embedding is not null)
        {
            existing.Embedding = (float[])embedding.Clone();
        }

        if (metadata is not null)
        {
            existing.Metadata = Merge(existing.Metadata, metadata);
        }

        if (document is not null)
        {
            existing.Document = document;
        }
    }

    /// <summary>Merges an update into metadata (null removes a key, ints widen to long); empty becomes null.</summary>
    public static Dictionary<string, object>? Merge(IReadOnlyDictionary<string, object>? existing, IReadOnlyDictionary<string, MetadataValue?>? update)
    {
        var result = existing is null ? new Dictionary<string, object>(StringComparer.Ordinal) : new Dictionary<string, object>(existing, StringComparer.Ordinal);
        if (update is not null)
        {
            foreach (var (key, value) in update)
            {
                if (value is null)
                {
                    result.Remove(key);
                }
                else
                {
                    result[key] = value.ToObject();
                }
            }
        }

        return result.Count == 0 ? null : result;
    }

    /// <summary>A canonical text form of metadata that keeps value types apart (L: long, D: double, S: string, B: bool).</summary>
    public static string Describe(IReadOnlyDictionary<string, MetadataValue>? metadata) =>
        Describe(metadata?.ToDictionary(p => p.Key, p => p.Value.ToObject(), StringComparer.Ordinal));

    public static string Describe(IReadOnlyDictionary<string, object>? metadata)
    {
        if (metadata is null)
        {
            return "null";
        }

        return "{" + string.Join(", ", metadata.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={DescribeValue(p.Value)}")) + "}";
    }

    private static string DescribeValue(object value) => value switch
    {
        string s => "S:" + s,
        long l => "L:" + l.ToString(CultureInfo.InvariantCulture),
        double d => "D:" + d.ToString("R", CultureInfo.InvariantCulture),
        bool b => "B:" + b,
        _ => value.GetType().Name + ":" + value,
    };
}
