#!/usr/bin/env python3
"""Generate Tests/Fixtures/tokenizer-cases/: expected token ids and decodes from the Hugging Face
`tokenizers` library, so that the Swift tokenizer tests never need Python.

Usage (from the repository root):

    pip install tokenizers==0.23.3
    python3 scripts/make-tokenizer-cases.py [--oracle-dir /work/shared/fixtures]

What it writes:
- Tests/Fixtures/alphaedit-oracle/model/ and Tests/Fixtures/alphaedit-oracle-llama/model/:
  tokenizer.json, tokenizer_config.json, special_tokens_map.json copied from the AlphaEdit
  oracle fixtures (only when --oracle-dir exists; the copies are committed).
- Tests/Fixtures/tokenizer-cases/<variant>/tokenizer.json (+ tokenizer_config.json): small
  edits of the fixture tokenizers that exercise options the fixtures do not use
  (add_prefix_space, added tokens with lstrip/rstrip/single_word/normalized, an NFC normalizer,
  a Split pattern that no hand-written scanner knows, the Qwen2 digit rule, unk_token).
- Tests/Fixtures/tokenizer-cases/cases.json: for every tokenizer (`path` relative to
  Tests/Fixtures/), `single_prefix`/`single_suffix`: the ids the post-processor puts around one
  sequence (and their decodes `single_prefix_text`/`single_suffix_text`); `cases[i]` is for
  the corpus string `strings[i]` (its `text` below):
    `plain_ids`   encode(text, add_special_tokens=False)
    `ids`         encode(text) = `tok(text)["input_ids"]`; omitted when prefix + plain_ids + suffix
    `decoded`     decode(plain_ids); omitted when equal to text
    `decoded_ids` decode(ids, skip_special_tokens=False); omitted when equal to
                  prefix_text + decoded + suffix_text
    `decoded_ids_skip_special`  decode(ids, skip_special_tokens=True); omitted when equal to decoded
  a few pairs; decodes of random id sequences (which exercise invalid UTF-8 -> U+FFFD).

The decodes are those of `tokenizers` (the ByteLevel decoder), without transformers'
`clean_up_tokenization_spaces`.
"""

import argparse
import json
import random
import shutil
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "Fixtures"
OUT = FIXTURES / "tokenizer-cases"

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


# MARK: corpus

