using System.Buffers;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Engine;

/// <summary>
/// Re-ranks the candidates a quantized collection's graph walk found (distances to the compact rows) with the float32
/// rows read from the arena file, reading only the rows that can reach the results.
/// </summary>
/// <remarks>
/// <para>Every compact row carries a bound e on ‖x − x̂‖, the distance between the float32 row x and the values x̂ its
/// compact copy stands for: stored per int8 row at write (<see cref="ByteRows.ErrorBound"/>, larger for values clamped to
/// the trained range); for float16, from round-to-nearest (each value within 2⁻¹¹ of itself, or 2⁻²⁵ below the normal
/// range). The compact distance d̂ then brackets the exact one d: |q·x − q·x̂| ≤ ‖q‖·e (cosine and ip), and
/// |‖q − x‖² − ‖q − x̂‖²| ≤ 2e·‖q − x̂‖ + e² (l2), widened by the int8 walk's 16-bit weights (at most scale/2 per code
/// unit) and a margin for float rounding.</para>
/// <para>Candidates are taken in compact order; once k exact distances are held, a candidate whose lower bound d̂ − δ
/// is above the k-th of them cannot be among the results and its row is not read. The answer is therefore exactly that
/// of re-ranking every candidate — same records, same exact distances, same order (ties by slot) — with fewer positional
/// reads (each one a system call of ~1 µs: on 59k real-text rows at k = 10, most of an int8 query's time beyond its walk).</para>
/// </remarks>
internal static class CompactRerank
{
    /// <summary>Half-precision unit roundoff: |x − half(x)| ≤ 2⁻¹¹·|x| in the normal range.</summary>
    private const double HalfRelative = 1.0 / 2048;

    /// <summary>Largest |x − half(x)| below the normal range (half the subnormal spacing 2⁻²⁴).</summary>
    private const double HalfSubnormal = 1.0 / (1 << 25);

    /// <summary>An upper bound on the norm of a row stored normalized (cosine): 1 within float rounding, with room to spare.</summary>
    private const double NormalizedNorm = 1.0001;

