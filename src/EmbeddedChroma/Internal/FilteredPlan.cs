namespace EmbeddedChroma.Internal;

/// <summary>
/// How a filtered query on a collection with a graph is answered (<see cref="StoreLimits.FilteredPlan"/>): chosen
/// per call by the planner's cost model (<see cref="Auto"/>, the default), or forced (benchmarks and tests).
/// </summary>
internal enum FilteredPlan
{
    /// <summary>The planner compares the estimated costs of the exact scan, the sketch scan and the graph walk.</summary>
    Auto,

    /// <summary>Always an exact scan of the allowed records.</summary>
    Exact,

    /// <summary>Always the graph walk through every node, returning only allowed ones, at <c>QueryPlanner.WalkEf</c> (what the planner takes when at least half the records are allowed).</summary>
    Walk,

    /// <summary>Always the two-hop walk over allowed nodes (<c>HnswIndex.SearchFiltered</c>).</summary>
    TwoHop,

    /// <summary>Always the sketch scan of the allowed records, the best re-ranked exactly (<c>SignSketch</c>).</summary>
    Sketch,

    /// <summary>
    /// Always the graph walk of <see cref="Walk"/>, steered through disallowed nodes by their sign-sketch estimates
    /// (<c>HnswIndex.SearchSketched</c>; the sketch built at once if needed), unchecked; a float32 collection of at least
    /// <c>QueryPlanner.SketchMinimumDimension</c> dimensions, else the plain walk.
    /// </summary>
    SketchWalk,
}
