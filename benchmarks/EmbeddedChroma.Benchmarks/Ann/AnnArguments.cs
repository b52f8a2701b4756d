using System.Globalization;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary><c>--name value</c> pairs after the verb; every name must be consumed.</summary>
internal sealed class AnnArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public AnnArguments(IReadOnlyList<string> args)
    {
        for (int i = 1; i < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                throw new ArgumentException($"Expected '--name value' pairs; got '{args[i]}'.");
            }

            _values[args[i][2..]] = args[i + 1];
        }
    }

    public string String(string name, string? fallback = null) =>
        _values.Remove(name, out string? value) ? value : fallback ?? throw new ArgumentException($"--{name} is required.");

    public int Int(string name, int? fallback = null) =>
        _values.Remove(name, out string? value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback ?? throw new ArgumentException($"--{name} is required.");

    public double Double(string name, double? fallback = null) =>
        _values.Remove(name, out string? value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback ?? throw new ArgumentException($"--{name} is required.");

    public int[] IntList(string name, string fallback) =>
        String(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    public void ThrowIfUnused()
    {
        if (_values.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", _values.Keys.Select(k => "--" + k))}.");
        }
    }
}