    /// <summary>
    /// Replaces the compact distances of <paramref name="candidates"/> by exact float32 ones where they can matter and
    /// writes the best min(k, candidates) to <paramref name="destination"/> (k = its length), by distance then slot.
    /// Returns how many; <paramref name="reads"/> is how many float32 rows were read.
    /// </summary>
    public static int Run(VectorArena arena, DistanceSpace space, ReadOnlySpan<float> query, Span<Neighbor> candidates, Span<Neighbor> destination, out int reads)
    {
        reads = 0;
        var k = Math.Min(destination.Length, candidates.Length);
        if (k == 0)
        {
            return 0;
        }

        // Compact order (stable by slot), so the likeliest results are read first and the k-th exact distance is tight early.
        candidates.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Slot.CompareTo(b.Slot));
        var bounds = Bounds.For(arena, space, query);
        var row = ArrayPool<float>.Shared.Rent(arena.Dimension);
        var scratch = ArrayPool<float>.Shared.Rent(arena.Dimension);
        try
        {
            var span = row.AsSpan(0, arena.Dimension);

            // destination[..held] holds the best exact distances so far, sorted by (distance, slot).
            var held = 0;
            foreach (var candidate in candidates)
            {
                if (held == k && bounds.LowerBound(arena, candidate, scratch) > destination[k - 1].Distance)
                {
                    continue;
                }

                arena.ReadRow(candidate.Slot, span);
                reads++;
                // The exact scan's kernels, so a re-ranked distance is the float32 distance bit for bit.
                var exact = new Neighbor(candidate.Slot, space == DistanceSpace.L2 ? L2Kernel.Distance(query, span) : DotDistanceKernel.Distance(query, span));
                if (held == k && !Before(exact, destination[k - 1]))
                {
                    continue;
                }

                var at = held == k ? k - 1 : held++;
                while (at > 0 && Before(exact, destination[at - 1]))
                {
                    destination[at] = destination[at - 1];
                    at--;
                }

                destination[at] = exact;
            }

            return held;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(row);
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    private static bool Before(Neighbor a, Neighbor b) => a.Distance < b.Distance || (a.Distance == b.Distance && a.Slot < b.Slot);

    /// <summary>The per-query parts of the bound.</summary>
    private readonly struct Bounds
    {
        private readonly DistanceSpace _space;
        private readonly double _queryNorm;

        /// <summary>Bound on |q·x̂ computed − q·x̂|: the int8 walk's 16-bit weights, plus float rounding.</summary>
        private readonly double _dotSlack;

        /// <summary>Relative float rounding of a distance (see <see cref="For"/>).</summary>
        private readonly double _rounding;

        private Bounds(DistanceSpace space, double querySquared, double dotSlack, double rounding)
        {
            _rounding = rounding;
            _space = space;
            _queryNorm = Math.Sqrt(querySquared);
            _dotSlack = dotSlack;
        }

        public static Bounds For(VectorArena arena, DistanceSpace space, ReadOnlySpan<float> query)
        {
            var dimension = arena.Dimension;
            double querySquared = VectorMath.Dot(query, query);

            // Float rounding: each distance is a float32 sum of `dimension` products, off by at most about dimension · 2⁻²⁴ of
            // the sum of their magnitudes (recursive summation; the vector kernels' tree sums do better); twice that covers
            // both the compact distance and the exact one.
            var rounding = dimension / (double)(1 << 23);
            double slack = 0;
            if (arena.Codes is { } codes)
            {
                // The walk's q·x̂ = Σ q·low + scale·Σ w16ᵢ·codeᵢ, each w16ᵢ within scale/2 of (q ⊙ step)ᵢ and codes ≤ 255
                // (the float path, without 16-bit weights, only rounds).
                var weights = ArrayPool<float>.Shared.Rent(dimension);
                try
                {
                    var span = weights.AsSpan(0, dimension);
                    System.Numerics.Tensors.TensorPrimitives.Multiply(query[..dimension], codes.Step, span);
                    double largest = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(span));
                    double scale = largest / QuantizedMath.WeightLimit;
                    double magnitudes = (System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(span) * 255.0) + Math.Abs(VectorMath.Dot(query[..dimension], codes.Low));
                    slack = (dimension * 127.5 * scale) + (rounding * magnitudes);
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(weights);
                }
            }

            return new Bounds(space, querySquared, slack, rounding);
        }

        /// <summary>A value the exact distance of <paramref name="candidate"/> cannot be below; −∞ when nothing is known.</summary>
        public float LowerBound(VectorArena arena, Neighbor candidate, float[] scratch)
        {
            if (!float.IsFinite(candidate.Distance))
            {
                return float.NegativeInfinity;
            }

            double error; // bound on ‖x − x̂‖
            double rowSquared; // ‖x̂‖²
            if (arena.Codes is { } codes)
            {
                error = codes.ErrorBound(candidate.Slot);
                rowSquared = codes.SquaredNorm(candidate.Slot);
            }
            else if (arena.Compact is { } half)
            {
                var floor = Math.Sqrt(half.Dimension) * HalfSubnormal;
                double norm;
                if (_space == DistanceSpace.Cosine)
                {
                    // Cosine rows are stored normalized (‖x‖ = 1 within a few ulps, or 0): no need to decode the row.
                    norm = NormalizedNorm;
                    rowSquared = NormalizedNorm * NormalizedNorm;
                }
                else
                {
                    var decoded = scratch.AsSpan(0, half.Dimension);
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(half.GetRow(candidate.Slot), decoded);
                    rowSquared = VectorMath.Dot(decoded, decoded);
                    norm = (Math.Sqrt(rowSquared) + floor) / (1 - HalfRelative); // ‖x‖ ≤ ‖x̂‖ + ‖x − x̂‖ ≤ ‖x̂‖ + 2⁻¹¹‖x‖ + floor
                }

                error = (HalfRelative * norm) + floor;
            }
            else
            {
                return float.NegativeInfinity;
            }

            if (!double.IsFinite(error) || !double.IsFinite(rowSquared))
            {
                return float.NegativeInfinity;
            }

            double compact = candidate.Distance;
            double rowNorm = Math.Sqrt(rowSquared) + error;
            double rounding = _rounding * (Math.Abs(compact) + 1 + ((_queryNorm + rowNorm) * (_queryNorm + rowNorm)));
            double delta = _space == DistanceSpace.L2
                ? (2 * error * Math.Sqrt(Math.Max(compact, 0) + (2 * _dotSlack))) + (error * error) + (2 * _dotSlack)
                : (_queryNorm * error) + _dotSlack;
            var lower = compact - delta - rounding;
            return double.IsFinite(lower) ? MathF.BitDecrement((float)lower) : float.NegativeInfinity;
        }
    }
}
