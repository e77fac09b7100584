#!/usr/bin/env python3
"""Why do edits fail? One batch of CounterFact (or zsRE) records edited with `alphaedit edit`, then,
per request, the probability the target optimisation (compute_z) reached for the new object and
whether the edit took (P(new) > P(true) on the rewrite prompt afterwards). For zsRE the new object
is `answers[0]` (the official target) and the "true" one `alt` (what a model trained with
`--zsre-belief alt` says).

    python3 scripts/compute-z-diagnosis.py --records 0:40 --work /tmp/zdiag
    python3 scripts/compute-z-diagnosis.py --records 0:40 --work /tmp/zdiag --set clamp_norm_factor=16 --set v_num_grad_steps=50
    python3 scripts/compute-z-diagnosis.py --records 0:40 --work /tmp/zdiag --only-below 0.5 --from /tmp/zdiag/base
    python3 scripts/compute-z-diagnosis.py --dataset zsre --records 0:40 --work /tmp/zdiag-zsre

Uses the shipped model, hparams and statistics unless --model/--config/--stats-dir say otherwise;
`--set key=value` overrides hparams (JSON values). Stay on the development slice (records 0:200).
"""
import argparse
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--records", default="0:40", help="START:END of the data file (default 0:40)")
parser.add_argument("--dataset", choices=["counterfact", "zsre"], default="counterfact")
parser.add_argument("--data", default=None, help="default: the dataset's file in Data/")
parser.add_argument("--model", default=os.path.join(root, "Models/knowledge-gpt2"))
parser.add_argument("--config", default=None, help="hparams (default: the model's alphaedit-hparams.json)")
parser.add_argument("--stats-dir", default=None, help="default: the model's stats/")
parser.add_argument("--set", action="append", default=[], help="hparams override key=value (JSON value)")
parser.add_argument("--work", required=True, help="a directory for the requests, hparams and edit outputs")
parser.add_argument("--name", default=None, help="name of this run under --work (default: from --set)")
parser.add_argument("--only-below", type=float, default=None,
                    help="edit only the requests whose compute_z probability was below this in run --from")
parser.add_argument("--from", dest="previous", default=None, help="an earlier run directory (for --only-below)")
parser.add_argument("--threads", default="1")
parser.add_argument("--alphaedit", default=os.path.join(root, ".build/release/alphaedit"))
args = parser.parse_args()

start, end = (int(x) for x in args.records.split(":"))
data = args.data or os.path.join(root, "Data", {"counterfact": "counterfact-preknown-1093.json",
                                               "zsre": "zsre-easyedit-portability-1037.json"}[args.dataset])
records = json.load(open(data))[start:end]
if args.dataset == "counterfact":
    requests = [{"case_id": r["case_id"], "prompt": r["requested_rewrite"]["prompt"], "subject": r["requested_rewrite"]["subject"],
                 "target_new": r["requested_rewrite"]["target_new"], "target_true": r["requested_rewrite"]["target_true"]}
                for r in records]
else:
    requests = [{"case_id": start + i, "prompt": r["src"].replace(r["subject"], "{}"), "subject": r["subject"],
                 "target_new": {"str": r["answers"][0]}, "target_true": {"str": r["alt"]}}
                for i, r in enumerate(records) if r["subject"] in r["src"]]
if args.only_below is not None:
    if not args.previous:
        sys.exit("--only-below needs --from RUN")
    earlier = [json.loads(line) for line in open(os.path.join(args.previous, "out", "edits.jsonl"))]
    low = {e["case_id"] for e in earlier if e["target_optimisation"]["probability_after"] < args.only_below}
    requests = [r for r in requests if r["case_id"] in low]

hparams = json.load(open(args.config or os.path.join(args.model, "alphaedit-hparams.json")))
for override in args.set:
    key, _, value = override.partition("=")
    hparams[key] = json.loads(value)
name = args.name or ("base" if not args.set else "_".join(s.replace("=", "-") for s in args.set))
run = os.path.join(args.work, name)
os.makedirs(run, exist_ok=True)
json.dump(requests, open(os.path.join(run, "requests.json"), "w"))
json.dump(hparams, open(os.path.join(run, "hparams.json"), "w"), indent=1)
subprocess.run([args.alphaedit, "edit", "--model", args.model, "--config", os.path.join(run, "hparams.json"),
                "--stats-dir", args.stats_dir or os.path.join(args.model, "stats"), "--requests", os.path.join(run, "requests.json"),
                "--batch-size", str(len(requests)), "--threads", args.threads, "--output-dir", os.path.join(run, "out"), "-q"],
               check=True, stdout=subprocess.DEVNULL)

rows = [json.loads(line) for line in open(os.path.join(run, "out", "edits.jsonl"))]
def took(r):
    return r["after"]["target_new"]["probability"] > r["after"]["target_true"]["probability"]
print(f"{'subject':32s} {'z p(new)':>9s} {'after p(new)':>12s} {'p(true)':>8s}  took")
for r in rows:
    print(f"{r['subject'][:32]:32s} {r['target_optimisation']['probability_after']:9.3f} "
          f"{r['after']['target_new']['probability']:12.4f} {r['after']['target_true']['probability']:8.4f}  {'yes' if took(r) else 'no'}")
high = [r for r in rows if r["target_optimisation"]["probability_after"] >= 0.5]
low = [r for r in rows if r["target_optimisation"]["probability_after"] < 0.5]
print(f"\n{name}: {len(rows)} requests; compute_z reached p >= 0.5 for {len(high)} ({sum(map(took, high))} took), "
      f"below for {len(low)} ({sum(map(took, low))} took); {sum(map(took, rows))} took in all")
