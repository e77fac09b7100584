#!/usr/bin/env bash
# The official AlphaEdit code and alphaedit on the same edit workload, one after the other, on
# this machine (issue 12, point 4). Run it on an otherwise idle machine: it prints the load before
# each run and records it with the results. The whole GPT-2-medium workload (100 edits, 10,000
# statistics samples) takes about 2.9 hours on 2 cores, 2.2 of them the official code.
#
#   Benchmarks/official/side-by-side.sh [--samples N] [--requests N] [--work DIR] [--tag NAME]
#       [--venv DIR] [--official-cpu DIR] [--projectors FILE] [--targets FILE] [--force] [--smoke]
#       [--part both|official|official-statistics|official-edit|official-targets|official-keys-solve|alphaedit|compare]
#
# --part official runs only the official code and keeps its results, with this machine's CPU, in
# the work directory; a later --part alphaedit (same --work, --samples, --requests) runs alphaedit
# against them and writes the results, refusing when the CPU model, core count or instruction
# set flags differ from the official run's. The two parts may then run at different times, each
# on an idle machine.
# The official run alone outlasts a 3-hour sitting, so it splits further: official-statistics
# (get_project: statistics and projector; keeps the official P) and official-edit
# (apply_AlphaEdit_to_model: targets, keys, solve) with P from --projectors (default: the P that
# the last --part alphaedit saved in the work directory; its report compares it with the official
# P when that is there). official-edit splits again into official-targets (the compute_z calls;
# keeps the official z) and official-keys-solve (the rest, with every z given through the official
# v_star cache: --targets, default the z that the last --part alphaedit saved). No stage's work
# depends on how the earlier ones were run, so the parts add up to the whole run's times.
# --part alphaedit compares against the parts present; each must have run on this CPU. --part
# compare rates alphaedit's report again when official parts ran after it: their times, and the
# official deltas and z against alphaedit's when present (it needs no idle machine).
#
# Writes Benchmarks/results/<tag>-official.json (the official stage times), <tag>.json
# (alphaedit's run with the comparison, the goals and the deltas' distance from the official
# ones) and <tag>-machine.txt (commit, load and processes before and after each run, and the load
# and busiest processes every minute during each).
# Defaults: 10,000 samples, 100 requests, tag edit-side-by-side, work directory
# /tmp/alphaedit-side-by-side, venv /work/venv-official, official code
# /work/official-bench/official_cpu (Benchmarks/official/README.md says how to set both up).
# Each run first waits up to five minutes for the 1-minute load to fall to 0.5 (the build before
# it raises it); --force then runs anyway. --smoke checks the set-up in a minute: a
# tiny model (6 blocks of width 128), 300 samples, 5 requests, results in the work directory only.
set -euo pipefail
cd "$(dirname "$0")/../.."

samples=10000 requests=100 work=/tmp/alphaedit-side-by-side tag=edit-side-by-side
venv=/work/venv-official official_cpu=/work/official-bench/official_cpu force=0 smoke=0 part=both projectors="" targets=""
while [ $# -gt 0 ]; do
    case "$1" in
        --samples) samples="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --tag) tag="$2"; shift 2 ;;
        --venv) venv="$2"; shift 2 ;;
        --official-cpu) official_cpu="$2"; shift 2 ;;
        --part) part="$2"; shift 2 ;;
        --projectors) projectors="$2"; shift 2 ;;
        --targets) targets="$2"; shift 2 ;;
        --force) force=1; shift ;;
        --smoke) smoke=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "side-by-side.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

case "$part" in
    both|official|official-statistics|official-edit|official-targets|official-keys-solve|alphaedit|compare) ;;
    *) echo "side-by-side.sh: --part is both, official, official-statistics, official-edit, official-targets, official-keys-solve, alphaedit or compare, not '$part'" >&2; exit 2 ;;
esac

python="$venv/bin/python"
needs_official=1
case "$part" in alphaedit|compare) needs_official=0 ;; esac
if [ "$needs_official" = 1 ] && ! "$python" -c "import torch, transformers" 2>/dev/null; then
    echo "side-by-side.sh: $python cannot import torch and transformers; set up the venv as Benchmarks/official/README.md says (or give --venv)" >&2
    exit 1
