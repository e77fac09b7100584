#!/usr/bin/env python3
"""Hyper-parameter search on the development slice (records 0:200 of each dataset).

Each setting is the shipped hparams file with some keys changed; each is run with
`alphaedit experiment` (batches of 100, metrics after each batch, no generation) on CounterFact and
zsRE records 0:200, and one line per setting is printed as a Markdown table row. Results are cached
as JSON under --work, so an interrupted search continues where it stopped.

  python3 scripts/hparams-search.py --settings search.json --work /tmp/search

search.json: {"name": {"key": value, ...}, ...} (an empty object is the shipped file itself).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = {"counterfact": "counterfact-preknown-1093.json", "zsre": "zsre-easyedit-portability-1037.json"}


def run(binary, model, hparams, dataset, records, algorithms, work, name, threads=None):
    out = os.path.join(work, f"{name}-{dataset}")
    summary = out + ".json"
    if os.path.exists(summary):
        return json.load(open(summary))
    data = os.path.join(ROOT, "Data", DATA[dataset])
    command = [binary, "experiment", "--model", model, "--config", hparams, "--dataset", dataset, "--data", data,
               "--records", records, "--batch-size", "100", "--eval-every", "100", "--algorithms", algorithms,
               "--no-generation", "--output-dir", out, "--json", "-q"] + (["--threads", str(threads)] if threads else [])
    print("$ " + " ".join(command), file=sys.stderr)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{name} on {dataset} failed:\n{result.stderr}")
    data = json.loads(result.stdout)
    json.dump(data, open(summary, "w"))
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", required=True, help="JSON object: setting name -> hparams keys to change")
    parser.add_argument("--work", required=True, help="directory for hparams files, reports and the cache")
    parser.add_argument("--model", default=os.path.join(ROOT, "Models/knowledge-gpt2"))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/alphaedit"))
    parser.add_argument("--records", default="0:200")
    parser.add_argument("--algorithms", default="alphaedit")
    parser.add_argument("--datasets", default="counterfact,zsre")
    parser.add_argument("--threads", type=int, help="threads of each experiment (default: alphaedit's, every core)")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    base = json.load(open(os.path.join(args.model, "alphaedit-hparams.json")))
    settings = json.load(open(args.settings))
    header = "| setting | changes | method | CF Eff. | CF Gen. | CF Spe. | zsRE Eff. | zsRE Gen. | zsRE Spe. |"
    print(header)
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, changes in settings.items():
        hparams = dict(base, **changes)
        path = os.path.join(args.work, f"{name}.json")
        json.dump(hparams, open(path, "w"), indent=1)
        results = {d: run(args.binary, args.model, path, d, args.records, args.algorithms, args.work, name, args.threads)
                   for d in args.datasets.split(",")}
        methods = ["unedited"] + args.algorithms.split(",")
        for method in methods:
            cells = []
            cf = results.get("counterfact", {}).get("methods", {}).get(method, {})
            zs = results.get("zsre", {}).get("methods", {}).get(method, {})
            for source, key in [(cf, "efficacy_score"), (cf, "paraphrase_score"), (cf, "neighborhood_score"),
                                (zs, "rewrite_acc"), (zs, "paraphrase_acc"), (zs, "neighborhood_acc")]:
                cells.append(f"{source[key]:.1f}" if key in source else "–")
            change = ", ".join(f"{k} {json.dumps(v)}" for k, v in changes.items()) or "(as shipped)"
            print(f"| {name} | {change} | {method} | " + " | ".join(cells) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
