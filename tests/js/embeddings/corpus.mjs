// A seeded corpus of varied strings for the tokenizer/embedding parity fixture: prose, code, URLs, emoji (incl. ZWJ
// sequences and recent code points), CJK (incl. Extension B and the 0x2B820-0x2B91F gap), Hangul, accents and
// combining marks, control and format characters, soft hyphens, lone surrogates, BERT's special tokens, symbols,
// words past 100 characters and texts far past 256 tokens, empty and whitespace-only strings.
const words = ("the of and to in is was for on that with as by at from it his an were are which this be or has had " +
  "not but first one their its new after who they two her she been other when time during there into school more " +
  "may years over only year most would world city some where between later three state such used then national " +
  "database vector embedding query collection index search filter metadata document tenant memory mapped sqlite " +
  "tokenizer unbelievable antidisestablishmentarianism Qt js JavaScript TypeScript C++ C# F# .NET ONNX HNSW Chroma " +
  "naïve café résumé coöperate façade jalapeño Ångström Straße Œuvre İstanbul ΑΘΗΝΑ Москва Ελληνικά Tiếng Việt").split(" ");
const pieces = [
  "a += b; c -= d; e *= f;", "if (x <= y || z >= w && !q) { return x << 2 | y >> 1; }", "foo_bar_baz = __init__(self)",
  "const f = (a) => a?.b ?? c;", "SELECT * FROM t WHERE a <> 1 AND b != 2;", "#include <stdio.h>", "x ^= ~y % 3",
  "https://example.com/path/to/page?query=1&lang=en#frag", "mailto:someone@example.org", "C:\\Users\\me\\file.txt",
  "/usr/local/bin/dotnet --info", "{\"key\": [1, 2.5, -3e10], \"ok\": true}", "<div class=\"x\">Hi &amp; bye</div>",
  "$HOME ~/.cache `cmd` 'quote' \"double\"", "price: $1,299.99 (≈ €1.200) — 50% off!", "2026-12-06T08:55:38Z",
  "e-mail co-operate re-enter", "U.S.A. e.g. i.e. etc.", "1/2 + 3/4 = 5/4", "café\u0301 vs cafe\u0301", "n\u0303o",
  "soft\u00ADhyphen\u00ADated", "zero\u200Bwidth\u200Cjoin\u200Dhere", "\uFEFFbom", "rtl\u200Fmark\u202Eoverride",
  "tab\there\nnewline\r\nwindows", "nul\u0000char", "bell\u0007 esc\u001B", "nel\u0085line", "nbsp\u00A0space",
  "ideographic\u3000space", "lone \uD800 high", "lone \uDC00 low", "pair \uD83D\uDE00 ok", "replacement \uFFFD char",
  "[CLS] literal [SEP] and [MASK] and [UNK] and [PAD] and [cls]", "private \uE000\uF8FF use", "\u0130stanbul \u0131",
  "👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 🫠 🥹 🪿 ❤️ ✔︎", "😀😃😄😁😆", "日本語のテキストです。", "中文文本，包括标点符号！", "한국어 텍스트입니다",
  "繁體中文與簡體中文", "\u{20000}\u{2A6D6} ext-B", "\u{2B820}\u{2B8FF}\u{2B920} gap", "\uF900\uFA6D compat",
  "カタカナ ﾊﾝｶｸ ひらがな", "ﬁ ﬂ ligatures ① ² ½", "Ⅻ ℃ ™ © ®", "ǅ ǈ ǋ titlecase", "ΣΑΣ σας ς", "ß ẞ",
  "Ꭰ Cherokee ꭰ", "\u{1D400}\u{1D41A} math bold", "a\u0308\u0301\u0323 stacked", "\u0915\u094D\u0937 devanagari",
  "ﷺ ﷻ arabic ligature", "مرحبا بالعالم", "שלום עולם", "Привет, мир!", "Γειά σου Κόσμε", "Xin chào thế giới",
  "α-β_γ", "__dunder__", "snake_case_identifier", "kebab-case-identifier", "CamelCaseIdentifier", "ALLCAPS",
  "'single' \"double\" «guillemets» „low“ ‘curly’ “curly”", "… ‥ · • ‣ ※ § ¶ † ‡", "¿Qué? ¡Hola!", "؟ ، ؛",
  "。、「」『』【】〈〉", "+ = < > | _ ` ~ ^", "\u02C6 \u02DC \u00B4 \u00A8 modifier", "\u2028line\u2029para",
  "x".repeat(101), "y".repeat(100), "é".repeat(100), "é".repeat(101), "supercalifragilisticexpialidocious".repeat(3),
];

function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff],
  [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x2000, 0x206f], [0x20a0, 0x20cf],
  [0x2100, 0x214f], [0x2190, 0x23ff], [0x2460, 0x24ff], [0x2500, 0x27bf], [0x2e00, 0x2e7f], [0x3000, 0x30ff],
  [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xe000, 0xe0ff], [0xf900, 0xfaff],
  [0xfb00, 0xfdff], [0xfe00, 0xfe6f], [0xff00, 0xffef], [0xfff0, 0xfffd], [0x10000, 0x1007f], [0x1d400, 0x1d7ff],
  [0x1f300, 0x1faff], [0x20000, 0x2a6df], [0x2b740, 0x2b93f], [0x2f800, 0x2fa1f], [0xe0000, 0xe007f]];

export function makeCorpus(seed, count) {
  const rnd = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const sentence = (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      let w = pick(words);
      const r = rnd();
      if (r < 0.1) w = w.toUpperCase(); else if (r < 0.25) w = w[0].toUpperCase() + w.slice(1);
      out.push(w);
      if (rnd() < 0.08) out.push(pick([",", ".", ";", ":", "!", "?", "-", "—", "(", ")", "'s", "n't"]));
    }
    return out.join(rnd() < 0.9 ? " " : pick(["  ", "\t", "\n", " \u00A0"]));
  };
  const randomUnicode = (n) => {
    let s = "";
    for (let i = 0; i < n; i++) {
      const [lo, hi] = pick(blocks);
      const cp = int(lo, hi);
      s += String.fromCodePoint(cp);
      if (rnd() < 0.15) s += " ";
    }
    return s;
  };
  const texts = ["", " ", "   \t\n ", "\u00A0\u3000", "\u00AD", "\u200B", ".", "a", "A", "Qt", "js", "Qt and js"];
  for (const p of pieces) texts.push(p);
  while (texts.length < count) {
    const kind = rnd();
    if (kind < 0.30) texts.push(sentence(int(3, 40)));
    else if (kind < 0.50) texts.push(`${sentence(int(1, 10))} ${pick(pieces)} ${sentence(int(0, 8))}`.trim());
    else if (kind < 0.62) texts.push(Array.from({ length: int(1, 4) }, () => pick(pieces)).join(pick([" ", "", "\n"])));
    else if (kind < 0.82) texts.push(randomUnicode(int(1, 60)));
    else if (kind < 0.90) texts.push(`${sentence(int(2, 12))} ${randomUnicode(int(1, 10))} ${sentence(int(2, 12))}`);
    else if (kind < 0.95) texts.push(sentence(int(150, 600))); // far past 256 tokens
    else if (kind < 0.98) texts.push(Array.from({ length: int(1, 5) }, () => pick(pieces)).join("") + pick(words).repeat(int(10, 40)));
    else texts.push(pick(["", " ", "\n", "\t \r\n", "\u0000", "\uFFFD", "\u200D", "[SEP]", "[SEP]x[CLS]", "##", "##s"]));
  }
  return texts.slice(0, count);
}
