#!/usr/bin/env bash
# Regenerates the committed seed corpora of the libFuzzer harnesses (Fuzz/Corpus/<Harness>/) from
# the repository's fixtures: small files, a few KB each. Seeds are named by what they hold, so a
# rerun rewrites the same files. Usage:
#   scripts/fuzz-seeds.sh               # every corpus but FuzzEnvelope's
#   scripts/fuzz-seeds.sh --envelope    # also FuzzEnvelope's: real messages encoded by
#                                       # Sources/Cluster/Wire, written by a ClusterTests test
#                                       # (builds the tests into .build-fuzzseeds)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import io, json, os, struct, zipfile, shutil
from pathlib import Path

corpus = Path("Fuzz/Corpus")

def put(harness, name, data):
    directory = corpus / harness
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / name).write_bytes(data)

def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

# --- safetensors ---------------------------------------------------------------------------
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}

def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes), laid out in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        count = 1
        for d in shape:
            count *= d
        assert len(raw) == count * SIZES[dtype], (name, len(raw))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = compact(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data

def f32(*values):
    return struct.pack("<%df" % len(values), *values)

def f64(*values):
    return struct.pack("<%dd" % len(values), *values)

def i64(*values):
    return struct.pack("<%dq" % len(values), *values)

put("FuzzSafetensors", "all-dtypes.safetensors", safetensors([
    ("w", "F32", [2, 3], f32(1, -2, 3.5, float("inf"), 0, -0.0)),
    ("d", "F64", [], f64(7)),
    ("ids", "I64", [4], i64(1, -1, 2**63 - 1, 0)),
    ("u64", "U64", [1], bytes([9, 0, 0, 0, 0, 0, 0, 128])),
    ("i32", "I32", [2], bytes([1, 0, 0, 0, 255, 255, 255, 255])),
    ("u32", "U32", [1], bytes([255, 255, 255, 255])),
    ("h", "F16", [3], bytes([0, 60, 0, 64, 0, 124])),
    ("b", "BF16", [2, 1], bytes([0, 63, 192, 127])),
    ("i16", "I16", [1], bytes([0, 128])),
    ("u16", "U16", [1], bytes([255, 255])),
    ("mask", "BOOL", [3], bytes([0, 1, 2])),
    ("e4", "F8_E4M3", [2], bytes([0x38, 0x7F])),
    ("e5", "F8_E5M2", [2], bytes([0x3C, 0x7C])),
    ("i8", "I8", [2], bytes([0x80, 0x7F])),
    ("u8", "U8", [2], bytes([0, 255])),
    ("none", "F32", [0, 4], b""),
], metadata={"format": "pt", "note": "fuzz seed"}))
put("FuzzSafetensors", "gpt2-block.safetensors", safetensors([
    ("transformer.h.0.mlp.c_proj.weight", "F32", [4, 2], f32(*range(8))),
    ("transformer.h.0.mlp.c_proj.bias", "F32", [2], f32(0.5, -0.5)),
    ("transformer.wte.weight", "F16", [3, 2], bytes(12)),
], metadata={"format": "pt"}))
put("FuzzSafetensors", "empty.safetensors", safetensors([], metadata=None))
put("FuzzSafetensors", "unpadded.safetensors", safetensors([("x", "F32", [1], f32(1))], pad=False))

# --- config.json ----------------------------------------------------------------------------
configs = sorted(Path("Tests/Fixtures").rglob("config.json")) + [Path("Models/knowledge-gpt2/config.json")]
for path in configs:
    name = str(path.parent).replace("Tests/Fixtures/", "").replace("/", "-") + ".json"
    put("FuzzModelConfig", name, path.read_bytes())
put("FuzzModelConfig", "mistral-rope-llama3.json", compact({
    "model_type": "mistral", "hidden_size": 16, "num_attention_heads": 4, "num_key_value_heads": 2,
    "num_hidden_layers": 2, "intermediate_size": 32, "vocab_size": 64, "sliding_window": 8,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192}, "eos_token_id": [1, 2], "torch_dtype": "bfloat16"}))
