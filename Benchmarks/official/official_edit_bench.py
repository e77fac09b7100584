#!/usr/bin/env python
"""Time the official AlphaEdit code (CPU-patched copy) on an alphaedit-bench workload directory.

Does what the official experiments/evaluate.py does for --alg_name AlphaEdit with one batch holding every
request (num_edits = number of requests, no k/v cache): load the model, compute the null-space projector P of
every edited layer with evaluate.py's get_project (get_cov -> layer_stats over mom2_n_samples corpus texts,
SVD, threshold), zero the cache_c, then call AlphaEdit_main.apply_AlphaEdit_to_model once. The official
functions run unchanged; they are timed by wrappers put in place of the module attributes.

usage: python official_edit_bench.py --workload DIR --official-cpu /work/official-bench/official_cpu \
           --output FILE.json [--threads 2] [--save-deltas FILE.safetensors] [--quiet] [--keep-work]
           [--stages all|statistics|edit|targets|keys-solve] [--save-projectors FILE] [--projectors FILE]
           [--save-targets FILE] [--targets FILE]

--stages splits the run into processes, for a workload too long for one sitting. `statistics` times
get_project for every layer (statistics and projector) and stops. `edit` skips it and times
apply_AlphaEdit_to_model (targets, keys, solve) with P read from --projectors (a safetensors file of
float32 [k, k] tensors named P.<layer>, as --save-projectors and `alphaedit-bench edit run --save-projectors`
write). `targets` runs apply_AlphaEdit_to_model until every request's z is computed (it stops at the first
compute_ks call). `keys-solve` runs apply_AlphaEdit_to_model with every z given: --targets (float32 [d] tensors
named z.<case_id>, as --save-targets and `alphaedit-bench edit run --save-targets` write) become the official
code's own v_star cache files (cache_template), so compute_z is never called. No stage reads the values of an
earlier one in a way that changes its work (compute_z's early stop depends only on the model and the request), so
each stage's time is the one-process run's.

DIR holds model/ (HF GPT-2), corpus.txt (one statistics text a line), requests.json (CounterFact records),
hparams.json (official AlphaEdit keys) and context_templates.json (list of lists of "{}" templates).
Run with torch (CPU) and transformers 4.44.x; see README.md.
"""
import argparse
import ast
import contextlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--workload", required=True, help="workload directory (model/, corpus.txt, requests.json, "
                                                  "hparams.json, context_templates.json)")
ap.add_argument("--official-cpu", required=True, help="the CPU-patched official AlphaEdit repository "
                                                      "(official_cpu/ written by patch_official.py)")
ap.add_argument("--output", required=True, help="JSON file of stage times (written atomically)")
ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
ap.add_argument("--save-deltas", default=None, help="safetensors file of the total weight change of every "
                                                    "edited layer (HF layout: transformer.h.L.mlp.c_proj.weight)")
ap.add_argument("--quiet", action="store_true", help="discard the official code's stdout prints")
ap.add_argument("--stages", choices=["all", "statistics", "edit", "targets", "keys-solve"], default="all",
                help="all (default); statistics: get_project only; edit: apply_AlphaEdit_to_model only, P from "
                     "--projectors; targets: its compute_z calls only; keys-solve: the rest, z from --targets")
ap.add_argument("--save-projectors", default=None, help="safetensors file of every layer's P (float32, P.<layer>)")
ap.add_argument("--projectors", default=None, help="--stages edit or keys-solve: the P of every edited layer "
                                                   "(safetensors, float32 [k, k] tensors named P.<layer>)")
ap.add_argument("--save-targets", default=None, help="safetensors file of every request's z (float32 [d], z.<case_id>)")
ap.add_argument("--targets", default=None, help="--stages keys-solve: every request's z (safetensors, float32 [d] "
                                                "tensors named z.<case_id>)")
ap.add_argument("--keep-work", action="store_true", help="keep the scratch directory (statistics cache, "
                                                         "globals.yml) instead of deleting it")
args = ap.parse_args()
if args.stages in ("edit", "keys-solve") and not args.projectors:
    ap.error(f"--stages {args.stages} needs --projectors FILE (the P of every edited layer)")
