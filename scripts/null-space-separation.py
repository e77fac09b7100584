#!/usr/bin/env python3
"""Does the null space tell an edit's key from the rest of the prompt? Per edit layer and null-space threshold:
how many of the key space's directions the projector keeps, and the share of the key's energy (||P k||^2 /
||k||^2) inside the null space, averaged over the subjects' last tokens (where AlphaEdit writes) and over every
other token of the same prompts (where an edit should write nothing). A ratio near 1 means the projector
leaves the other tokens' keys as free as the subject's: the update then writes at every position of a prompt.

  python3 scripts/null-space-separation.py --model DIR --run OUT --layers 0,1,2,3

OUT is an `alphaedit edit` output directory (its edits.jsonl gives the prompts and subjects), e.g. a
scripts/compute-z-diagnosis.py run's RUN/out. The statistics are read from
DIR/stats/<model>/<mom2_dataset>_stats/*_mom2_*.safetensors (covariance = sum / count, as the projector uses);
the null space of threshold t is spanned by the eigenvectors of eigenvalue < t. GPT-2 checkpoints only
(scripts/trace-reference.py's NumPy GPT-2).
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
parser.add_argument("--thresholds", default="0.005,0.01,0.02,0.05,0.1,0.2")
parser.add_argument("--alphaedit", default=os.path.join(root, ".build/release/alphaedit"))
args = parser.parse_args()

layers = [int(x) for x in args.layers.split(",")]
thresholds = [float(x) for x in args.thresholds.split(",")]


def covariance(layer):
    pattern = os.path.join(args.model, "stats", "*", "*_stats", f"transformer.h.{layer}.mlp.c_proj_*_mom2_*.safetensors")
    files = sorted(glob.glob(pattern))
    if not files:
        sys.exit(f"no statistics for layer {layer}: {pattern} (run alphaedit stats)")
    with open(files[0], "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        data = f.read()
    start, end = header["mom2.sum"]["data_offsets"]
    dtype = {"F32": np.float32, "F64": np.float64}[header["mom2.sum"]["dtype"]]
    total = np.frombuffer(data[start:end], dtype=dtype).reshape(header["mom2.sum"]["shape"]).astype(np.float64)
    start, end = header["mom2.count"]["data_offsets"]
    return total / float(np.frombuffer(data[start:end], dtype=np.int64)[0])


model = trace.GPT2(args.model)
edits = [json.loads(line) for line in open(os.path.join(args.run, "edits.jsonl"))]
texts = [e["prompt"].replace("{}", e["subject"]) for e in edits] + \
        [e["prompt"][: e["prompt"].index("{}")] + e["subject"] for e in edits]
ids = json.loads(subprocess.run([args.alphaedit, "tokenize", "--model", args.model, "--json", "--no-special-tokens"] + texts,
                                check=True, capture_output=True, text=True).stdout)["ids"]
prompts, through_subject = ids[: len(edits)], ids[len(edits):]

subject_keys = {l: [] for l in layers}
other_keys = {l: [] for l in layers}
for prompt, upto in zip(prompts, through_subject):
    last = len(upto) - 1
    keys = {}

    def keep(l, key):
        keys[l] = key[0].astype(np.float64)

    h = model.embed(np.array(prompt))[None]
    for l in range(max(layers) + 1):
        h = model.block(l, h, lambda kind, l, value: value, keys=keep)
    for l in layers:
        subject_keys[l].append(keys[l][last])
        other_keys[l].extend(keys[l][t] for t in range(len(prompt)) if t != last)

for l in layers:
    values, vectors = np.linalg.eigh(covariance(l))
    s, o = np.array(subject_keys[l]), np.array(other_keys[l])
    # A ReLU MLP can leave a token's key all zero: it has no direction, and no share to measure.
    zero = int(((o ** 2).sum(1) == 0).sum()) + int(((s ** 2).sum(1) == 0).sum())
    s, o = s[(s ** 2).sum(1) > 0], o[(o ** 2).sum(1) > 0]
    if zero:
        print(f"layer {l}: {zero} all-zero keys left out")
    print(f"layer {l}: {len(values)} directions, eigenvalues median {np.median(values):.3g} mean {values.mean():.3g}; "
          f"||k||^2 subject {np.mean((s ** 2).sum(1)):.1f}, other tokens {np.mean((o ** 2).sum(1)):.1f}")
    for t in thresholds:
        null = vectors[:, values < t]
        share_s = (((s @ null) ** 2).sum(1) / (s ** 2).sum(1)).mean()
        share_o = (((o @ null) ** 2).sum(1) / (o ** 2).sum(1)).mean()
        print(f"  threshold {t:<6g} null dims {null.shape[1]:5d}  energy in the null space: subject {share_s:.3f}, "
              f"other tokens {share_o:.3f}, ratio {share_s / max(share_o, 1e-12):.2f}; "
              f"subject ||P k||^2 {np.mean(((s @ null) ** 2).sum(1)):.2f}")