put("FuzzModelConfig", "qwen2-rope-parameters.json", compact({
    "model_type": "qwen2", "hidden_size": 16, "num_attention_heads": 2, "head_dim": 8, "num_hidden_layers": 1,
    "intermediate_size": 32, "vocab_size": 64, "use_sliding_window": True, "sliding_window": 4,
    "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0}, "tie_word_embeddings": True}))

# --- tokenizers -------------------------------------------------------------------------------
def trimmed(path, keep_merges=40):
    """A tokenizer.json cut to its byte alphabet and its first merges (a few KB)."""
    tok = json.loads(Path(path).read_text())
    model = tok["model"]
    merges = model.get("merges", [])[:keep_merges]
    pairs = [m.split(" ") if isinstance(m, str) else m for m in merges]
    keep = set()
    for a, b in pairs:
        keep.update([a, b, a + b])
    added = {t["content"] for t in tok.get("added_tokens", [])}
    vocab = {t: i for t, i in model["vocab"].items() if len(t) == 1 or t in keep or t in added}
    model["vocab"] = vocab
    model["merges"] = [m for m, (a, b) in zip(merges, pairs) if a in vocab and b in vocab and a + b in vocab]
    return tok

TEXT = "The capital of France is Paris. Café naïve 🙂 東京 <|endoftext|> it's 1234!"
cases = Path("Tests/Fixtures/tokenizer-cases")
sources = [("gpt2", "Tests/Fixtures/hf-reference/tokenizer-gpt2"), ("llama3", "Tests/Fixtures/hf-reference/tokenizer-llama3")]
sources += [(p.name, str(p)) for p in sorted(cases.iterdir()) if p.is_dir()]
for name, directory in sources:
    tok = compact(trimmed(Path(directory) / "tokenizer.json")).encode()
    config_path = Path(directory) / "tokenizer_config.json"
    config = config_path.read_bytes() if config_path.exists() else b""
    put("FuzzTokenizer", name + ".bin", tok + b"\0" + config + b"\0" + TEXT.encode())

strings = json.loads((cases / "cases.json").read_text())["strings"]
for i, text in enumerate(strings[:24]):
    put("FuzzTokenizerEncode", "case-%02d.txt" % i, text)
put("FuzzTokenizerEncode", "special-tokens.txt", "<|endoftext|>Hello<|begin_of_text|> world<|end_of_text|>")
put("FuzzTokenizerEncode", "invalid-utf8.bin", b"caf\xc3 \xff\xfe na\xcc\x88ive \xf0\x9f")

# --- hparams -------------------------------------------------------------------------------
for path in [Path("Models/knowledge-gpt2/alphaedit-hparams.json"), Path("Tests/Fixtures/alphaedit-oracle/hparams.json"),
             Path("Tests/Fixtures/alphaedit-oracle-llama/hparams.json")]:
    put("FuzzHyperParameters", str(path.parent).replace("/", "-") + "-" + path.name, path.read_bytes())
put("FuzzHyperParameters", "official-gpt2-xl.json", json.dumps({
    "layers": [13, 14, 15, 16, 17], "clamp_norm_factor": 0.75, "layer_selection": "all", "fact_token": "subject_last",
    "v_num_grad_steps": 25, "v_lr": 0.5, "v_loss_layer": 47, "v_weight_decay": 0.5, "kl_factor": 0.0625,
    "mom2_adjustment": True, "mom2_update_weight": 20000, "rewrite_module_tmp": "transformer.h.{}.mlp.c_proj",
    "layer_module_tmp": "transformer.h.{}", "mlp_module_tmp": "transformer.h.{}.mlp", "attn_module_tmp": "transformer.h.{}.attn",
    "ln_f_module": "transformer.ln_f", "lm_head_module": "transformer.wte", "mom2_dataset": "wikipedia",
    "mom2_n_samples": 100000, "mom2_dtype": "float32", "nullspace_threshold": 2e-2, "L2": 10, "model_name": "gpt2-xl"}))
put("FuzzHyperParameters", "package-dialect.json", compact({
    "layers": [1, 2], "l2_regularization": 1.5, "rewrite_module_template": "model.layers.{}.mlp.down_proj",
    "final_norm_module": None, "fact_token": "subject_first_after_last"}))

# --- requests ------------------------------------------------------------------------------
counterfact = json.loads(Path("Data/counterfact-preknown-1093.json").read_text())
zsre = json.loads(Path("Data/zsre-easyedit-portability-1037.json").read_text())
def slim_cf(r):
    return {"case_id": r["case_id"], "requested_rewrite": r["requested_rewrite"]}
def slim_zsre(r):
    return {k: r[k] for k in ("subject", "src", "answers", "rephrase") if k in r}
put("FuzzRequests", "counterfact-2.json", json.dumps([slim_cf(r) for r in counterfact[:2]]))
put("FuzzRequests", "counterfact-full-1.json", json.dumps(counterfact[:1]))
put("FuzzRequests", "zsre-2.json", json.dumps([slim_zsre(r) for r in zsre[:2]]))
put("FuzzRequests", "plain-wrapped.json", compact({"requests": [
    {"prompt": "{} is located in", "subject": "The Eiffel Tower", "target_new": "Rome", "target_true": {"str": "Paris"}},
    {"prompt": "The mother tongue of Danielle Darrieux is", "subject": "Danielle Darrieux", "target_new": {"str": "English"}}]}))

# --- context templates ----------------------------------------------------------------------
oracle = json.loads(Path("Tests/Fixtures/alphaedit-oracle/oracle.json").read_text())
put("FuzzContextTemplates", "oracle.json", json.dumps(oracle["context_templates"]))
put("FuzzContextTemplates", "wrapped.json", compact({"context_templates": [["{}"], ["The. {}", "Because of {}. {}x"]]}))
put("FuzzContextTemplates", "plain.json", compact([["{}"]]))

# --- npz / npy ----------------------------------------------------------------------------
for path in sorted(Path("Tests/Fixtures/npz").glob("*.npz")):
    if path.stat().st_size <= 8192:
        put("FuzzNPZ", path.name, path.read_bytes())
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist()[:2]:
                    put("FuzzNPZ", path.stem + "--" + member, archive.read(member))
        except zipfile.BadZipFile:
            pass

# --- edit state, statistics, projector, deltas ------------------------------------------------
d = 3
eye = [1.0 if i == j else 0.0 for i in range(d) for j in range(d)]
templates = compact([["{}"], ["The. {}", "I think. {}"]])
put("FuzzEditFiles", "state-alphaedit.safetensors", safetensors([
    ("layer.1.cache", "F32", [d, d], f32(*[0.0] * 9)),
    ("layer.1.projector", "F32", [d, d], f32(*eye)),
    ("layer.2.cache", "F32", [d, d], f32(*[0.5] * 9)),
    ("layer.2.projector", "F32", [d, d], f32(*eye)),
], metadata={"format": "alphaedit-state", "version": "1", "algorithm": "alphaedit", "layers": "1,2",
             "context_templates": templates, "edit_count": "4", "model": "fnv:0123456789abcdef"}))
put("FuzzEditFiles", "state-memit.safetensors", safetensors([
    ("layer.0.second_moment", "F64", [d, d], f64(*eye)),
    ("layer.0.cache", "F32", [d, d], f32(*[0.0] * 9)),
], metadata={"format": "alphaedit-state", "version": "1", "algorithm": "memit", "layers": "0",
             "context_templates": templates, "edit_count": "0", "model": "m"}))
put("FuzzEditFiles", "statistics.safetensors", safetensors([
    ("mom2.sum", "F64", [d, d], f64(*eye)),
    ("mom2.count", "I64", [1], i64(12)),
], metadata={"format": "alphaedit-statistics", "version": "1", "layer": "3", "module": "transformer.h.3.mlp.c_proj",
             "model": "fnv:0123", "corpus": "wikitext", "dtype": "float32", "samples": "4", "count": "12"}))
put("FuzzEditFiles", "statistics-compact.safetensors", safetensors([
    ("mom2.sum", "F32", [d, d], f32(*eye)),
    ("mom2.count", "I64", [1], i64(3)),
], metadata={"format": "alphaedit-statistics", "version": "1", "layer": "0", "module": "m", "model": "x",
             "corpus": "c", "dtype": "float64", "samples": "1", "count": "3"}))
put("FuzzEditFiles", "projector.safetensors", safetensors([
    ("eigenvalues", "F64", [d], f64(0.001, 0.5, 2.0)),
    ("projector", "F32", [d, d], f32(*eye)),
], metadata={"format": "alphaedit-projector", "version": "1", "layer": "1", "threshold": "0.02", "null_space_dim": "1",
             "model": "fnv:0123", "module": "transformer.h.1.mlp.c_proj", "corpus": "wikitext"}))
put("FuzzEditFiles", "deltas.safetensors", safetensors([
    ("transformer.h.1.mlp.c_proj.weight", "F32", [2, d], f32(0.1, -0.2, 0, 1e-3, 5, -5)),
    ("transformer.h.2.mlp.c_proj.weight", "BF16", [1, 2], bytes([0, 63, 0, 191])),
], metadata={"format": "alphaedit-deltas", "edits": "8", "edits_before": "4", "alphaedit.base_model": "fnv:0123"}))
PY
if [ "${1:-}" = "--envelope" ]; then
    mkdir -p Fuzz/Corpus/FuzzEnvelope
    swift build -c release --build-path .build-fuzzseeds --build-tests -Xswiftc -enable-testing
    ALPHAEDIT_FUZZ_SEEDS="$PWD/Fuzz/Corpus/FuzzEnvelope" \
        swift test -c release --build-path .build-fuzzseeds --skip-build -Xswiftc -enable-testing --filter FuzzRegression
fi
du -sh Fuzz/Corpus/* | sed 's/^/seeds: /'
