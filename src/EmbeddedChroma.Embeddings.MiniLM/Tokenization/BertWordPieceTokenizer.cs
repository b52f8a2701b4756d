using System.Buffers;
using System.Text;

namespace EmbeddedChroma.Embeddings.MiniLM.Tokenization;

/// <summary>
/// BERT's uncased tokenizer as HuggingFace <c>tokenizers</c> runs it for all-MiniLM-L6-v2: the BertNormalizer (clean
/// text, CJK spacing, NFD + non-spacing-mark stripping, lower-casing), the BertPreTokenizer (split on whitespace,
/// isolate punctuation = ASCII symbols 33-47, 58-64, 91-96, 123-126 and every Unicode P* character), then WordPiece
/// (greedy longest match first, "##" continuations, words over 100 characters and unmatched words become [UNK]),
/// and the BERT post-processor ([CLS] … [SEP]), truncated to a token budget.
/// </summary>
/// <remarks>
/// The pipeline streams: each character is normalised and pre-tokenised as it is read and each finished word goes
/// straight through WordPiece, so a long text stops being read once the budget is spent and nothing is allocated.
/// Instances are immutable and thread-safe; the per-call scratch lives on the stack.
/// </remarks>
internal sealed class BertWordPieceTokenizer
{
    /// <summary>Longest word WordPiece looks at, in code points (HuggingFace's max_input_chars_per_word).</summary>
    public const int MaxInputCharsPerWord = 100;

    private const int WordBufferLength = MaxInputCharsPerWord * 2 + 8;

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _starts;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuations;
    private readonly int _longestPiece;
    private readonly string[] _tokens;
    private readonly (string Token, int Id)[] _specials;

    public BertWordPieceTokenizer(IReadOnlyList<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var starts = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        var continuations = new Dictionary<string, int>(vocabulary.Count / 4, StringComparer.Ordinal);
        _tokens = new string[vocabulary.Count];
        for (int id = 0; id < vocabulary.Count; id++)
        {
            string token = vocabulary[id];
            _tokens[id] = token;
            if (token.StartsWith("##", StringComparison.Ordinal))
            {
                continuations[token[2..]] = id;
                _longestPiece = Math.Max(_longestPiece, token.Length - 2);
            }

            // A "##x" entry is also a literal word-start token "##x" (HuggingFace looks the prefixed string up).
            starts[token] = id;
            _longestPiece = Math.Max(_longestPiece, token.Length);
        }

        _starts = starts.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuations = continuations.GetAlternateLookup<ReadOnlySpan<char>>();
        PadId = Id(starts, "[PAD]");
        UnknownId = Id(starts, "[UNK]");
        ClsId = Id(starts, "[CLS]");
        SepId = Id(starts, "[SEP]");
        _specials = [("[PAD]", PadId), ("[UNK]", UnknownId), ("[CLS]", ClsId), ("[SEP]", SepId), ("[MASK]", Id(starts, "[MASK]"))];
    }

    /// <summary>The id of [PAD].</summary>
    public int PadId { get; }

    /// <summary>The id of [UNK].</summary>
    public int UnknownId { get; }

    /// <summary>The id of [CLS].</summary>
    public int ClsId { get; }

    /// <summary>The id of [SEP].</summary>
    public int SepId { get; }

    /// <summary>Number of entries in the vocabulary.</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>The vocabulary entry of an id.</summary>
    public string TokenOf(int id) => _tokens[id];

