namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// The crash tests run child processes that keep both cores of a CI machine busy: they run alone, after the
/// parallel tests, so neither side's timing-sensitive checks (graph recall, kill moments) feel the other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CrashTestGroup
{
    public const string Name = "Crash tests (not parallel)";
}
