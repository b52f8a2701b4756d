using System.Collections.Immutable;
using System.Text.Json;

namespace EmbeddedChroma.Filtering;

/// <summary>What <c>$and</c> / <c>$or</c> nodes of both filter kinds share: validation, flattening, equality, JSON.</summary>
internal static class LogicalClauses
{
    /// <summary>
    /// Deepest nesting of <c>$and</c>/<c>$or</c> a filter may have (a comparison alone has depth 0). Deeper filters
    /// would exceed SQLite's expression depth and, far deeper, the stack of the recursive translation.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>The depth of a node over <paramref name="clauses"/>; throws when it exceeds <see cref="MaxDepth"/>.</summary>
    public static int DepthOf<T>(ImmutableArray<T> clauses, Func<T, int> depthOf, string filterName)
    {
        var depth = 0;
        foreach (var clause in clauses)
        {
            depth = Math.Max(depth, depthOf(clause));
        }

        if (depth + 1 > MaxDepth)
        {
            throw TooDeep(filterName, inner: null);
        }

        return depth + 1;
    }

    /// <summary>The one error for a filter nested past <see cref="MaxDepth"/>, from the typed builder or from JSON.</summary>
    public static ChromaFilterException TooDeep(string filterName, Exception? inner) =>
        new($"Invalid {filterName}: '$and'/'$or' nest more than {MaxDepth} levels deep; flatten the filter.", inner);

    /// <summary>At least two clauses, none null.</summary>
    public static ImmutableArray<T> Validate<T>(LogicalOperator op, T[] clauses, string filterName, string clauseNoun)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(clauses);
        if (clauses.Length < 2)
        {
            throw new ChromaFilterException(
                $"Invalid {filterName}: operator '{op.Name()}' expects an array of at least 2 {clauseNoun}, got {clauses.Length}.");
        }

        foreach (var clause in clauses)
        {
            ArgumentNullException.ThrowIfNull(clause, nameof(clauses));
        }

        return [.. clauses];
    }

    /// <summary>The operators' form: flattens same-operator chains so a &amp; b &amp; c is one node of three.</summary>
    public static ImmutableArray<T> Flatten<T>(LogicalOperator op, T left, T right, Func<T, LogicalOperator?> operatorOf, Func<T, ImmutableArray<T>> clausesOf)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        var builder = ImmutableArray.CreateBuilder<T>();
        foreach (var clause in (ReadOnlySpan<T>)[left, right])
        {
            if (operatorOf(clause) == op)
            {
                builder.AddRange(clausesOf(clause));
            }
            else
            {
                builder.Add(clause);
            }
        }

        return builder.ToImmutable();
    }

    public static int Hash<T>(LogicalOperator op, ImmutableArray<T> clauses)
    {
        var hash = new HashCode();
        hash.Add(op);
        foreach (var clause in clauses)
        {
            hash.Add(clause);
        }

        return hash.ToHashCode();
    }

    public static void Write<T>(Utf8JsonWriter writer, LogicalOperator op, ImmutableArray<T> clauses, Action<T, Utf8JsonWriter> write)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(op.Name());
        writer.WriteStartArray();
        foreach (var clause in clauses)
        {
            write(clause, writer);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