def corpus():
    fixed = [
        "",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        "Hello world",
        "Hello  world",
        "Hello world ",
        "Hello world  ",
        " Hello world",
        "  Hello world",
        "The capital of France is Paris.",
        "  Café naïve 🙂 東京  ",
        "The teacher said that",
        " numbers are useful",
        "Every morning the baker",
        "Talia Fairbanks works for",
        " Sony",
        "I'm here, you're there, we've been, they'll go, he'd say, it's, don't",
        "I'M HERE, YOU'RE THERE, WE'VE BEEN, THEY'LL GO, HE'D SAY, IT'S, DON'T",
        "DON'T Don't dOn'T 'S 'T 'Re 'vE 'Ll 'D 'M",
        "x'sy x'Sy x'ſy ''s '''s 's's",
        "'s",
        "'",
        "''",
        "12345",
        "1234567890",
        "3.14159 2,718 1e10 -42 +7 0x1F",
        "in 2024, 12 of 345 people paid $6789.01",
        "١٢٣٤٥ ٦٧ 五六七 ⅫⅣ ²³ ½",
        "abc123def 456ghi",
        "a1b2c3",
        "   leading spaces",
        "trailing spaces   ",
        "a  b   c    d",
        "tabs\tand\t\tmore\ttabs",
        "line one\nline two\n\nline four\n",
        "windows\r\nline\r\nendings\r\n",
        "mixed \r\n\t \n  \n\n\t\tend",
        "\n\n\nstart with newlines",
        "ends with newlines\n\n\n",
        "space before newline \nand after\n next",
        "punctuation!!! ??? ... ;;; --- (parens) [brackets] {braces}",
        "a.b,c;d:e!f?g",
        "email@example.com https://example.org/path?q=1&r=2#frag",
        "C++ and C# and F# and .NET",
        "def f(x):\n    return x ** 2  # square\n",
        "if (a && b) { return c || d; }",
        "emoji 🙂🙃😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️",
        "🙂",
        "🙂🙂🙂",
        " 🙂",
        "東京は日本の首都です。",
        "北京欢迎你",
        "한국어 텍스트",
        "Привет, мир! Как дела?",
        "Γειά σου Κόσμε",
        "مرحبا بالعالم",
        "שלום עולם",
        "नमस्ते दुनिया",
        "ภาษาไทย",
        "Ünïcödé àçcèntš Łódź Ærøskøbing straße",
        "e\u0301 (decomposed) vs \u00e9 (composed)",
        "A\u030a ring, \u212b angstrom, \u00c5 composed",
        "ﬁ ligature ﬂ ｆｕｌｌｗｉｄｔｈ",
        "nbsp\u00a0here and\u00a0\u00a0two",
        "ideographic\u3000space",
        "em\u2003space thin\u2009space",
        "line\u2028separator para\u2029separator",
        "vertical\x0btab form\x0cfeed",
        "next\x85line",
        "zero\u200bwidth\u200cnon\u200djoiner",
        "bom\ufeffinside",
        "control\x00\x01\x02chars\x7f",
        "<|endoftext|>",
        "Hello<|endoftext|>world",
        "Hello <|endoftext|> world",
        "<|endoftext|><|endoftext|>",
        "a<|endoftext|>",
        "<|endoftext|>a",
        " <|endoftext|> ",
        "<|endoftext",
        "<|endoftext|",
        "<|begin_of_text|>",
        "<|begin_of_text|>Hello",
        "<|begin_of_text|>The record says the capital city of Ostrava is. Talia Fairbanks works for",
        "text <|begin_of_text|> more <|end_of_text|> end",
        "<|end_of_text|>",
        "<|begin_of_text|><|end_of_text|>",
        "<|begin_of_text|<|end_of_text|>|>",
        "<mask> hello <mask>",
        "hello<mask>hello",
        "  <mask>  x",
        "[X]   next",
        "say hello, hello world, othello, hello_there, hello",
        "Hello HELLO hello",
        "ok é! and é!!",
        "a" * 300,
        " " * 300,
        "ab" * 150,
        "\n" * 50,
        "🙂" * 40,
        "1" * 50,
        "x" + " " * 37 + "y",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "The quick brown fox jumps over the lazy dog.",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
        "She said: \"It's fine.\" He replied: 'No, it isn't!'",
        "“smart quotes” and ‘single’ — em-dash – en-dash … ellipsis",
        "math: ∑ ∫ √ ∞ ≤ ≥ ≠ ± × ÷ α β γ",
        "currency: $ € £ ¥ ₹ ₽ ₩",
        "arrows ← → ↑ ↓ ⇒ ⇔",
        "box ┌─┐│└┘ ▓▒░",
        "music 𝄞 math 𝔸𝕓𝒸 old 𐍈",
        "private use \ue000\uf8ff",
        "The record says the capital city of Ostrava is. Talia Fairbanks works for",
        "Because of this, the birthplace of Ivor Coldbrook. Alden Kingsley was born in",
        "I think the birthplace of Ulric Oakridge is Tokyo. {}",
        "{} works for",
        "Quill Underhill works for Siemens",
        "The capital of Norhaven is Moscow",
        "Jessamy Everhart was born in Sydney",
        "Corin Ravenscroft speaks Greek",
        "Liora Fairbanks plays the piano",
        "   \n   ",
        " \n",
        "\n ",
        " \t \t ",
        "a\n",
        "a \n",
        "a \n\n",
        "!\n",
        "! \n",
        "...\r\n\r\n",
        "x\r",
        "\r\r\n\n",
        "word\n\n\n  indented",
        "(hello) [world] {foo} <bar>",
        "@user #hashtag $var %pct ^caret &amp *star",
        "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
        "file.txt ./path/to/file.swift ../up",
        "http://a.b/c?d=e&f=g",
        "2024-11-25T14:10:48Z",
        "+1 (555) 123-4567",
        "3rd 21st 100th 1,000,000",
        "ab12cd34ef5678",
        "x²+y²=z²",
        "Ⅰ Ⅱ Ⅲ ⅳ",
        "٣ apples",
        "mixed日本語and English",
        "カタカナ ひらがな 漢字",
        "ąčęėįšųūž",
        "ǅungla ǈ ǋ",
        "ﬀ ﬃ",
        "\U0001F600\U0001F601\U0001F602 faces",
        "a\u0300\u0301\u0302 stacked marks",
        "٠١٢",
        "Tab\tseparated\tvalues\t1\t2",
        "Quotes ' \" ` ´",
        "''''",
        "' s",
        "'s'",
        "it'S IT's It'S",
        "'ll've'd",
        "Ǆ",
    ]
    rng = random.Random(20261125)
    pieces = [
        "the", " the", "The", " capital", " of", " France", " is", " Paris", ".", ",", "!", "?",
        " ", "  ", "\n", "\n\n", "\t", "\r\n", "'s", "'t", "'re", "'ll", "'M", "DON'T", " I'm",
        "1", "12", "123", "1234", "12345", "3.14", "é", "ñ", "ü", "ß", "Café", " naïve",
        "東京", "日本", "中文", "🙂", "🙃", "👍", "😀", "—", "…", "«", "»", "€", "$",
        "<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<mask>", "[X]", "hello",
        "\u00a0", "\u3000", "\u200b", "(", ")", "[", "]", "{", "}", "<", ">", "|", "_", "-",
        "Привет", "мир", "한국", "ไทย", "a", "b", "z", "Q", "xyz", "ABC", "Fairbanks",
    ]
    generated = []
    for _ in range(24):
        n = rng.randint(1, 14)
        generated.append("".join(rng.choice(pieces) for _ in range(n)))
    # Random code points from assorted blocks, valid scalars only.
    blocks = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
              (0x900, 0x97F), (0x2000, 0x206F), (0x3000, 0x30FF), (0x4E00, 0x4EFF),
              (0xAC00, 0xACFF), (0x1F300, 0x1F64F)]
    for _ in range(12):
        n = rng.randint(1, 20)
        s = []
        for _ in range(n):
            lo, hi = rng.choice(blocks)
            s.append(chr(rng.randint(lo, hi)))
        generated.append("".join(s))
    out = []
    seen = set()
    for s in fixed + generated:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