    /// <summary>
    /// Tokenises <paramref name="text"/> into <paramref name="ids"/> as [CLS] pieces… [SEP], keeping at most
    /// <paramref name="ids"/>.Length ids in all (at least 2). Returns the number of ids written;
    /// <paramref name="truncated"/> tells whether pieces were dropped to fit.
    /// </summary>
    public int Encode(ReadOnlySpan<char> text, Span<int> ids, out bool truncated)
    {
        if (ids.Length < 2)
        {
            throw new ArgumentException("Room for at least [CLS] and [SEP] is needed.", nameof(ids));
        }

        var state = new EncodeState(ids[1..^1]);
        Span<char> word = stackalloc char[WordBufferLength];
        Span<Rune> stripped = stackalloc Rune[4];
        Span<Rune> lowered = stackalloc Rune[4];
        int wordLength = 0, wordRunes = 0;

        while (!text.IsEmpty && !state.Full)
        {
            // Added tokens ([PAD] [UNK] [CLS] [SEP] [MASK], not normalised) are matched in the raw text first.
            if (text[0] == '[' && MatchSpecial(text, out int specialId, out int specialLength))
            {
                Flush(ref state, word, ref wordLength, ref wordRunes);
                state.Add(specialId);
                text = text[specialLength..];
                continue;
            }

            if (Rune.DecodeFromUtf16(text, out Rune rune, out int consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar; // an unpaired surrogate reaches Rust as U+FFFD, which clean_text drops
            }

            text = text[consumed..];
            int cp = rune.Value;

            // BertNormalizer.clean_text: drop NUL, U+FFFD and controls, map whitespace to ' ' (a word boundary).
            if (UnicodeTables.IsControl(cp))
            {
                continue;
            }

            if (UnicodeTables.IsWhitespace(cp))
            {
                Flush(ref state, word, ref wordLength, ref wordRunes);
                continue;
            }

            // handle_chinese_chars: a CJK ideograph is a word of its own (its decomposition is still normalised).
            bool chinese = IsChineseChar(cp);
            if (chinese)
            {
                Flush(ref state, word, ref wordLength, ref wordRunes);
            }

            // strip_accents, then lowercase, then the pre-tokenizer's whitespace split and punctuation isolation.
            int parts = UnicodeTables.StripAccents(cp, stripped);
            for (int p = 0; p < parts; p++)
            {
                int lowerParts = UnicodeTables.Lowercase(stripped[p].Value, lowered);
                for (int q = 0; q < lowerParts; q++)
                {
                    Rune lower = lowered[q];
                    if (UnicodeTables.IsWhitespace(lower.Value))
                    {
                        Flush(ref state, word, ref wordLength, ref wordRunes);
                    }
                    else if (UnicodeTables.IsPunctuation(lower.Value))
                    {
                        Flush(ref state, word, ref wordLength, ref wordRunes);
                        Append(word, ref wordLength, ref wordRunes, lower);
                        Flush(ref state, word, ref wordLength, ref wordRunes);
                    }
                    else
                    {
                        Append(word, ref wordLength, ref wordRunes, lower);
                    }
                }
            }

            if (chinese)
            {
                Flush(ref state, word, ref wordLength, ref wordRunes);
            }
        }

        Flush(ref state, word, ref wordLength, ref wordRunes);
        ids[0] = ClsId;
        ids[state.Count + 1] = SepId;
        truncated = state.Truncated;
        return state.Count + 2;
    }

    /// <summary>Convenience for tests and tools: the ids of <paramref name="text"/>, truncated to <paramref name="maxTokens"/>.</summary>
    public int[] Encode(string text, int maxTokens = int.MaxValue / 2)
    {
        ArgumentNullException.ThrowIfNull(text);

        // A UTF-16 unit rarely yields more than 3 pieces (a Hangul syllable is 2-3 jamo); retry wider if it did.
        foreach (long perChar in (ReadOnlySpan<long>)[3, 12])
        {
            int capacity = (int)Math.Max(2, Math.Min(maxTokens, (text.Length * perChar) + 2));
            int[] buffer = new int[capacity];
            int count = Encode(text, buffer, out bool truncated);
            if (!truncated || capacity == maxTokens || perChar == 12)
            {
                return buffer[..count];
            }
        }

        throw new InvalidOperationException("Unreachable.");
    }

    private static void Append(Span<char> word, ref int length, ref int runes, Rune rune)
    {
        runes++;
        if (length + 2 <= word.Length)
        {
            length += rune.EncodeToUtf16(word[length..]);
        }
    }

    private void Flush(ref EncodeState state, scoped Span<char> wordBuffer, ref int length, ref int runes)
    {
        if (runes == 0)
        {
            return;
        }

        if (!state.Full)
        {
            if (runes > MaxInputCharsPerWord)
            {
                state.Add(UnknownId);
            }
            else
            {
                WordPiece(ref state, wordBuffer[..length]);
            }
        }

        length = 0;
        runes = 0;
    }

    private void WordPiece(ref EncodeState state, scoped ReadOnlySpan<char> word)
    {
        // Greedy longest-match-first; if any position has no match the whole word is [UNK] (HuggingFace WordPiece).
        int before = state.Count;
        int start = 0;
        while (start < word.Length)
        {
            int end = Math.Min(word.Length, start + _longestPiece);
            int found = -1;
            while (end > start)
            {
                if (end < word.Length && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1]))
                {
                    end--; // never split a surrogate pair
                    continue;
                }

                ReadOnlySpan<char> piece = word[start..end];
                if (start == 0 ? _starts.TryGetValue(piece, out found) : _continuations.TryGetValue(piece, out found))
                {
                    break;
                }

                found = -1;
                end--;
            }

            if (found < 0)
            {
                state.Rewind(before);
                state.Add(UnknownId);
                return;
            }

            state.Add(found);
            start = end;
        }
    }

    private static int Id(Dictionary<string, int> vocabulary, string token) =>
        vocabulary.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"The vocabulary has no {token} token.");

    private bool MatchSpecial(ReadOnlySpan<char> text, out int id, out int length)
    {
        foreach ((string token, int tokenId) in _specials)
        {
            if (text.StartsWith(token, StringComparison.Ordinal))
            {
                id = tokenId;
                length = token.Length;
                return true;
            }
        }

        id = 0;
        length = 0;
        return false;
    }

    /// <summary>tokenizers' is_chinese_char (note 0x2B920, not BERT's 0x2B820, as in the Rust source).</summary>
    internal static bool IsChineseChar(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>
    /// The pieces written so far. Pieces past the budget are counted as truncation but not written; a word whose
    /// later piece fails to match rewinds to its start and becomes one [UNK] (so truncation cuts as HuggingFace's
    /// truncation of the full encoding would).
    /// </summary>
    private ref struct EncodeState(Span<int> destination)
    {
        private readonly Span<int> _destination = destination;

        public int Count { get; private set; }

        public bool Truncated { get; private set; }

        /// <summary>True once the budget is spent and something more was offered.</summary>
        public readonly bool Full => Truncated;

        public void Add(int id)
        {
            if (Count == _destination.Length)
            {
                Truncated = true;
                return;
            }

            _destination[Count++] = id;
        }

        public void Rewind(int count)
        {
            Count = count;
            Truncated = false;
        }
    }
}