if args.projectors and args.stages not in ("edit", "keys-solve"):
    ap.error("--projectors is read only with --stages edit or keys-solve")
if args.save_projectors and args.stages not in ("all", "statistics"):
    ap.error("--save-projectors needs the projectors computed: --stages all or statistics")
if (args.stages == "keys-solve") != bool(args.targets):
    ap.error("--targets goes with --stages keys-solve, and keys-solve needs it")
if args.save_targets and args.stages not in ("all", "edit", "targets"):
    ap.error("--save-targets needs the targets computed: --stages all, edit or targets")

T_START = time.perf_counter()
WORKLOAD = os.path.abspath(args.workload)
OFFICIAL = os.path.abspath(args.official_cpu)
OUTPUT = os.path.abspath(args.output)
DELTAS = os.path.abspath(args.save_deltas) if args.save_deltas else None
if DELTAS and args.stages in ("statistics", "targets"):
    sys.exit(f"--save-deltas: --stages {args.stages} makes no edit")
TARGETS_IN = os.path.abspath(args.targets) if args.targets else None
TARGETS_OUT = os.path.abspath(args.save_targets) if args.save_targets else None
if TARGETS_IN and not os.path.isfile(TARGETS_IN):
    sys.exit(f"--targets {TARGETS_IN}: no such file")
PROJECTORS_IN = os.path.abspath(args.projectors) if args.projectors else None
PROJECTORS_OUT = os.path.abspath(args.save_projectors) if args.save_projectors else None
if PROJECTORS_IN and not os.path.isfile(PROJECTORS_IN):
    sys.exit(f"--projectors {PROJECTORS_IN}: no such file")
for name in ["model", "corpus.txt", "requests.json", "hparams.json", "context_templates.json"]:
    if not os.path.exists(os.path.join(WORKLOAD, name)):
        sys.exit(f"{WORKLOAD}: missing {name}")
if not os.path.exists(os.path.join(OFFICIAL, "AlphaEdit", "AlphaEdit_main.py")):
    sys.exit(f"{OFFICIAL}: not an official AlphaEdit checkout (no AlphaEdit/AlphaEdit_main.py)")


def log(*a):
    print("[official_edit_bench]", *a, file=sys.stderr, flush=True)


# ---- scratch directory: globals.yml (util/globals.py reads ./globals.yml) with a fresh, empty STATS_DIR so that
# ---- the second-moment statistics are computed, never loaded from an earlier run.
WORK = tempfile.mkdtemp(prefix="official_edit_bench_")
with open(os.path.join(WORK, "globals.yml"), "w") as f:
    f.write(f'RESULTS_DIR: "{WORK}/results"\nDATA_DIR: "{WORK}/data"\nSTATS_DIR: "{WORK}/data/stats"\n'
            f'HPARAMS_DIR: "{WORK}/hparams"\nKV_DIR: "{WORK}/kvs"\nREMOTE_ROOT_URL: "https://memit.baulab.info"\n')
os.environ["ALPHAEDIT_STATS_CORPUS"] = os.path.join(WORKLOAD, "corpus.txt")  # read by the patched layer_stats


# ---- model folder as seen by transformers 4.44 (tokenizers 0.19): links to the workload's files, except that a
# ---- tokenizer.json written by tokenizers >= 0.20 (BPE merges as [a, b] pairs) gets its merges rewritten in the
# ---- older "a b" string form. Lossless for byte-level BPE (no merge part contains a space; asserted).
def prepare_model_dir(src, dst):
    os.makedirs(dst)
    note = None
    for name in sorted(os.listdir(src)):
        s = os.path.join(src, name)
        if name == "tokenizer.json":
            with open(s, encoding="utf-8") as f:
                tj = json.load(f)
            merges = tj.get("model", {}).get("merges")
            if merges and isinstance(merges[0], list):
                assert all(len(m) == 2 and " " not in m[0] and " " not in m[1] for m in merges), \
                    "tokenizer.json merges cannot be written in the 'a b' form"
                tj["model"]["merges"] = [m[0] + " " + m[1] for m in merges]
                with open(os.path.join(dst, name), "w", encoding="utf-8") as f:
                    json.dump(tj, f, ensure_ascii=False)
                note = f"tokenizer.json merges rewritten from [a, b] pairs to 'a b' strings ({len(merges)} merges)"
                continue
        os.symlink(s, os.path.join(dst, name))
    return note


