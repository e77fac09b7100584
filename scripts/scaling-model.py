#!/usr/bin/env python3
"""The cost model of docs/scaling.md, fitted to Benchmarks/results/cluster.json.

    python3 scripts/scaling-model.py [Benchmarks/results/cluster.json] > docs/scaling-tables.md

Standard library only. Fits per-thread rates to the 1-worker run, predicts the measured runs
(printed beside the measurements), then predicts each phase's time and memory per host for
Llama-3-8B- and 70B-shaped models on 4-64 hosts at three network speeds. Every assumption is a
named constant below; docs/scaling.md explains them.
"""
import json
import math
import re
import sys

# ---- Assumptions (see docs/scaling.md) ------------------------------------------------------
CORES_PER_HOST = 32            # threads per host, each at this machine's measured per-thread rate
THREAD_EFFICIENCY = 0.8        # fraction of CORES_PER_HOST x per-thread rate a host reaches
NETWORKS = [                   # (name, line rate in bytes/s, fraction ZeroMQ over TCP achieves)
    ("10 GbE", 10e9 / 8, 0.9),
    ("100 GbE", 100e9 / 8, 0.5),
    ("200 Gb/s InfiniBand (IPoIB)", 200e9 / 8, 0.35),
]
IPC_BYTES_PER_SECOND = 2e9     # loopback ipc on the measured machine (memcpy-bound), for the fit check
MESSAGE_LATENCY = 100e-6       # per message round trip on a LAN
STAT_SAMPLES = 100_000         # the official mom2_n_samples
TOKENS_PER_SAMPLE = 512        # assumed mean tokens per Wikipedia sample after truncation
CHUNK_SAMPLES = 1000           # alphaedit's default --chunk-samples
EDIT_LAYERS = 5                # the official Llama-3-8B hparams edit layers 4-8
MAX_EDIT_LAYER = 8
REQUESTS_PER_BATCH = 100
TARGET_STEPS = 25              # v_num_grad_steps
TEMPLATE_TOKENS = 10 * 20      # prompts per request x tokens: context templates x ~20 tokens
HOSTS = [4, 8, 16, 32, 64]

MODELS = {
    # name: (blocks, width d, MLP width d0, vocabulary, query heads, key/value heads)
    "Llama-3-8B": (32, 4096, 14336, 128256, 32, 8),
    "Llama-3-70B": (80, 8192, 28672, 128256, 64, 8),
}


def block_params(d, d0, heads, kv_heads):
    head = d // heads
    return 2 * d * d + 2 * d * kv_heads * head + 3 * d * d0


def load(path):
    with open(path) as f:
        report = json.load(f)
    return report["results"], report["run"]


def fit(results):
    """Per-thread rates from the 1-worker run (flop counts from the benchmark's counter)."""
    runs = {r["workers"]: r for r in results["runs"]}
    one = runs[1]["phases"]
    flops = results["flops"]
    rates = {
        "statistics": flops["statistics"] / one["statistics"]["critical_compute_seconds"],
        "projector": flops["projector"] / one["projectors"]["critical_compute_seconds"],
        "edit": (flops["targets"] + flops["keys"] + flops["solve"]) / one["edit_batch"]["critical_compute_seconds"],
    }
    # Fixed costs outside the workers' computation in the 1-worker run (loading and hashing the
    # checkpoint on PLAN, totals back, statistics files written), per byte loaded and written.
    width = int(re.search(r"width (\d+)", results["model"]).group(1))
    workload_bytes = 4 * (24 * 12 * width * width + 50257 * width) + len(results["edit_layers"]) * 8 * (4 * width) ** 2
    rates["overhead_per_byte"] = one["statistics"]["communication_seconds"] / workload_bytes
    rates["overhead"] = {k: one[k]["communication_seconds"] for k in one}
    return rates, runs


def predict_measured(results, rates, n):
    """The model's wall time per phase for the measured workload on n single-threaded workers."""
    flops = results["flops"]
    samples, chunk = results["statistics_samples"], results["chunk_samples"]
    chunks = math.ceil(samples / chunk)
    layers = len(results["edit_layers"])
    width = int(re.search(r"width (\d+)", results["model"]).group(1))
    d0 = 4 * width
    m = results["requests"]
    part = 8 * d0 * d0
    stats_net = (chunks * layers * part * (n - 1) / n + layers * part) / IPC_BYTES_PER_SECOND
    stats = flops["statistics"] / rates["statistics"] * math.ceil(chunks / n) / chunks + stats_net + rates["overhead"]["statistics"]
    projector = flops["projector"] / rates["projector"] * math.ceil(layers / n) / layers \
        + layers * (part + 4 * d0 * d0) / IPC_BYTES_PER_SECOND
    serial = flops["keys"] + flops["solve"]
    edit = (flops["targets"] * math.ceil(m / n) / m + serial) / rates["edit"] \
        + layers * (n + 1) * 4 * d0 * width / IPC_BYTES_PER_SECOND
    return {"statistics": stats, "projectors": projector, "edit_batch": edit}