fi
if [ "$needs_official" = 1 ] && [ ! -f "$official_cpu/AlphaEdit/AlphaEdit_main.py" ]; then
    echo "side-by-side.sh: $official_cpu is not the patched official code (no AlphaEdit/AlphaEdit_main.py); see Benchmarks/official/README.md (or give --official-cpu)" >&2
    exit 1
fi

results=Benchmarks/results
shape=() suffix=""
if [ "$smoke" = 1 ]; then
    suffix=-smoke samples=300 requests=5 force=1 results="$work/results"
    shape=(--layers 6 --width 128 --heads 4 --vocab 4096 --positions 128)
    mkdir -p "$results"
fi
# One workload per shape, reused by later runs of the same shape.
run_id="$samples-samples-$requests-requests$suffix"
workload="$work/workload-$run_id"
machine="$results/$tag-machine.txt"
mkdir -p "$work"

# The machine's state: the load, and what else runs.
state() {
    echo "== $1: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    ps -eo pid,pcpu,rss,etime,comm --sort=-pcpu | head -8
    echo
}
# The load and the busiest processes every minute while a run runs, so that anything else that ran
# beside it shows in the record (the first sample at the start): start_samples FILE; ...;
# stop_samples FILE (prints a summary and the samples).
sampler=""
start_samples() {
    ( while :; do
        echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $(ps -eo pcpu,comm --sort=-pcpu | sed -n 2,4p | awk '{printf "%s %s; ", $1, $2}')"
        sleep 60
      done ) > "$1" &
    sampler=$!
}
stop_samples() {
    local sleeper
    sleeper="$(pgrep -P "$sampler" || true)"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    [ -z "$sleeper" ] || kill $sleeper 2>/dev/null || true
    sampler=""
    echo "load during the run, every minute ($(wc -l < "$1") samples): highest 1-minute load $(awk '{print $3}' "$1" | sort -g | tail -1)"
    cat "$1"
    echo
}
trap '[ -z "$sampler" ] || { pkill -P "$sampler" 2>/dev/null; kill "$sampler" 2>/dev/null; }' EXIT

idle_check() {
    local load waited=0
    load="$(cut -d' ' -f1 /proc/loadavg)"
    # The build just before raises the 1-minute load for a while: wait up to five minutes for it to fall.
    while awk -v l="$load" 'BEGIN { exit !(l > 0.5) }' && [ "$waited" -lt 300 ]; do
        sleep 10; waited=$((waited + 10))
        load="$(cut -d' ' -f1 /proc/loadavg)"
    done
    if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
        if [ "$force" = 1 ]; then
            echo "side-by-side.sh: 1-minute load $load: not idle (--force: running anyway, the load is recorded)" >&2
        else
            echo "side-by-side.sh: 1-minute load $load: the machine is not idle; stop what runs (ps above) or pass --force" >&2
            ps -eo pid,pcpu,etime,comm --sort=-pcpu | head -6 >&2
            exit 1
        fi
    fi
}

echo "side-by-side.sh: building alphaedit-bench"
swift build -c release --scratch-path .build-bench --product alphaedit-bench >/dev/null
bench=.build-bench/release/alphaedit-bench

if [ ! -f "$workload/workload.json" ]; then
    echo "side-by-side.sh: writing the workload ($samples samples, $requests requests) to $workload"
    "$bench" edit prepare --output "$workload" --samples "$samples" --requests "$requests" --overwrite "${shape[@]}"
fi

# The CPU (model, core count, instruction set flags), which both parts must share.
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, flags $(grep -m1 '^flags' /proc/cpuinfo | md5sum | cut -c1-8)"