MODEL_DIR = os.path.join(WORK, "model")
tokenizer_note = prepare_model_dir(os.path.join(WORKLOAD, "model"), MODEL_DIR)

os.chdir(WORK)
sys.path.insert(0, OFFICIAL)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import tokenizers  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

torch.set_num_threads(args.threads)

import AlphaEdit.AlphaEdit_main as AEM  # noqa: E402
import util.runningstats as RS  # noqa: E402
from AlphaEdit.AlphaEdit_hparams import AlphaEditHyperParams  # noqa: E402
from util import nethook  # noqa: E402

quiet = (lambda: contextlib.redirect_stdout(open(os.devnull, "w"))) if args.quiet else contextlib.nullcontext

# ---- timing wrappers (accumulate wall time and calls; results are passed through untouched)
ACC, CALLS = {}, {}


def timed(name, fn):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            ACC[name] = ACC.get(name, 0.0) + time.perf_counter() - t0
            CALLS[name] = CALLS.get(name, 0) + 1
    wrapper.__wrapped__ = fn
    return wrapper


# get_cov (statistics: layer_stats data pass + moment), layer_stats alone, the statistics' npz cache write
AEM.get_cov = timed("get_cov", AEM.get_cov)
AEM.layer_stats = timed("layer_stats", AEM.layer_stats)
RS.save_cached_state = timed("stats_cache_write", RS.save_cached_state)
# edit: targets (compute_z), keys (compute_ks; get_module_input_output_at_words for cur_zs)
STEPS = {"active": False, "n": 0, "per_request": []}
_compute_z = AEM.compute_z


Z_OUT = {}  # case_id -> z, for --save-targets


def compute_z_counted(*a, **k):
    n0 = STEPS["n"]
    STEPS["active"] = True
    try:
        z = _compute_z(*a, **k)
        if TARGETS_OUT:
            request = a[2] if len(a) > 2 else k["request"]
            Z_OUT[request["case_id"]] = z.detach().clone()
        return z
    finally:
        STEPS["active"] = False
        STEPS["per_request"].append(STEPS["n"] - n0)


AEM.compute_z = timed("compute_z", compute_z_counted)
_compute_ks = AEM.compute_ks
N_EDIT_LAYERS = [0]  # set once the hparams are read


class StopAfterTargets(Exception):
    """--stages targets: raised at the first compute_ks call, when every z is computed."""


def compute_ks_phased(*a, **k):
    if args.stages == "targets":
        raise StopAfterTargets()
    # apply_AlphaEdit_to_model calls compute_ks once per layer before the solves, then once per layer for cache_c
    key = "compute_ks_" + ("pre" if CALLS.get("compute_ks_pre", 0) < N_EDIT_LAYERS[0] else "post")
    t0 = time.perf_counter()
    try:
        return _compute_ks(*a, **k)
    finally:
        ACC[key] = ACC.get(key, 0.0) + time.perf_counter() - t0
        CALLS[key] = CALLS.get(key, 0) + 1


AEM.compute_ks = timed("compute_ks", compute_ks_phased)
AEM.get_module_input_output_at_words = timed("cur_zs", AEM.get_module_input_output_at_words)

# ---- inputs
with open(os.path.join(WORKLOAD, "hparams.json")) as f:
    hp = json.load(f)
hparams = AlphaEditHyperParams(**hp)  # = AlphaEditHyperParams.from_json
N_EDIT_LAYERS[0] = len(hparams.layers)
with open(os.path.join(WORKLOAD, "requests.json")) as f:
    records = json.load(f)
# experiments/evaluate.py: [{"case_id": record["case_id"], **record["requested_rewrite"]} for record in chunk]
requests = [{"case_id": record["case_id"], **record["requested_rewrite"]} for record in records]
with open(os.path.join(WORKLOAD, "context_templates.json")) as f:
    context_templates = json.load(f)
