using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>
/// Where the embedding functions a collection can remember by name are found. The EmbeddedChroma.Embeddings.MiniLM
/// package registers <see cref="DefaultName"/> (all-MiniLM-L6-v2) when it is loaded; the store loads that package by
/// name when a collection asks for "default", so the core packages do not reference the model (about 90 MB).
/// </summary>
public static class EmbeddingFunctions
{
    /// <summary>Chroma's name of its default embedding function.</summary>
    public const string DefaultName = "default";

    /// <summary>The model behind <see cref="DefaultName"/>.</summary>
    public const string DefaultModel = "all-MiniLM-L6-v2";

    /// <summary>The package (and assembly) that provides <see cref="DefaultName"/>.</summary>
    public const string DefaultPackage = "EmbeddedChroma.Embeddings.MiniLM";

    private static readonly ConcurrentDictionary<string, Func<IEmbeddingGenerator<string, Embedding<float>>>> Factories = new(StringComparer.Ordinal);

    /// <summary>
    /// Registers (or replaces) the factory of a named embedding function. The factory should return a shared
    /// instance: every collection that names the function uses what it returns and never disposes it.
    /// </summary>
    public static void Register(string name, Func<IEmbeddingGenerator<string, Embedding<float>>> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        Factories[name] = factory;
    }

    /// <summary>Whether <paramref name="name"/> can be resolved here (loads the default package's assembly if present, not its model).</summary>
    public static bool IsAvailable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Factories.ContainsKey(name) || (name == DefaultName && TryLoadDefaultPackage());
    }

    /// <summary>The generator registered as <paramref name="name"/>.</summary>
    /// <exception cref="ChromaEmbeddingException">Nothing provides it here; the message names the model and the package.</exception>
    public static IEmbeddingGenerator<string, Embedding<float>> Resolve(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsAvailable(name))
        {
            throw new ChromaEmbeddingException(name == DefaultName
                ? $"The collection's embedding function is Chroma's default ({DefaultModel}), which is not available: reference the {DefaultPackage} package (or pass an embedding generator when opening the collection)."
                : $"The collection's embedding function '{Echo.Text(name)}' is not registered (EmbeddingFunctions.Register); pass an embedding generator when opening the collection.");
        }

        try
        {
            return Factories[name]();
        }
        catch (Exception ex) when (ex is not ChromaException)
        {
            throw new ChromaEmbeddingException($"The embedding function '{Echo.Text(name)}' failed to load ({ex.GetType().Name}; see the inner exception).", ex);
        }
    }

    /// <summary>
    /// The generator a collection uses when opened with <paramref name="configuration"/> and no generator of the
    /// caller's: a deferred one for a <c>known</c> function (resolved on first use, so a collection used with raw
    /// vectors never loads the model), or <see langword="null"/>.
    /// </summary>
    internal static IEmbeddingGenerator<string, Embedding<float>>? For(EmbeddingFunctionConfiguration? configuration) =>
        configuration is { Type: "known", Name: { } name } ? new DeferredEmbeddingGenerator(name) : null;

    /// <summary>
    /// What a new collection records: the configuration's explicit choice, else what the caller's generator says it is
    /// (<c>GetService(typeof(EmbeddingFunctionConfiguration))</c>, <see cref="EmbeddingFunctionConfiguration.Legacy"/>
    /// when it says nothing), else Chroma's default when its package is present, else none (raw).
    /// </summary>
    internal static EmbeddingFunctionConfiguration? ChooseForNewCollection(
        EmbeddingFunctionConfiguration? configured, IEmbeddingGenerator<string, Embedding<float>>? generator)
    {
        if (configured is not null)
        {
            return configured;
        }

        if (generator is not null)
        {
            return generator.GetService(typeof(EmbeddingFunctionConfiguration)) as EmbeddingFunctionConfiguration ?? EmbeddingFunctionConfiguration.Legacy;
        }

        return IsAvailable(DefaultName) ? EmbeddingFunctionConfiguration.Default : null;
    }

    /// <summary>Whether loading the default package was tried and failed (it is not looked for again in this process).</summary>
    private static volatile bool _defaultPackageMissing;

    private static bool TryLoadDefaultPackage()
    {
        if (_defaultPackageMissing)
        {
            return false;
        }

        try
        {
            var assembly = Assembly.Load(new AssemblyName(DefaultPackage));
            RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            _defaultPackageMissing = true;
            return false;
        }

        return Factories.ContainsKey(DefaultName);
    }

    /// <summary>Resolves a named function on first use; not disposed by collections (the factory's instance is shared).</summary>
    private sealed class DeferredEmbeddingGenerator(string name) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private IEmbeddingGenerator<string, Embedding<float>>? _inner;

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            (_inner ??= Resolve(name)).GenerateAsync(values, options, cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null)
        {
            ArgumentNullException.ThrowIfNull(serviceType);
            if (serviceKey is null && serviceType == typeof(EmbeddingFunctionConfiguration))
            {
                return new EmbeddingFunctionConfiguration("known", name);
            }

            return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : (_inner ??= Resolve(name)).GetService(serviceType, serviceKey);
        }

        public void Dispose()
        {
            // The resolved instance is shared by every collection that names the function.
        }
    }
}