# One official run: run_official NAME ARGS... (NAME: official, official-statistics or official-edit)
# writes $work/NAME-$run_id.json and $work/NAME-machine-$run_id.txt.
run_official() {
    local name="$1"; shift
    local record="$work/$name-machine-$run_id.txt"
    {
        echo "cpu: $cpu"
        echo "commit $(git rev-parse HEAD)$(git diff --quiet && echo '' || echo ' (uncommitted changes)')"
        echo "workload: $samples samples, $requests requests ($workload)"
        echo "command: $0 --samples $samples --requests $requests --tag $tag --part $part${projectors:+ --projectors $projectors}${targets:+ --targets $targets}"
        echo
    } > "$record.partial"
    idle_check
    state "before the $name run" | tee -a "$record.partial"
    echo "side-by-side.sh: the official code, $name (progress on standard error)"
    start_samples "$work/load-$name-$run_id.txt"
    "$python" Benchmarks/official/official_edit_bench.py --workload "$workload" --official-cpu "$official_cpu" \
        --output "$work/$name-$run_id.json" --threads 2 --quiet "$@"
    stop_samples "$work/load-$name-$run_id.txt" >> "$record.partial"
    state "after the $name run" | tee -a "$record.partial"
    mv "$record.partial" "$record"
    echo "side-by-side.sh: wrote $work/$name-$run_id.json"
}

case "$part" in
    both|official)
        run_official official --save-deltas "$work/official-deltas-$run_id.safetensors" \
            --save-projectors "$work/official-P-$run_id.safetensors" --save-targets "$work/official-z-$run_id.safetensors" ;;
    official-statistics)
        run_official official-statistics --stages statistics --save-projectors "$work/official-P-$run_id.safetensors" ;;
    official-edit|official-keys-solve)
        p="${projectors:-$work/alphaedit-P-$run_id.safetensors}"
        if [ ! -f "$p" ]; then
            echo "side-by-side.sh: no projectors at $p: run --part alphaedit first (it saves them there) or give --projectors FILE" >&2
            exit 1
        fi
        if [ "$part" = official-edit ]; then
            run_official official-edit --stages edit --projectors "$p" --save-deltas "$work/official-deltas-$run_id.safetensors" \
                --save-targets "$work/official-z-$run_id.safetensors"
        else
            z="${targets:-$work/alphaedit-z-$run_id.safetensors}"
            if [ ! -f "$z" ]; then
                echo "side-by-side.sh: no targets at $z: run --part alphaedit first (it saves them there) or give --targets FILE" >&2
                exit 1
            fi
            run_official official-keys-solve --stages keys-solve --projectors "$p" --targets "$z" \
                --save-deltas "$work/official-deltas-$run_id.safetensors"
        fi ;;
    official-targets)
        run_official official-targets --stages targets --save-targets "$work/official-z-$run_id.safetensors" ;;
esac
if [ "$part" != both ] && [ "$part" != alphaedit ] && [ "$part" != compare ]; then
    echo "side-by-side.sh: run --part alphaedit (same --work, --samples, --requests) next"
    exit 0
fi