assert isinstance(context_templates, list) and all(
    isinstance(g, list) and all(isinstance(t, str) and t.count("{}") == 1 for t in g) for g in context_templates), \
    "context_templates.json: expected a list of lists of templates, each with one {}"
# AlphaEdit_main.get_context_templates returns this global when it is set (no generate_fast sampling)
AEM.CONTEXT_TEMPLATES_CACHE = context_templates
with open(os.environ["ALPHAEDIT_STATS_CORPUS"], encoding="utf-8") as f:
    corpus_texts = sum(1 for line in f if line.strip())

# ---- model, as experiments/evaluate.py loads it (CPU; eager attention = the 4.x GPT-2 attention path; float32)
t0 = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, attn_implementation="eager", torch_dtype=torch.float32).cpu()
tok = AutoTokenizer.from_pretrained(MODEL_DIR)
tok.pad_token = tok.eos_token
load_seconds = time.perf_counter() - t0
log(f"model {model.config.model_type}: {model.config.n_layer if hasattr(model.config, 'n_layer') else '?'} blocks, "
    f"vocab {model.config.vocab_size} (tokenizer {len(tok)}); loaded in {load_seconds:.2f} s; "
    f"{len(requests)} requests, layers {hparams.layers}, {hparams.mom2_n_samples} samples ({corpus_texts} in corpus)")

# forward calls during compute_z = optimisation steps taken (one forward per step)
model.register_forward_pre_hook(lambda m, a: STEPS.__setitem__("n", STEPS["n"] + (1 if STEPS["active"] else 0)))

# ---- experiments/evaluate.py get_project, extracted verbatim and bound to the (timed) AlphaEdit_main.get_cov
src = open(os.path.join(OFFICIAL, "experiments", "evaluate.py")).read()
fn = [n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == "get_project"][0]
ns = {"get_cov": AEM.get_cov, "torch": torch}
exec(compile(ast.Module(body=[fn], type_ignores=[]), "experiments/evaluate.py:get_project", "exec"), ns)
get_project = timed("get_project", ns["get_project"])

weight_names = [f"{hparams.rewrite_module_tmp.format(layer)}.weight" for layer in hparams.layers]
W0 = {n: nethook.get_parameter(model, n).detach().clone() for n in weight_names} if DELTAS else None

t_work = time.perf_counter()
with quiet():
    # evaluate.main: cache_c and P zeros of the key dimension (gpt2-xl branch: W_out.shape[0], GPT-2's Conv1D weight
    # is [in, out]; GPT-J/Llama branch: W_out.shape[1], nn.Linear is [out, in])
    W_out = nethook.get_parameter(model, f"{hparams.rewrite_module_tmp.format(hparams.layers[-1])}.weight")
    kdim = W_out.shape[0] if model.config.model_type == "gpt2" else W_out.shape[1]
    cache_c = torch.zeros((len(hparams.layers), kdim, kdim), device="cpu")
    P = torch.zeros((len(hparams.layers), kdim, kdim), device="cpu")
    del W_out
    if PROJECTORS_IN:
        from safetensors import safe_open
        with safe_open(PROJECTORS_IN, framework="pt") as f:
            for i, layer in enumerate(hparams.layers):
                name = f"P.{layer}"
                if name not in f.keys():
                    sys.exit(f"{PROJECTORS_IN}: no tensor {name} (holds {sorted(f.keys())})")
                t = f.get_tensor(name)
                if tuple(t.shape) != (kdim, kdim) or t.dtype != torch.float32:
                    sys.exit(f"{PROJECTORS_IN}: {name} is {t.dtype} {tuple(t.shape)}, expected float32 ({kdim}, {kdim})")
                P[i, :, :] = t
    elif args.stages in ("all", "statistics"):
        for i, layer in enumerate(hparams.layers):
            P[i, :, :] = get_project(model, tok, layer, hparams)
    cache_template = None
    if TARGETS_IN:
        # The official v_star cache: one npz per request, read by apply_AlphaEdit_to_model in place of compute_z.
        from safetensors import safe_open
        cache_template = os.path.join(WORK, "zcache", "case_{2}.npz")  # formatted with (z_layer, clamp, case_id)
        os.makedirs(os.path.dirname(cache_template))
        with safe_open(TARGETS_IN, framework="pt") as f:
            for request in requests:
                name = f"z.{request['case_id']}"
                if name not in f.keys():
                    sys.exit(f"{TARGETS_IN}: no tensor {name}")
                z = f.get_tensor(name)
                if z.dtype != torch.float32 or tuple(z.shape) != (model.config.hidden_size,):
                    sys.exit(f"{TARGETS_IN}: {name} is {z.dtype} {tuple(z.shape)}, expected float32 ({model.config.hidden_size},)")
                np.savez(cache_template.format(None, None, request["case_id"]), v_star=z.numpy())
    t_edit = time.perf_counter()
    if args.stages != "statistics":
        try:
            model, cache_c = AEM.apply_AlphaEdit_to_model(model, tok, requests, hparams, cache_template=cache_template,
                                                          cache_c=cache_c, P=P)
        except StopAfterTargets:
            pass
    t_end = time.perf_counter()
    if TARGETS_IN and CALLS.get("compute_z", 0):
        sys.exit(f"--targets: compute_z ran {CALLS['compute_z']} times: the v_star cache was not read")