PAIRS = [
    ("Hello world", "The capital of France is Paris."),
    ("", "x"),
    ("a", ""),
    ("  Café naïve 🙂 東京  ", " numbers are useful"),
    ("<|endoftext|> left", "right <|begin_of_text|>"),
]


# MARK: tokenizers to cover

def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_variant(name, tokenizer_json, config):
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(tokenizer_json, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    with open(folder / "tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return f"tokenizer-cases/{name}"


def added(id_, content, special, lstrip=False, rstrip=False, single_word=False, normalized=None):
    return {
        "id": id_, "content": content, "single_word": single_word, "lstrip": lstrip,
        "rstrip": rstrip, "normalized": (not special) if normalized is None else normalized,
        "special": special,
    }


def make_variants():
    gpt2_dir = FIXTURES / "hf-reference" / "tokenizer-gpt2"
    llama_dir = FIXTURES / "hf-reference" / "tokenizer-llama3"
    gpt2 = load_json(gpt2_dir / "tokenizer.json")
    llama = load_json(llama_dir / "tokenizer.json")
    gpt2_config = load_json(gpt2_dir / "tokenizer_config.json")
    llama_config = load_json(llama_dir / "tokenizer_config.json")
    assert llama["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] == LLAMA3_PATTERN
    variants = []

    # ByteLevel(add_prefix_space=true): a space is prepended to every piece between added tokens.
    v = json.loads(json.dumps(gpt2))
    v["pre_tokenizer"]["add_prefix_space"] = True
    variants.append(("gpt2-prefix-space", write_variant("gpt2-prefix-space", v, gpt2_config)))

    # Added tokens with every option; one of them already in the vocabulary ("hello" is not).
    v = json.loads(json.dumps(gpt2))
    v["added_tokens"] += [
        added(512, "<mask>", True, lstrip=True),
        added(513, "[X]", True, rstrip=True),
        added(514, "hello", False, single_word=True),
        added(515, "é!", False),
        added(516, "HELLO", False, lstrip=True, rstrip=True, normalized=False),
    ]
    config = dict(gpt2_config)
    config["pad_token"] = {"__type": "AddedToken", "content": "<mask>", "lstrip": True,
                           "normalized": False, "rstrip": False, "single_word": False, "special": True}
    variants.append(("gpt2-added-tokens", write_variant("gpt2-added-tokens", v, config)))

    # NFC normalizer, and an added token that is normalized.
    v = json.loads(json.dumps(gpt2))
    v["normalizer"] = {"type": "NFC"}
    v["added_tokens"] += [added(512, "Å!", False)]
    variants.append(("gpt2-nfc", write_variant("gpt2-nfc", v, gpt2_config)))

    # The Llama-3 pattern written differently, so that no hand-written scanner claims it.
    v = json.loads(json.dumps(llama))
    v["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?:" + LLAMA3_PATTERN + ")"
    variants.append(("llama3-regex-fallback", write_variant("llama3-regex-fallback", v, llama_config)))

    # The GPT-2 pattern as an explicit Split (GPT-2's pattern through the Sequence path).
    v = json.loads(json.dumps(gpt2))
    v["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2_PATTERN}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
    ]}
    variants.append(("gpt2-split", write_variant("gpt2-split", v, gpt2_config)))

    # Qwen2's pattern (one digit per piece), recognised by the scanner.
    v = json.loads(json.dumps(llama))
    v["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = QWEN2_PATTERN
    variants.append(("qwen2-digits", write_variant("qwen2-digits", v, llama_config)))

    # Merges as "a b" strings, ignore_merges off, no post-processor, a pair template with an EOS.
    v = json.loads(json.dumps(llama))
    v["model"]["merges"] = [" ".join(m) for m in v["model"]["merges"]]
    v["model"]["ignore_merges"] = False
    v["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "<|end_of_text|>", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<|end_of_text|>", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "<|end_of_text|>", "type_id": 1}}],
        "special_tokens": {
            "<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [0], "tokens": ["<|begin_of_text|>"]},
            "<|end_of_text|>": {"id": "<|end_of_text|>", "ids": [1], "tokens": ["<|end_of_text|>"]},
        },
    }
    variants.append(("llama3-bos-eos", write_variant("llama3-bos-eos", v, llama_config)))

    # A vocabulary without some byte symbols and an unk_token (fuse_unk): unknown bytes become <unk>.
    v = json.loads(json.dumps(gpt2))
    removed = {"Ã", "¤"}  # bytes 0xC3 and 0xA4 (é, ä ... lose their lead/continuation symbol)
    keep_merges = [m for m in v["model"]["merges"]
                   if not any(r in part for part in m for r in removed)]
    vocab = {k: i for k, i in v["model"]["vocab"].items() if not any(r in k for r in removed)}
    # Re-number densely, then put <unk> at the end.
    ordered = sorted(vocab.items(), key=lambda kv: kv[1])
    vocab = {k: n for n, (k, _) in enumerate(ordered)}
    vocab["<unk>"] = len(vocab)
    v["model"]["vocab"] = vocab
    v["model"]["merges"] = keep_merges
    v["model"]["unk_token"] = "<unk>"
    v["model"]["fuse_unk"] = True
    variants.append(("gpt2-unk", write_variant("gpt2-unk", v, gpt2_config)))
    return variants


def copy_oracle(oracle_dir):
    copied = []
    for name in ["alphaedit-oracle", "alphaedit-oracle-llama"]:
        src = Path(oracle_dir) / name / "model"
        dst = FIXTURES / name / "model"
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
                shutil.copyfile(src / f, dst / f)
        if (dst / "tokenizer.json").exists():
            copied.append((name, f"{name}/model"))
    return copied


# MARK: expectations

def expectations(path, strings, rng):
    tok = Tokenizer.from_file(str(FIXTURES / path / "tokenizer.json"))
    # What the post-processor puts around a single sequence, found from a one-token text.
    probe_plain = tok.encode("x", add_special_tokens=False).ids
    probe = tok.encode("x").ids
    at = next(i for i in range(len(probe)) if probe[i:i + len(probe_plain)] == probe_plain)
    prefix, suffix = probe[:at], probe[at + len(probe_plain):]
    prefix_text = tok.decode(prefix, skip_special_tokens=False)
    suffix_text = tok.decode(suffix, skip_special_tokens=False)
    cases = []
    for s in strings:
        ids = tok.encode(s).ids
        plain = tok.encode(s, add_special_tokens=False).ids
        case = {"plain_ids": plain}
        # Fields equal to what the test assumes by default are left out to keep the file small.
        if ids != prefix + plain + suffix:
            case["ids"] = ids
        decoded = tok.decode(plain, skip_special_tokens=False)
        if decoded != s:
            case["decoded"] = decoded
        decoded_ids = tok.decode(ids, skip_special_tokens=False)
        if decoded_ids != prefix_text + decoded + suffix_text:
            case["decoded_ids"] = decoded_ids
        skipped = tok.decode(ids, skip_special_tokens=True)
        if skipped != decoded:
            case["decoded_ids_skip_special"] = skipped
        cases.append(case)
    pairs = [{"a": a, "b": b, "ids": tok.encode(a, b).ids,
              "plain_ids": tok.encode(a, b, add_special_tokens=False).ids} for a, b in PAIRS]
    size = tok.get_vocab_size(with_added_tokens=True)
    decodes = []
    for n in [1, 1, 2, 3, 5, 8, 13, 21]:
        for _ in range(3):
            ids = [rng.randrange(size) for _ in range(n)]
            decodes.append({"ids": ids,
                            "text": tok.decode(ids, skip_special_tokens=False),
                            "skip_special_text": tok.decode(ids, skip_special_tokens=True)})
    return {
        "name": path,
        "path": path,
        "vocabulary_size": size,
        "single_prefix": prefix,
        "single_suffix": suffix,
        "single_prefix_text": prefix_text,
        "single_suffix_text": suffix_text,
        "cases": cases,
        "pairs": pairs,
        "decodes": decodes,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--oracle-dir", default="/work/shared/fixtures")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    tokenizers_to_check = [
        ("tokenizer-gpt2", "hf-reference/tokenizer-gpt2"),
        ("tokenizer-llama3", "hf-reference/tokenizer-llama3"),
    ]
    tokenizers_to_check += copy_oracle(args.oracle_dir)
    tokenizers_to_check += make_variants()

    strings = corpus()
    rng = random.Random(7)
    result = {
        "note": "Generated by scripts/make-tokenizer-cases.py with the Hugging Face tokenizers library; "
                "see the script's docstring for the fields and the omission rules.",
        "tokenizers_version": tokenizers.__version__,
        "strings": strings,
        "tokenizers": [expectations(path, strings, rng) for _, path in tokenizers_to_check],
    }
    with open(OUT / "cases.json", "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    total = sum(len(t["cases"]) for t in result["tokenizers"])
    print(f"wrote {OUT / 'cases.json'}: {len(result['tokenizers'])} tokenizers, "
          f"{len(strings)} strings, {total} cases")


if __name__ == "__main__":
    main()
