using BenchmarkDotNet.Running;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/EmbeddedChroma.Benchmarks -- --filter *</c>, or
/// <c>-- ann …</c> / <c>-- ann-gen …</c> for the ANN recall/QPS harness (see <see cref="Ann.AnnCommand"/>).
/// </summary>
public static class Program
{
    /// <summary>Runs the ANN harness for <c>ann</c>/<c>ann-gen</c>, else the BenchmarkDotNet switcher over every suite in this assembly.</summary>
    public static int Main(string[] args)
    {
        if (Ann.AnnCommand.Handles(args))
        {
            return Ann.AnnCommand.Run(args);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