edit_seconds = t_end - t_edit
total_seconds = t_end - t_work
stats_s = ACC.get("get_cov", 0.0)
keys_s = ACC.get("compute_ks", 0.0) + ACC.get("cur_zs", 0.0)
stages = {}
if args.stages in ("all", "statistics"):
    stages["statistics"] = stats_s
    stages["projector"] = ACC.get("get_project", 0.0) - stats_s
if args.stages in ("all", "edit", "targets"):
    stages["targets"] = ACC.get("compute_z", 0.0)
if args.stages in ("all", "edit", "keys-solve"):
    stages["keys"] = keys_s
    stages["solve"] = edit_seconds - ACC.get("compute_z", 0.0) - keys_s
# A part's time: the stages it ran (the P read of --stages edit not counted). Only a whole run has a
# total_seconds: a part's would read as the whole run's.
part_seconds = total_seconds if args.stages == "all" else (t_edit - t_work if args.stages == "statistics" else edit_seconds)
null_dims = None if args.stages == "targets" else {  # targets: no P (zeros)
    str(layer): int(round(float(P[i].trace()))) for i, layer in enumerate(hparams.layers)}
ru_self = resource.getrusage(resource.RUSAGE_SELF)
ru_children = resource.getrusage(resource.RUSAGE_CHILDREN)
try:
    with open(os.path.join(OFFICIAL, "OFFICIAL_COMMIT")) as f:
        official_commit = f.read().strip()
except OSError:
    official_commit = None

