#!/usr/bin/env python3
"""Where does an edit act? For each request of an `alphaedit edit` run, the probability of the new object's
first token on the rewrite prompt in the unedited model, in the edited model, and in the unedited model
with the edited model's hidden state (the output of block --layer, the last edit layer) patched in at
  - the subject's last token only (where AlphaEdit writes its target z),
  - every subject token,
  - every token of the prompt (= the edited model's first blocks whole).
Also the norm of the change the edit made at the subject's last token (||h_edited - h_unedited||).
If the last-token patch gives the edited model's probability, the edit acts through the subject's last
token and a failed edit wrote too little there; if only the wider patches do, it acts (or fails) through
other positions.

  python3 scripts/edit-realisation.py --model UNEDITED_DIR --run OUT --layer 1

OUT is `alphaedit edit`'s output directory (the edited checkpoint and edits.jsonl), e.g. a
scripts/compute-z-diagnosis.py run's RUN/out. GPT-2 checkpoints only (scripts/trace-reference.py's
NumPy GPT-2).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
trace = __import__("trace-reference")

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--model", required=True, help="the unedited model directory")
parser.add_argument("--run", required=True, help="an alphaedit edit output directory (edited model, edits.jsonl)")
parser.add_argument("--layer", type=int, required=True, help="the last edit layer (where z is written)")
parser.add_argument("--alphaedit", default=os.path.join(root, ".build/release/alphaedit"))
args = parser.parse_args()

unedited, edited = trace.GPT2(args.model), trace.GPT2(args.run)
edits = [json.loads(line) for line in open(os.path.join(args.run, "edits.jsonl"))]


def tokenize(texts):
    out = subprocess.run([args.alphaedit, "tokenize", "--model", args.model, "--json", "--no-special-tokens"] + texts,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["ids"]


prefixes = tokenize([e["prompt"][: e["prompt"].index("{}")] for e in edits])
subjects_end = tokenize([e["prompt"][: e["prompt"].index("{}")] + e["subject"] for e in edits])
prompts = tokenize([e["prompt"].replace("{}", e["subject"]) for e in edits])
targets = tokenize([e["target_new"] for e in edits])


def hidden_states(model, ids):
    """Block outputs [layers][T, d] of one prompt."""
    out = []

    def record(kind, l, value):
        if kind == "hidden":
            out.append(value[0].copy())
        return value

    model.run(model.embed(np.array(ids))[None], record)
    return out


def probability(model, ids, token, positions=(), replacement=None):
    def patch(kind, l, value):
        if kind == "hidden" and l == args.layer and positions:
            value = value.copy()
            value[0, list(positions)] = replacement[list(positions)]
        return value

    return float(model.run(model.embed(np.array(ids))[None], patch)[0, token])


rows = []
for e, prefix, through_subject, ids, target in zip(edits, prefixes, subjects_end, prompts, targets):
    first = target[0]
    last = len(through_subject) - 1
    subject = range(len(prefix) if prefix else 0, last + 1)
    after = hidden_states(edited, ids)[args.layer]
    before = hidden_states(unedited, ids)[args.layer]
    row = {
        "unedited": probability(unedited, ids, first),
        "edited": probability(edited, ids, first),
        "last subject token": probability(unedited, ids, first, [last], after),
        "subject tokens": probability(unedited, ids, first, list(subject), after),
        "all tokens": probability(unedited, ids, first, list(range(len(ids))), after),
        "change": float(np.linalg.norm(after[last] - before[last])),
    }
    took = e["after"]["target_new"]["probability"] > e["after"]["target_true"]["probability"]
    rows.append((took, row))
    print(f"{e['subject'][:32]:<32} took {'yes' if took else 'no ':<3} "
          + "  ".join(f"{name} {value:.3f}" for name, value in row.items()))

for label, keep in [("took", True), ("did not take", False)]:
    chosen = [r for t, r in rows if t == keep]
    if chosen:
        print(f"{label}: {len(chosen)} edits, mean " + "  ".join(
            f"{name} {np.mean([r[name] for r in chosen]):.3f}" for name in chosen[0]))
