using System.Collections.Immutable;
using System.Text.Json;

namespace EmbeddedChroma.Filtering;

/// <summary>What <c>$and</c> / <c>$or</c> nodes of both filter kinds share: validation, flattening, equality, JSON.</summary>
internal static class LogicalClauses
{
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
