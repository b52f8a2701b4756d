using EmbeddedChroma.Filtering;

namespace EmbeddedChroma;

/// <summary>
/// An immutable metadata filter (Chroma's <c>where</c>). Build one with the factories
/// (<c>Where.Eq("year", 2001) &amp; Where.Gt("rating", 4.5)</c>) or parse Chroma's JSON with <see cref="Parse"/>.
/// </summary>
/// <remarks>
/// <para>Semantics follow ChromaDB 1.x: <c>$eq</c> compares strings with strings, bools with bools and numbers
/// numerically (<c>5</c> equals <c>5.0</c>, <c>true</c> never equals <c>1</c>); <c>$gt/$gte/$lt/$lte</c> are
/// numeric only; <c>$ne</c>, <c>$nin</c> and <c>$not_contains</c> are complements, so records without the key
/// match them; <c>$contains</c> tests whether an array value holds an element.</para>
/// <para>Instances are immutable and safe to share between threads. Equality is structural.</para>
/// </remarks>
public abstract partial class Where : IEquatable<Where>
{
    private protected Where()
    {
    }

    /// <summary><c>{key: {"$eq": value}}</c>: the key's scalar value equals <paramref name="value"/>.</summary>
    /// <exception cref="ChromaFilterException">The key is empty or starts with '$', or the value is null, NaN or infinite.</exception>
    public static Where Eq(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Eq, value);

    /// <summary><c>{key: {"$ne": value}}</c>: not <see cref="Eq"/>; records without the key match.</summary>
    /// <exception cref="ChromaFilterException">The key is empty or starts with '$', or the value is null, NaN or infinite.</exception>
    public static Where Ne(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Ne, value);

    /// <summary><c>{key: {"$gt": value}}</c>: the key's numeric value is greater than <paramref name="value"/>.</summary>
    /// <exception cref="ChromaFilterException">The key is invalid or the value is not a finite number.</exception>
    public static Where Gt(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Gt, value);

    /// <summary><c>{key: {"$gte": value}}</c>: the key's numeric value is at least <paramref name="value"/>.</summary>
    /// <exception cref="ChromaFilterException">The key is invalid or the value is not a finite number.</exception>
    public static Where Gte(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Gte, value);

    /// <summary><c>{key: {"$lt": value}}</c>: the key's numeric value is less than <paramref name="value"/>.</summary>
    /// <exception cref="ChromaFilterException">The key is invalid or the value is not a finite number.</exception>
    public static Where Lt(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Lt, value);

    /// <summary><c>{key: {"$lte": value}}</c>: the key's numeric value is at most <paramref name="value"/>.</summary>
    /// <exception cref="ChromaFilterException">The key is invalid or the value is not a finite number.</exception>
    public static Where Lte(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Lte, value);

    /// <summary><c>{key: {"$in": [values]}}</c>: the key's scalar value equals any of <paramref name="values"/>.</summary>
    /// <exception cref="ChromaFilterException">
    /// The key is invalid, the list is empty, a value is null, NaN or infinite, or the values mix types
    /// (ints and floats count as one type: numbers).
    /// </exception>
    public static Where In(string key, params FilterValue[] values) => WhereComparison.Create(key, WhereOperator.In, values);

    /// <summary><c>{key: {"$nin": [values]}}</c>: not <see cref="In"/>; records without the key match.</summary>
    /// <exception cref="ChromaFilterException">As for <see cref="In"/>.</exception>
    public static Where NotIn(string key, params FilterValue[] values) => WhereComparison.Create(key, WhereOperator.Nin, values);

    /// <summary><c>{key: {"$contains": value}}</c>: the key's array value has <paramref name="value"/> as an element.</summary>
    /// <exception cref="ChromaFilterException">The key is invalid or the value is null, NaN or infinite.</exception>
    public static Where Contains(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.Contains, value);

    /// <summary><c>{key: {"$not_contains": value}}</c>: not <see cref="Contains"/>; records without the key match.</summary>
    /// <exception cref="ChromaFilterException">The key is invalid or the value is null, NaN or infinite.</exception>
    public static Where NotContains(string key, FilterValue value) => WhereComparison.Create(key, WhereOperator.NotContains, value);

    /// <summary><c>{"$and": [clauses]}</c>: every clause holds.</summary>
    /// <exception cref="ChromaFilterException">Fewer than two clauses.</exception>
    /// <exception cref="ArgumentNullException">The array or one of its clauses is null.</exception>
    public static Where And(params Where[] clauses) => WhereLogical.Create(LogicalOperator.And, clauses);

    /// <summary><c>{"$or": [clauses]}</c>: at least one clause holds.</summary>
    /// <exception cref="ChromaFilterException">Fewer than two clauses.</exception>
    /// <exception cref="ArgumentNullException">The array or one of its clauses is null.</exception>
    public static Where Or(params Where[] clauses) => WhereLogical.Create(LogicalOperator.Or, clauses);

    /// <summary>Both filters hold; chains (<c>a &amp; b &amp; c</c>) flatten into one <c>$and</c>.</summary>
    public static Where operator &(Where left, Where right) => WhereLogical.Combine(LogicalOperator.And, left, right);

    /// <summary>Either filter holds; chains (<c>a | b | c</c>) flatten into one <c>$or</c>.</summary>
    public static Where operator |(Where left, Where right) => WhereLogical.Combine(LogicalOperator.Or, left, right);

    /// <summary>Named alternative to <c>&amp;</c>.</summary>
    public static Where BitwiseAnd(Where left, Where right) => left & right;

    /// <summary>Named alternative to <c>|</c>.</summary>
    public static Where BitwiseOr(Where left, Where right) => left | right;

    /// <summary>
    /// Parses Chroma's <c>where</c> JSON, e.g. <c>{"genre": "fiction"}</c>, <c>{"year": {"$gt": 2000}}</c>,
    /// <c>{"$and": [{...}, {...}]}</c>. A JSON number without fraction or exponent is an integer, any other a float.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="ChromaFilterException">
    /// Malformed JSON, an empty object, more than one key or operator in one object, an unknown operator, a bad
    /// operand (see the factories), or a key that is empty or starts with '$' (other than <c>$and</c>/<c>$or</c>).
    /// </exception>
    public static Where Parse(string json) => WhereParser.Parse(json);

    /// <summary>Chroma JSON for this filter; <see cref="Parse"/> reads it back to an equal filter.</summary>
    public string ToJson() => FilterJson.Write(WriteTo);

    /// <summary>Same as <see cref="ToJson"/>.</summary>
    public override string ToString() => ToJson();

    /// <inheritdoc/>
    public abstract bool Equals(Where? other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Where other && Equals(other);

    /// <inheritdoc/>
    public abstract override int GetHashCode();

    internal abstract void WriteTo(System.Text.Json.Utf8JsonWriter writer);

    /// <summary>Nesting depth of <c>$and</c>/<c>$or</c> (0 for a comparison); bounded by <see cref="LogicalClauses.MaxDepth"/>.</summary>
    internal virtual int Depth => 0;
}
