using System.Collections.Immutable;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EmbeddedChroma.Filtering;

/// <summary>Leaf operators of <c>where_document</c>.</summary>
internal enum DocumentOperator
{
    Contains,
    NotContains,
    Regex,
    NotRegex,
}

internal static class DocumentOperators
{
    internal static string Name(this DocumentOperator op) => op switch
    {
        DocumentOperator.Contains => "$contains",
        DocumentOperator.NotContains => "$not_contains",
        DocumentOperator.Regex => "$regex",
        DocumentOperator.NotRegex => "$not_regex",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    internal static bool TryParse(string name, out DocumentOperator op)
    {
        switch (name)
        {
            case "$contains": op = DocumentOperator.Contains; return true;
            case "$not_contains": op = DocumentOperator.NotContains; return true;
            case "$regex": op = DocumentOperator.Regex; return true;
            case "$not_regex": op = DocumentOperator.NotRegex; return true;
            default: op = default; return false;
        }
    }

    internal static bool IsRegex(this DocumentOperator op) => op is DocumentOperator.Regex or DocumentOperator.NotRegex;

    internal static bool IsNegated(this DocumentOperator op) => op is DocumentOperator.NotContains or DocumentOperator.NotRegex;
}

/// <summary>A leaf of <c>where_document</c>: a substring or a regular expression, possibly negated.</summary>
internal sealed class WhereDocumentText : WhereDocument
{
    private WhereDocumentText(DocumentOperator op, string text)
    {
        Operator = op;
        Text = text;
    }

    public DocumentOperator Operator { get; }

    /// <summary>The substring or the regex pattern.</summary>
    public string Text { get; }

    internal static WhereDocumentText Create(DocumentOperator op, string? text)
    {
        if (text is null)
        {
            throw new ChromaFilterException($"Invalid where_document: operator '{op.Name()}' expects a string, got null.");
        }

        if (text.Length == 0)
        {
            throw new ChromaFilterException($"Invalid where_document: operator '{op.Name()}' expects a non-empty string.");
        }

        if (Internal.Utf16Text.Problem(text, $"Invalid where_document: the text of operator '{op.Name()}'") is { } problem)
        {
            throw new ChromaFilterException(problem + ".");
        }

        if (op.IsRegex())
        {
            try
            {
                // Parse-time validation only; the SQL function compiles its own cached instance.
                _ = new Regex(text, RegexOptions.None);
            }
            catch (ArgumentException ex)
            {
                // No inner exception: .NET's message repeats the raw pattern (keys and control characters included);
                // its explanation is kept here, through the echo helper.
                throw new ChromaFilterException(
                    $"Invalid where_document: operator '{op.Name()}' has an invalid regular expression {FilterJson.Quote(text)}: {Internal.Echo.Text(ex.Message, 512)}");
            }
        }

        return new WhereDocumentText(op, text);
    }

    public override bool Equals(WhereDocument? other) =>
        other is WhereDocumentText t && t.Operator == Operator && string.Equals(t.Text, Text, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Operator, StringComparer.Ordinal.GetHashCode(Text));

    internal override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString(Operator.Name(), Text);
        writer.WriteEndObject();
    }
}

/// <summary><c>$and</c> / <c>$or</c> over two or more <c>where_document</c> clauses.</summary>
internal sealed class WhereDocumentLogical : WhereDocument
{
    private WhereDocumentLogical(LogicalOperator op, ImmutableArray<WhereDocument> clauses)
    {
        Operator = op;
        Clauses = clauses;
        Depth = LogicalClauses.DepthOf(clauses, c => c.Depth, "where_document");
    }

    internal override int Depth { get; }

    public LogicalOperator Operator { get; }

    public ImmutableArray<WhereDocument> Clauses { get; }

    internal static WhereDocumentLogical Create(LogicalOperator op, WhereDocument[] clauses) =>
        new(op, LogicalClauses.Validate(op, clauses, "where_document", "clauses"));

    /// <summary>The operators' form: flattens same-operator chains so a &amp; b &amp; c is one node of three.</summary>
    internal static WhereDocumentLogical Combine(LogicalOperator op, WhereDocument left, WhereDocument right) =>
        new(op, LogicalClauses.Flatten(op, left, right, c => (c as WhereDocumentLogical)?.Operator, c => ((WhereDocumentLogical)c).Clauses));

    public override bool Equals(WhereDocument? other) =>
        other is WhereDocumentLogical l && l.Operator == Operator && l.Clauses.SequenceEqual(Clauses);

    public override int GetHashCode() => LogicalClauses.Hash(Operator, Clauses);

    internal override void WriteTo(Utf8JsonWriter writer) => LogicalClauses.Write(writer, Operator, Clauses, (c, w) => c.WriteTo(w));
}
