using BenchmarkDotNet.Running;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/EmbeddedChroma.Benchmarks -- --filter *</c>, or
/// <c>-- ann …</c> / <c>-- ann-gen …</c> for the ANN recall/QPS harness (see <see cref="Ann.AnnCommand"/>), or
/// <c>-- space …</c> for integrity-check cost and compaction (see <see cref="SpaceCommand"/>), or <c>-- minilm-stream …</c>
/// for the embedding allocation check (see <see cref="Embeddings.MiniLMStreamCommand"/>), or <c>-- wire-load …</c> for the
/// HTTP load comparison of this project's host with Chroma's own server (see <see cref="Wire.WireLoadCommand"/>), or
/// <c>-- scale …</c> / <c>-- scale-ingest …</c> for how every cost grows with the store's size (see <see cref="Scale.ScaleCommand"/>),
/// or <c>-- graph-checkpoint …</c> for what a graph checkpoint writes (see <see cref="Scale.GraphCheckpointCommand"/>), or
/// <c>-- vs-rebuild …</c> for the cost of changing a collection's vector_storage (see <see cref="Scale.StorageRebuildCommand"/>), or
/// <c>-- query-profile …</c> for where one query's time goes outside the graph walk (see <see cref="Ann.QueryProfileCommand"/>).
/// </summary>
public static class Program
{
    /// <summary>Runs the ANN harness for <c>ann</c>/<c>ann-gen</c>, else the BenchmarkDotNet switcher over every suite in this assembly.</summary>
    public static int Main(string[] args)
    {
        if (SpaceCommand.Handles(args))
        {
            return SpaceCommand.Run(args);
        }

        if (Embeddings.MiniLMStreamCommand.Handles(args))
        {
            return Embeddings.MiniLMStreamCommand.Run(args);
        }

        if (ReopenFilterCommand.Handles(args))
        {
            return ReopenFilterCommand.Run(args);
        }

        if (Wire.WireBreakdownCommand.Handles(args))
        {
            return Wire.WireBreakdownCommand.Run(args);
        }

        if (Wire.WireAddCpuCommand.Handles(args))
        {
            return Wire.WireAddCpuCommand.Run(args);
        }

        if (Wire.WireLoadCommand.Handles(args))
        {
            return Wire.WireLoadCommand.Run(args);
        }

        if (Scale.GraphGrowthCommand.Handles(args))
        {
            return Scale.GraphGrowthCommand.Run(args);
        }

        if (Scale.GraphCheckpointCommand.Handles(args))
        {
            return Scale.GraphCheckpointCommand.Run(args);
        }

        if (Scale.StorageRebuildCommand.Handles(args))
        {
            return Scale.StorageRebuildCommand.Run(args);
        }

        if (Scale.ScaleOpenCommand.Handles(args))
        {
            return Scale.ScaleOpenCommand.Run(args);
        }

        if (Scale.ScaleCommand.Handles(args))
        {
            return Scale.ScaleCommand.Run(args);
        }

        if (Ann.WalkProfileCommand.Handles(args))
        {
            return Ann.WalkProfileCommand.Run(args);
        }

        if (Ann.SketchProfileCommand.Handles(args))
        {
            return Ann.SketchProfileCommand.Run(args);
        }

        if (Ann.QueryProfileCommand.Handles(args))
        {
            return Ann.QueryProfileCommand.Run(args);
        }

        if (Ann.QuantPairedCommand.Handles(args))
        {
            return Ann.QuantPairedCommand.Run(args);
        }

        if (Ann.AnnCommand.Handles(args))
        {
            return Ann.AnnCommand.Run(args);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
