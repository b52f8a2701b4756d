using System.Text.Json;
using EmbeddedChroma.Filtering;

namespace EmbeddedChroma;

/// <summary>
/// An immutable document filter (Chroma's <c>where_document</c>). Build one with the factories
/// (<c>WhereDocument.Contains("rust") &amp; WhereDocument.NotRegex("^draft")</c>) or parse Chroma's JSON with
/// <see cref="Parse"/>.
/// </summary>
/// <remarks>
/// <para><c>$contains</c> is a case-sensitive substring test. <c>$regex</c> uses .NET regular expressions
/// (<see cref="System.Text.RegularExpressions.RegexOptions.None"/>); Chroma uses Rust's regex crate, whose syntax
/// is close but not identical (.NET additionally allows backreferences and lookaround). A record without a
/// document never matches <c>$contains</c> or <c>$regex</c> and always matches <c>$not_contains</c> and
/// <c>$not_regex</c> (they are complements).</para>
/// <para>Instances are immutable and safe to share between threads. Equality is structural.</para>
/// </remarks>
public abstract class WhereDocument : IEquatable<WhereDocument>
{
    private protected WhereDocument()
    {
    }

    /// <summary><c>{"$contains": text}</c>: the document contains <paramref name="text"/> (case-sensitive).</summary>
    /// <exception cref="ChromaFilterException"><paramref name="text"/> is null or empty.</exception>
    public static WhereDocument Contains(string text) => WhereDocumentText.Create(DocumentOperator.Contains, text);

    /// <summary><c>{"$not_contains": text}</c>: not <see cref="Contains"/>; records without a document match.</summary>
    /// <exception cref="ChromaFilterException"><paramref name="text"/> is null or empty.</exception>
    public static WhereDocument NotContains(string text) => WhereDocumentText.Create(DocumentOperator.NotContains, text);

    /// <summary><c>{"$regex": pattern}</c>: the document has a match of <paramref name="pattern"/>.</summary>
    /// <exception cref="ChromaFilterException"><paramref name="pattern"/> is null, empty or not a valid regular expression.</exception>
    public static WhereDocument Regex(string pattern) => WhereDocumentText.Create(DocumentOperator.Regex, pattern);

    /// <summary><c>{"$not_regex": pattern}</c>: not <see cref="Regex"/>; records without a document match.</summary>
    /// <exception cref="ChromaFilterException"><paramref name="pattern"/> is null, empty or not a valid regular expression.</exception>
    public static WhereDocument NotRegex(string pattern) => WhereDocumentText.Create(DocumentOperator.NotRegex, pattern);

    /// <summary><c>{"$and": [clauses]}</c>: every clause holds.</summary>
    /// <exception cref="ChromaFilterException">Fewer than two clauses.</exception>
    /// <exception cref="ArgumentNullException">The array or one of its clauses is null.</exception>
    public static WhereDocument And(params WhereDocument[] clauses) => WhereDocumentLogical.Create(LogicalOperator.And, clauses);

    /// <summary><c>{"$or": [clauses]}</c>: at least one clause holds.</summary>
    /// <exception cref="ChromaFilterException">Fewer than two clauses.</exception>
    /// <exception cref="ArgumentNullException">The array or one of its clauses is null.</exception>
    public static WhereDocument Or(params WhereDocument[] clauses) => WhereDocumentLogical.Create(LogicalOperator.Or, clauses);

    /// <summary>Both filters hold; chains flatten into one <c>$and</c>.</summary>
    public static WhereDocument operator &(WhereDocument left, WhereDocument right) =>
        WhereDocumentLogical.Combine(LogicalOperator.And, left, right);

    /// <summary>Either filter holds; chains flatten into one <c>$or</c>.</summary>
    public static WhereDocument operator |(WhereDocument left, WhereDocument right) =>
        WhereDocumentLogical.Combine(LogicalOperator.Or, left, right);

    /// <summary>Named alternative to <c>&amp;</c>.</summary>
    public static WhereDocument BitwiseAnd(WhereDocument left, WhereDocument right) => left & right;

    /// <summary>Named alternative to <c>|</c>.</summary>
    public static WhereDocument BitwiseOr(WhereDocument left, WhereDocument right) => left | right;

    /// <summary>
    /// Parses Chroma's <c>where_document</c> JSON, e.g. <c>{"$contains": "foo"}</c> or
    /// <c>{"$and": [{"$contains": "a"}, {"$not_contains": "b"}]}</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="ChromaFilterException">
    /// Malformed JSON, an empty object, more than one operator in one object, an unknown operator, an operand that
    /// is not a non-empty string, an invalid regular expression, or <c>$and</c>/<c>$or</c> without an array of at
    /// least two clauses.
    /// </exception>
    public static WhereDocument Parse(string json) => WhereDocumentParser.Parse(json);

    /// <summary>Chroma JSON for this filter; <see cref="Parse"/> reads it back to an equal filter.</summary>
    public string ToJson() => FilterJson.Write(WriteTo);

    /// <summary>Same as <see cref="ToJson"/>.</summary>
    public override string ToString() => ToJson();

    /// <inheritdoc/>
    public abstract bool Equals(WhereDocument? other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is WhereDocument other && Equals(other);

    /// <inheritdoc/>
    public abstract override int GetHashCode();

    /// <summary>Nesting depth of <c>$and</c>/<c>$or</c> (0 for a text operator); bounded by <see cref="LogicalClauses.MaxDepth"/>.</summary>
    internal virtual int Depth => 0;

    internal abstract void WriteTo(Utf8JsonWriter writer);
}