result = {
    "implementation": "official AlphaEdit (CPU-patched)",
    "stages": stages,
    **({"total_seconds": total_seconds} if args.stages == "all" else {"part_seconds": part_seconds}),
    "versions": {"python": platform.python_version(), "torch": torch.__version__,
                 "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                 "numpy": np.__version__, "official_commit": official_commit},
    "threads": args.threads,
    "stages_run": args.stages,
    "projectors_file": PROJECTORS_IN,
    "targets_file": TARGETS_IN,
    "workload": WORKLOAD,
    "requests": len(requests),
    "layers": list(hparams.layers),
    "samples": hparams.mom2_n_samples,
    "peak_rss_bytes": ru_self.ru_maxrss * 1024,
    "details": {
        "stage_definitions": {
            "statistics": "AlphaEdit_main.get_cov (rome.layer_stats data pass over the corpus, its npz cache write, "
                          "moment), all edited layers",
            "projector": "rest of evaluate.get_project: SVD of the second moment, threshold, U U^T",
            "targets": "AlphaEdit_main.compute_z, all requests",
            "keys": "compute_ks (before the solve and again for the cache_c update) + "
                    "get_module_input_output_at_words (cur_zs)",
            "solve": "apply_AlphaEdit_to_model minus targets and keys (the P (K K^T + C) + L2 I solves, weight "
                     "updates, cache_c update, deepcopy of the requests)",
            "total_seconds": "P/cache_c allocation + get_project for every layer + apply_AlphaEdit_to_model "
                             "(model loading not included: load_seconds)",
        },
        "load_seconds": load_seconds,
        "edit_seconds": edit_seconds,
        "wall_seconds": time.perf_counter() - T_START,
        "layer_stats_seconds": ACC.get("layer_stats", 0.0),
        "stats_cache_write_seconds": ACC.get("stats_cache_write", 0.0),
        "keys_before_solve_seconds": ACC.get("compute_ks_pre", 0.0),
        "keys_cache_update_seconds": ACC.get("compute_ks_post", 0.0),
        "cur_zs_seconds": ACC.get("cur_zs", 0.0),
        "calls": CALLS,
        "compute_z_steps": STEPS["n"],
        "compute_z_steps_per_request": STEPS["per_request"],
        "null_space_dims": null_dims,
        "key_dim": kdim,
        "corpus_texts": corpus_texts,
        "context_templates": context_templates,
        "hparams": hp,
        "peak_rss_children_bytes": ru_children.ru_maxrss * 1024,
        "cpu_seconds": {"user": ru_self.ru_utime, "system": ru_self.ru_stime,
                        "children_user": ru_children.ru_utime, "children_system": ru_children.ru_stime},
        "tokenizer_note": tokenizer_note,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    },
}
# compute_ks is called twice per layer: len(layers) times before the solves, then len(layers) times for cache_c.
# The phase split above relies on that order; check it.
assert args.stages in ("statistics", "targets") or CALLS.get("compute_ks", 0) == 2 * len(hparams.layers), CALLS

if TARGETS_OUT:
    from safetensors.torch import save_file
    missing = [r["case_id"] for r in requests if r["case_id"] not in Z_OUT]
    if missing:
        sys.exit(f"--save-targets: no z for case_id {missing[:5]}")
    tmp = TARGETS_OUT + f".tmp{os.getpid()}"
    save_file({f"z.{cid}": z.contiguous() for cid, z in Z_OUT.items()}, tmp,
              metadata={"implementation": result["implementation"], "workload": WORKLOAD,
                        "layout": "z of each request (case_id), float32 [d]"})
    os.replace(tmp, TARGETS_OUT)
    result["targets_saved"] = TARGETS_OUT

if PROJECTORS_OUT:
    from safetensors.torch import save_file
    tmp = PROJECTORS_OUT + f".tmp{os.getpid()}"
    save_file({f"P.{layer}": P[i].contiguous() for i, layer in enumerate(hparams.layers)}, tmp,
              metadata={"implementation": result["implementation"], "workload": WORKLOAD,
                        "layout": "P of each edited layer, float32 [k, k], k the key dimension"})
    os.replace(tmp, PROJECTORS_OUT)
    result["projectors_saved"] = PROJECTORS_OUT

if DELTAS:
    from safetensors.torch import save_file
    deltas = {n: (nethook.get_parameter(model, n).detach() - W0[n]).contiguous() for n in weight_names}
    tmp = DELTAS + f".tmp{os.getpid()}"
    save_file(deltas, tmp, metadata={"implementation": result["implementation"], "workload": WORKLOAD,
                                     "layout": "HF GPT-2 Conv1D weight [in, out]; edited - original"})
    os.replace(tmp, DELTAS)
    result["deltas_file"] = DELTAS
    result["details"]["delta_fro_norms"] = {n: float(torch.linalg.norm(d)) for n, d in deltas.items()}

tmp = OUTPUT + f".tmp{os.getpid()}"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1, ensure_ascii=False)
    f.write("\n")
os.replace(tmp, OUTPUT)
if not args.keep_work:
    shutil.rmtree(WORK, ignore_errors=True)
log("stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()) + f"; total {part_seconds:.3f}; "
    f"compute_z steps {STEPS['n']}; peak RSS {ru_self.ru_maxrss / 1024:.0f} MiB -> {OUTPUT}")
