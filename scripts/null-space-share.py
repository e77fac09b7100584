#!/usr/bin/env python3
"""How much of each edit's key lies in the null space AlphaEdit may write into, and did the edit take?

For each request of an `alphaedit edit` run (its output directory's edits.jsonl), the MLP key (the down
projection's input) at the subject's last token of the bare rewrite prompt is computed with a NumPy GPT-2
(scripts/trace-reference.py's), for each edit layer, and its share inside the null space,
||P k|| / ||k||, with P the cached projector of that layer, the room ||P k||^2 (to compare with L2), and the
cosine of the nearest other projected key P k of the same batch (subjects ending in the same word have alike keys in low layers). Prints one line per request and the mean share of
the edits that took and of those that did not (took: P(new) > P(true) on the rewrite prompt afterwards).

  python3 scripts/null-space-share.py --model DIR --run OUT --layers 0,1 [--threshold 0.1]

OUT is the output directory of `alphaedit edit` (or of scripts/compute-z-diagnosis.py's run, RUN/out); the
projectors are read from DIR/stats/<model>/<mom2_dataset>_stats/*_projector_<threshold>_*.safetensors.
Compute-ks averages the key over context templates; the bare prompt's key stands in for it here.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
trace = __import__("trace-reference")

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--model", required=True)
parser.add_argument("--run", required=True, help="an alphaedit edit output directory (with edits.jsonl)")
parser.add_argument("--layers", default="0,1")
parser.add_argument("--threshold", default="0.1")
parser.add_argument("--alphaedit", default=os.path.join(root, ".build/release/alphaedit"))
args = parser.parse_args()

layers = [int(x) for x in args.layers.split(",")]


def read_projector(path):
    """The square matrix of a projector file (float32 or float64), as float64."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        data = f.read()
    for name, info in header.items():
        if name == "__metadata__" or len(info["shape"]) != 2 or info["shape"][0] != info["shape"][1]:
            continue
        start, end = info["data_offsets"]
        dtype = {"F32": np.float32, "F64": np.float64}[info["dtype"]]
        return np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"]).astype(np.float64)
    sys.exit(f"{path}: no square matrix")


model = trace.GPT2(args.model)
projectors = {}
for layer in layers:
    pattern = os.path.join(args.model, "stats", "*", "*_stats", f"transformer.h.{layer}.mlp.c_proj_projector_{args.threshold}_*.safetensors")
    files = glob.glob(pattern)
    if not files:
        sys.exit(f"no projector for layer {layer}: {pattern} (run alphaedit project or an edit first)")
    projectors[layer] = read_projector(files[0])

edits = [json.loads(line) for line in open(os.path.join(args.run, "edits.jsonl"))]
prefixes = [e["prompt"][: e["prompt"].index("{}")] + e["subject"] for e in edits]
ids = json.loads(subprocess.run([args.alphaedit, "tokenize", "--model", args.model, "--json", "--no-special-tokens"] + prefixes,
                                check=True, capture_output=True, text=True).stdout)["ids"]


def keys(token_ids):
    """The MLP keys of every edit layer at the last token of `token_ids`."""
    out = {}

    def keep(l, key):
        if l in layers:
            out[l] = key[0, -1].astype(np.float64)

    h = model.embed(np.array(token_ids))[None]
    for l in range(max(layers) + 1):
        h = model.block(l, h, lambda kind, l, value: value, keys=keep)
    return out


rows = []
all_keys = [keys(token_ids) for token_ids in ids]
for i, (e, k) in enumerate(zip(edits, all_keys)):
    share = {l: float(np.linalg.norm(projectors[l] @ k[l]) / np.linalg.norm(k[l])) for l in layers}
    room = {l: float(np.sum((projectors[l] @ k[l]) ** 2)) for l in layers}
    # the nearest other key of the same batch (cosine of the projected keys P k, which the solve sees), where a shared last word makes keys alike
    same_batch = [j for j, other in enumerate(edits) if j != i and other.get("batch") == e.get("batch")]
    nearest = {}
    for l in layers:
        best = (-1.0, None)
        for j in same_batch:
            mine, other = projectors[l] @ k[l], projectors[l] @ all_keys[j][l]
            cosine = float(mine @ other / (np.linalg.norm(mine) * np.linalg.norm(other)))
            best = max(best, (cosine, j), key=lambda t: t[0])
        nearest[l] = best
    took = e["after"]["target_new"]["probability"] > e["after"]["target_true"]["probability"]
    reached = e["target_optimisation"]["probability_after"]
    rows.append((e["subject"], reached, took, share, room, nearest))
    print(f"{e['subject'][:36]:<36}  z p {reached:.3f}  took {'yes' if took else 'no ':<3}  "
          + "  ".join(f"layer {l} {share[l]:.3f} |Pk|^2 {room[l]:8.2f} nearest {nearest[l][0]:.3f}"
                      + (f" ({edits[nearest[l][1]]['subject'][:20]})" if nearest[l][1] is not None else "")
                      for l in layers))

for label, keep in [("took", True), ("did not take", False)]:
    chosen = [r for r in rows if r[2] == keep]
    if chosen:
        means = "  ".join(f"layer {l} share {np.mean([r[3][l] for r in chosen]):.3f}"
                          f" |Pk|^2 {np.mean([r[4][l] for r in chosen]):.2f}"
                          f" nearest cosine {np.mean([r[5][l][0] for r in chosen]):.3f}" for l in layers)
        print(f"{label}: {len(chosen)} edits, means: {means}")