# The official times to compare with: the whole run's, else the parts present (each from this CPU),
# merged into $official_json.
parts=()
official_json="$work/official-combined-$run_id.json"
combine_official() {
    if [ -f "$work/official-$run_id.json" ]; then
        parts=(official)
    else
        for name in official-statistics official-edit official-targets official-keys-solve; do
            [ -f "$work/$name-$run_id.json" ] && parts+=("$name")
        done
    fi
    if [ ${#parts[@]} -eq 0 ]; then
        echo "side-by-side.sh: no official run for this workload in $work (run --part official, or its parts, first)" >&2
        exit 1
    fi
    local name line
    for name in "${parts[@]}"; do
        line="$(sed -n 's/^cpu: //p' "$work/$name-machine-$run_id.txt" 2>/dev/null | head -1)"
        if [ "$line" != "$cpu" ]; then
            echo "side-by-side.sh: the $name run was on '${line:-?}', this machine is '$cpu': the times would not compare; run --part $name here" >&2
            exit 1
        fi
    done
    RUN_ID="$run_id" python3 - "$official_json" "${parts[@]/#/$work/}" <<'PY'
import json, os, sys
out, files = sys.argv[1], sys.argv[2:]
parts = [json.load(open(f"{f}-{os.environ['RUN_ID']}.json")) for f in files]
if len(parts) == 1 and "total_seconds" in parts[0]:
    combined = parts[0]
else:
    combined = {"implementation": parts[0]["implementation"], "stages": {},
                "note": "the official run in parts, each timed in its own process (no total_seconds: the stage sum stands for it)",
                "peak_rss_bytes": max(p["peak_rss_bytes"] for p in parts), "parts": {}}
    for f, p in zip(files, parts):
        combined["stages"].update(p["stages"])
        combined["parts"][os.path.basename(f)] = p
json.dump(combined, open(out + ".partial", "w"), indent=1)
os.replace(out + ".partial", out)
PY
}

# Results/: the official times, alphaedit's report and the machine record (every part's, then alphaedit's).
publish() {
    local name
    {
        for name in "${parts[@]}"; do cat "$work/$name-machine-$run_id.txt"; echo; done
        cat "$work/alphaedit-machine-$run_id.txt"
    } > "$machine.partial"
    cp "$official_json" "$results/$tag-official.json.partial" && mv "$results/$tag-official.json.partial" "$results/$tag-official.json"
    cp "$work/alphaedit-$run_id.json" "$results/$tag.json.partial" && mv "$results/$tag.json.partial" "$results/$tag.json"
    mv "$machine.partial" "$machine"
    echo "side-by-side.sh: wrote $results/$tag.json, $results/$tag-official.json and $machine"
}

combine_official
if [ "$part" = compare ]; then
    # Official parts that ran after alphaedit (they read its P and z): rate its report again.
    if [ ! -f "$work/alphaedit-$run_id.json" ]; then
        echo "side-by-side.sh: no alphaedit report in $work (run --part alphaedit first)" >&2
        exit 1
    fi
    compare=()
    [ -f "$work/official-deltas-$run_id.safetensors" ] && compare+=(--deltas "$work/alphaedit-deltas-$run_id.safetensors" \
        --reference-deltas "$work/official-deltas-$run_id.safetensors")
    [ -f "$work/official-z-$run_id.safetensors" ] && compare+=(--targets "$work/alphaedit-z-$run_id.safetensors" \
        --reference-targets "$work/official-z-$run_id.safetensors")
    "$bench" edit compare --report "$work/alphaedit-$run_id.json" --official "$official_json" "${compare[@]}" \
        --output "$work/alphaedit-$run_id.json"
    publish
    exit 0
fi

record="$work/alphaedit-machine-$run_id.txt"
{
    echo "alphaedit's run: commit $(git rev-parse HEAD)$(git diff --quiet && echo '' || echo ' (uncommitted changes)'), command: $0 --samples $samples --requests $requests --tag $tag --part $part"
    echo
} > "$record.partial"
idle_check
state "before alphaedit's run" | tee -a "$record.partial"
echo "side-by-side.sh: alphaedit"
compare=()
[ -f "$work/official-deltas-$run_id.safetensors" ] && compare+=(--reference-deltas "$work/official-deltas-$run_id.safetensors")
[ -f "$work/official-P-$run_id.safetensors" ] && compare+=(--reference-projectors "$work/official-P-$run_id.safetensors")
[ -f "$work/official-z-$run_id.safetensors" ] && compare+=(--reference-targets "$work/official-z-$run_id.safetensors")
start_samples "$work/load-alphaedit-$run_id.txt"
"$bench" edit run --workload "$workload" --threads 2 --official "$official_json" "${compare[@]}" \
    --save-projectors "$work/alphaedit-P-$run_id.safetensors" --save-targets "$work/alphaedit-z-$run_id.safetensors" \
    --save-deltas "$work/alphaedit-deltas-$run_id.safetensors" --output "$work/alphaedit-$run_id.json"
stop_samples "$work/load-alphaedit-$run_id.txt" >> "$record.partial"
state "after alphaedit's run" | tee -a "$record.partial"
mv "$record.partial" "$record"
publish