def predict(name, shape, rates, hosts, network):
    blocks, d, d0, vocab, heads, kv = shape
    _, line, efficiency = network
    bw = line * efficiency
    host_rate = {k: v * CORES_PER_HOST * THREAD_EFFICIENCY for k, v in rates.items() if isinstance(v, float)}
    per_block = block_params(d, d0, heads, kv)
    params = blocks * per_block + 2 * vocab * d
    tokens = STAT_SAMPLES * TOKENS_PER_SAMPLE
    chunks = math.ceil(STAT_SAMPLES / CHUNK_SAMPLES)
    e = EDIT_LAYERS
    part = 8 * d0 * d0
    # Statistics: forward through the blocks up to the highest edit layer, Gram of each edit layer.
    stat_flops = tokens * (2 * per_block * (MAX_EDIT_LAYER + 1) + 4 * TOKENS_PER_SAMPLE * d * (MAX_EDIT_LAYER + 1) + e * d0 * d0)
    stat_compute = stat_flops / host_rate["statistics"] * math.ceil(chunks / hosts) / chunks
    stat_bytes_per_host = math.ceil(chunks / hosts) * e * part * (hosts - 1) / hosts
    stat_net = stat_bytes_per_host / bw + e * part / bw          # parts to owners, totals to the coordinator
    stats = max(stat_compute, stat_net) + part / bw + rates["overhead_per_byte"] * (4 * params + e * part)
    # Projectors: dsyevd on one thread (determinism), 9 d0^3 + forming P, 2 d0^3.
    proj = 11 * d0 ** 3 / rates["projector"] * math.ceil(e / hosts) + e * 4 * d0 * d0 / bw
    # Edit batch: targets split over hosts; layers one after another on their owners; deltas broadcast.
    target_flops = REQUESTS_PER_BATCH * TARGET_STEPS * 3 * 2 * params * TEMPLATE_TOKENS   # forward + backward per step
    targets = target_flops / host_rate["edit"] * math.ceil(REQUESTS_PER_BATCH / hosts) / REQUESTS_PER_BATCH
    solve_flops = e * (6 * d0 ** 3 + 2 * d0 * d0 * d)          # P(KK^T+C)P products, LU, P K R^T
    keys_flops = e * REQUESTS_PER_BATCH * TEMPLATE_TOKENS * 2 * per_block * (MAX_EDIT_LAYER + 1)
    layers = (solve_flops + keys_flops) / host_rate["edit"]
    broadcast = e * hosts * 4 * d0 * d / bw + e * 2 * MESSAGE_LATENCY * hosts
    edit = targets + layers + broadcast
    # Memory per host: the model in float32, activations of one window, an owned layer's state.
    owned = math.ceil(e / hosts)
    memory = 4 * params + owned * (part * 2 + 3 * part + 4 * d0 * d0 * 2)
    return {"statistics": stats, "stat_net": stat_net, "projectors": proj, "edit_batch": edit, "broadcast": broadcast,
            "memory": memory, "params": params, "tokens": tokens}


def hours(s):
    return f"{s / 3600:.2f} h" if s >= 3600 else (f"{s / 60:.1f} min" if s >= 60 else f"{s:.1f} s")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "Benchmarks/results/cluster.json"
    results, run = load(path)
    rates, runs = fit(results)
    rates_only = {k: v for k, v in rates.items() if isinstance(v, float) and k != "overhead_per_byte"}
    print(f"<!-- generated by scripts/scaling-model.py from {path} (commit {run['git_commit'][:10]}) -->")
    print("### Fitted rates (one thread, from the 1-worker run)\n")
    print("| phase | work (GFLOP) | rate (GFLOP/s per thread) |\n| --- | ---: | ---: |")
    flops = results["flops"]
    print(f"| statistics | {flops['statistics'] / 1e9:.1f} | {rates['statistics'] / 1e9:.1f} |")
    print(f"| projectors (dsyevd + P) | {flops['projector'] / 1e9:.1f} | {rates['projector'] / 1e9:.1f} |")
    print(f"| edit batch (targets, keys, solve) | {(flops['targets'] + flops['keys'] + flops['solve']) / 1e9:.1f} | {rates['edit'] / 1e9:.1f} |")
    print(f"\nSGEMM on one thread here: {results['sgemm_one_thread_gflops']:.1f} GFLOP/s. Fixed cost of a statistics pass outside "
          f"the chunks (1-worker run): {rates['overhead']['statistics']:.1f} s, i.e. {rates['overhead_per_byte'] * 1e9:.1f} s per GB "
          "of checkpoint loaded plus statistics written.\n")
    print("### The model beside the measurement\n")
    print("| workers | phase | measured | model | measured communication | bytes via coordinator | bytes worker to worker |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for n, r in sorted(runs.items()):
        model = predict_measured(results, rates, n)
        for phase in ["statistics", "projectors", "edit_batch"]:
            p = r["phases"][phase]
            print(f"| {n} | {phase} | {p['seconds']:.1f} s | {model[phase]:.1f} s | {p['communication_seconds']:.2f} s "
                  f"| {p['coordinator_bytes'] / 1e6:.1f} MB | {p['peer_bytes'] / 1e6:.1f} MB |")
    for name, shape in MODELS.items():
        print(f"\n### {name}-shaped model\n")
        base = predict(name, shape, rates, 1, NETWORKS[0])
        print(f"{base['params'] / 1e9:.1f} B parameters; statistics over {base['tokens'] / 1e6:.0f} M tokens; "
              f"{EDIT_LAYERS} edit layers; batches of {REQUESTS_PER_BATCH} requests.\n")
        print("| hosts | network | statistics | (of which network) | projectors | edit batch | (of which Δ broadcast) | memory per host |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for hosts in HOSTS:
            for network in NETWORKS:
                p = predict(name, shape, rates, hosts, network)
                print(f"| {hosts} | {network[0]} | {hours(p['statistics'])} | {hours(p['stat_net'])} | {hours(p['projectors'])} "
                      f"| {hours(p['edit_batch'])} | {hours(p['broadcast'])} | {p['memory'] / 2**30:.0f} GiB |")


if __name__ == "__main__":
    main()
