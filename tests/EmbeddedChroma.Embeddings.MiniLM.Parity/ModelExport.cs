using System.Text.Json;

namespace EmbeddedChroma.Embeddings.MiniLM.Parity;

/// <summary>
/// Writes the model folder the reference implementations load: onnx/model.onnx and vocab.txt (the carrier package's
/// bytes), and the tokenizer.json / tokenizer_config.json / config.json of all-MiniLM-L6-v2 as Chroma ships them
/// (BertNormalizer with lowercase and accent stripping, BertPreTokenizer, WordPiece, [CLS] $A [SEP]).
/// </summary>
internal static class ModelExport
{
    public static void Write(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        using (FileStream model = File.Create(Path.Combine(folder, "onnx", "model.onnx")))
        {
            ModelResources.CopyModelTo(model);
        }

        IReadOnlyList<string> vocabulary = ModelResources.Vocabulary;
        File.WriteAllText(Path.Combine(folder, "vocab.txt"), string.Join('\n', vocabulary) + "\n");
        WriteTokenizerJson(Path.Combine(folder, "tokenizer.json"), vocabulary);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """
            {"do_lower_case": true, "model_max_length": 256, "tokenizer_class": "BertTokenizer", "cls_token": "[CLS]",
             "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
             "strip_accents": null, "tokenize_chinese_chars": true, "clean_up_tokenization_spaces": true}
            """);
        File.WriteAllText(Path.Combine(folder, "config.json"), """
            {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6,
             "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512, "vocab_size": 30522,
             "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}
            """);
    }

    private static void WriteTokenizerJson(string path, IReadOnlyList<string> vocabulary)
    {
        using FileStream file = File.Create(path);
        using var json = new Utf8JsonWriter(file);
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");
        json.WriteStartArray("added_tokens");
        foreach (string special in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
        {
            json.WriteStartObject();
            json.WriteNumber("id", IndexOf(vocabulary, special));
            json.WriteString("content", special);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", true);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("normalizer");
        json.WriteString("type", "BertNormalizer");
        json.WriteBoolean("clean_text", true);
        json.WriteBoolean("handle_chinese_chars", true);
        json.WriteNull("strip_accents");
        json.WriteBoolean("lowercase", true);
        json.WriteEndObject();
        json.WriteStartObject("pre_tokenizer");
        json.WriteString("type", "BertPreTokenizer");
        json.WriteEndObject();
        json.WriteStartObject("post_processor");
        json.WriteString("type", "BertProcessing");
        json.WriteStartArray("sep");
        json.WriteStringValue("[SEP]");
        json.WriteNumberValue(IndexOf(vocabulary, "[SEP]"));
        json.WriteEndArray();
        json.WriteStartArray("cls");
        json.WriteStringValue("[CLS]");
        json.WriteNumberValue(IndexOf(vocabulary, "[CLS]"));
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("decoder");
        json.WriteString("type", "WordPiece");
        json.WriteString("prefix", "##");
        json.WriteBoolean("cleanup", true);
        json.WriteEndObject();
        json.WriteStartObject("model");
        json.WriteString("type", "WordPiece");
        json.WriteString("unk_token", "[UNK]");
        json.WriteString("continuing_subword_prefix", "##");
        json.WriteNumber("max_input_chars_per_word", 100);
        json.WriteStartObject("vocab");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Count; id++)
        {
            if (seen.Add(vocabulary[id]))
            {
                json.WriteNumber(vocabulary[id], id);
            }
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static int IndexOf(IReadOnlyList<string> vocabulary, string token)
    {
        for (int i = 0; i < vocabulary.Count; i++)
        {
            if (vocabulary[i] == token)
            {
                return i;
            }
        }

        throw new InvalidDataException($"No {token} in the vocabulary.");
    }
}
