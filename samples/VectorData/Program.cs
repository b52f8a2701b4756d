// EmbeddedChroma through Microsoft.Extensions.VectorData: a typed record, registered with dependency injection and
// used only through the abstractions (VectorStoreCollection, IKeywordHybridSearchable), so the same code runs on any
// MEVD connector. The store's folder and key come from configuration: EmbeddedChroma__Path / EmbeddedChroma__ApiKey
// (environment), command-line arguments, or user secrets — never a literal.
using System.Globalization;
using EmbeddedChroma;
using EmbeddedChroma.Embeddings.MiniLM;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.VectorData;
using VectorDataSample;

var builder = Host.CreateApplicationBuilder(args);
var section = builder.Configuration.GetSection("EmbeddedChroma");

// First run without configuration: make a store in a default folder and keep its admin key in a file readable only
// by this user, beside the store (a stand-in for a secret store); later runs read it back into configuration.
if (section["Path"] is null || section["ApiKey"] is null)
{
    var folder = section["Path"] ?? Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "EmbeddedChroma", "vectordata-sample");
    var keyFile = folder.TrimEnd(Path.DirectorySeparatorChar) + ".admin-key";
    if (!ChromaStore.Exists(folder))
    {
        using (ChromaStore.Create(folder, out var adminKey))
        {
            File.WriteAllText(keyFile, adminKey);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        Console.WriteLine($"Created a store in {folder}; its admin key is in {keyFile}.");
    }

    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["EmbeddedChroma:Path"] = folder,
        ["EmbeddedChroma:ApiKey"] = section["ApiKey"] ?? File.ReadAllText(keyFile).Trim(),
    });
}

// Chroma's default embedding model (all-MiniLM-L6-v2, offline, from the EmbeddedChroma.Embeddings.MiniLM package);
// any other IEmbeddingGenerator (OpenAI, Ollama via Microsoft.Extensions.AI) registers the same way. Created by the
// container, so the container disposes it.
builder.Services.AddSingleton<IEmbeddingGenerator>(_ => new MiniLMEmbeddingGenerator());
builder.Services.AddEmbeddedChromaVectorStore(section);
builder.Services.AddChromaVectorStoreCollection<int, Movie>("movie-plots");
builder.Services.AddHealthChecks().AddEmbeddedChroma();

using var host = builder.Build();
await host.StartAsync();

var movies = host.Services.GetRequiredService<VectorStoreCollection<int, Movie>>();
await movies.EnsureCollectionExistsAsync();
await movies.UpsertAsync(
[
    new Movie { Key = 1, Title = "2001: A Space Odyssey", Year = 1968, Genres = ["sci-fi"], Plot = "astronauts and a computer on a voyage to Jupiter in deep space" },
    new Movie { Key = 2, Title = "Alien", Year = 1979, Genres = ["sci-fi", "horror"], Plot = "a crew in deep space meets a deadly creature" },
    new Movie { Key = 3, Title = "Emma", Year = 1996, Genres = ["romance"], Plot = "a young woman plays matchmaker in a country village" },
    new Movie { Key = 4, Title = "Interstellar", Year = 2014, Genres = ["sci-fi", "drama"], Plot = "astronauts travel through a wormhole in space to save humanity" },
    new Movie { Key = 5, Title = "Pride and Prejudice", Year = 2005, Genres = ["romance", "drama"], Plot = "a woman and a proud gentleman in a country estate" },
]);

Console.WriteLine("Search 'astronauts in space' (since 1970):");
await foreach (var hit in movies.SearchAsync("astronauts in space", 3, new() { Filter = m => m.Year >= 1970 }))
{
    Console.WriteLine($"  {hit.Score?.ToString("0.000", CultureInfo.InvariantCulture)}  {hit.Record.Title} ({hit.Record.Year})");
}

Console.WriteLine("Hybrid search 'a woman in the country' + keyword 'matchmaker':");
var hybrid = host.Services.GetRequiredService<IKeywordHybridSearchable<Movie>>();
await foreach (var hit in hybrid.HybridSearchAsync("a woman in the country", ["matchmaker"], 2))
{
    Console.WriteLine($"  {hit.Score?.ToString("0.0000", CultureInfo.InvariantCulture)}  {hit.Record.Title}");
}

Console.WriteLine("Dramas, newest first:");
await foreach (var movie in movies.GetAsync(m => m.Genres.Contains("drama"), 10, new() { OrderBy = o => o.Descending(m => m.Year) }))
{
    Console.WriteLine($"  {movie.Year}  {movie.Title}");
}

await host.StopAsync();
