#!/usr/bin/env bash
# Runs one libFuzzer harness of Fuzz/ (or all of them) for a while. Usage:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   scripts/fuzz.sh all SECONDS [libFuzzer options...]
#   scripts/fuzz.sh list
# TARGET is a harness (FuzzSafetensors, FuzzEnvelope…; the "Fuzz" prefix may be left out). SECONDS
# 0 means no time limit (then give -runs=N). The harnesses are built (if needed) into Fuzz/.build
# with -sanitize=fuzzer,address; each run works on a scratch copy of its seed corpus
# Fuzz/Corpus/TARGET (FUZZ_SAVE_CORPUS=1 merges new inputs back into the committed corpus). Crash,
# timeout and OOM inputs are written under FUZZ_ARTIFACTS (default: the scratch directory) and
# named in the failure message. A mktemp scratch directory is removed after a clean run (kept
# after a failure, or with FUZZ_KEEP_SCRATCH=1). Exits non-zero if a harness fails to build or any
# run finds a crash.
#
# Environment: FUZZ_ARTIFACTS, FUZZ_SCRATCH (scratch root, default a mktemp directory),
# FUZZ_SAVE_CORPUS=1, FUZZ_KEEP_SCRATCH=1, FUZZ_NO_BUILD=1 (use the binaries as built), FUZZ_NICE (default 5).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
HARNESSES=(FuzzSafetensors FuzzModelConfig FuzzTokenizer FuzzTokenizerEncode FuzzHyperParameters FuzzRequests
           FuzzContextTemplates FuzzNPZ FuzzEditFiles FuzzEnvelope)
BIN="$ROOT/Fuzz/.build/release"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
if [ "$1" = "list" ]; then printf '%s\n' "${HARNESSES[@]}"; exit 0; fi
[ $# -ge 2 ] || usage
TARGET="$1"; SECONDS_PER_RUN="$2"; shift 2
case "$SECONDS_PER_RUN" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$SECONDS_PER_RUN'" >&2; exit 2;; esac

if [ "$TARGET" = "all" ]; then
    TARGETS=("${HARNESSES[@]}")
else
    case "$TARGET" in Fuzz*) ;; *) TARGET="Fuzz$TARGET";; esac
    found=0; for h in "${HARNESSES[@]}"; do [ "$h" = "$TARGET" ] && found=1; done
    if [ $found = 0 ]; then echo "fuzz.sh: no harness '$TARGET'; harnesses: ${HARNESSES[*]}" >&2; exit 2; fi
    TARGETS=("$TARGET")
fi
NICE="${FUZZ_NICE:-5}"

# Build (incremental; a no-op when nothing changed).
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    echo "fuzz.sh: building the harnesses (Fuzz/.build, -sanitize=fuzzer,address)…"
    products=(); for t in "${TARGETS[@]}"; do products+=(--product "$t"); done
    log="$(mktemp)"
    build() {
        nice -n "$NICE" swift build -c release --package-path Fuzz --build-path Fuzz/.build \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product "$1" >"$log" 2>&1
    }
    for t in "${TARGETS[@]}"; do
        # SwiftPM keeps the root package's file list from the last build plan: after files were
        # added there, a harness fails to compile ("extra argument …"). Planning again fixes it.
        built=0; build "$t" || built=$?
        if [ $built -ne 0 ] && grep -q "error:" "$log"; then
            echo "fuzz.sh: the build of $t failed; planning the build again (Fuzz/.build/release.yaml, build.db) and retrying" >&2
            rm -f Fuzz/.build/release.yaml Fuzz/.build/build.db
            built=0; build "$t" || built=$?
        fi
        if [ $built -ne 0 ]; then
            grep -v "Cannot export local symbol" "$log" | grep -E "error|warning: unable|fatal" | head -20 >&2
            echo "fuzz.sh: FAILED to build the harness $t (swift build -c release --package-path Fuzz --build-path Fuzz/.build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product $t)" >&2
            rm -f "$log"; exit 1
        fi
    done
    rm -f "$log"
fi

SCRATCH="${FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/alphaedit-fuzz.XXXXXX")}"
mkdir -p "$SCRATCH"
status=0
summary=()
for t in "${TARGETS[@]}"; do
    exe="$BIN/$t"
    if [ ! -x "$exe" ]; then echo "fuzz.sh: $exe is missing; build it first" >&2; exit 1; fi
    work="$SCRATCH/$t"; corpus="$work/corpus"; artifacts="${FUZZ_ARTIFACTS:-$work/artifacts}/"
    mkdir -p "$corpus" "$artifacts"
    [ -d "Fuzz/Corpus/$t" ] && cp -R "Fuzz/Corpus/$t/." "$corpus/"
    dict=(); [ -f "Fuzz/Dictionaries/$t.dict" ] && dict=(-dict="Fuzz/Dictionaries/$t.dict")
    # Leak checks off where a dependency leaks on every input (not ours to fix): ZIPFoundation the
    # path buffer of each archive it opens (FuzzNPZ), Foundation's NSRegularExpression the
    # pattern of each regex it refuses (FuzzTokenizer).
    asan="${ASAN_OPTIONS:-}"
    case "$t" in FuzzNPZ|FuzzTokenizer) dict+=(-detect_leaks=0); asan="detect_leaks=0${asan:+:$asan}";; esac
    limit=(); [ "$SECONDS_PER_RUN" != 0 ] && limit=(-max_total_time="$SECONDS_PER_RUN")
    echo "fuzz.sh: $t for ${SECONDS_PER_RUN}s on $(ls "$corpus" | wc -l) seeds (scratch $work)"
    ASAN_OPTIONS="$asan" ALPHAEDIT_ROOT="$ROOT" nice -n "$NICE" "$exe" "$corpus" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" "$@" >"$work/log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' | tail -1)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log" | grep -o '[0-9]*$' | tail -1)
    size=$(ls "$corpus" | wc -l)
    if [ $rc -eq 0 ]; then
        line="$t: ok, ${execs:-?} inputs, ${speed:-?} exec/s, corpus $size"
    else
        crash=$(grep -o "Test unit written to [^ ]*" "$work/log" | tail -1 | sed 's/Test unit written to //')
        reason=$(grep -m1 -E "==ERROR|Fatal error|fuzz contract|deadly signal|timeout|out-of-memory" "$work/log" | cut -c1-300)
        line="$t: FAILED (exit $rc) after ${execs:-?} inputs: ${reason:-see log}; input ${crash:-not written}; log $work/log"
        tail -40 "$work/log" >&2
        status=1
    fi
    echo "fuzz.sh: $line"
    summary+=("$line")
    if [ "${FUZZ_SAVE_CORPUS:-0}" = 1 ] && [ $rc -eq 0 ]; then
        mkdir -p "Fuzz/Corpus/$t"
        ALPHAEDIT_ROOT="$ROOT" nice -n "$NICE" "$exe" -merge=1 "Fuzz/Corpus/$t" "$corpus" -max_len=65536 >"$work/merge.log" 2>&1 \
            && echo "fuzz.sh: merged new inputs into Fuzz/Corpus/$t ($(ls "Fuzz/Corpus/$t" | wc -l) files)"
    fi
done
if [ ${#TARGETS[@]} -gt 1 ]; then
    echo "fuzz.sh: summary"
    printf '  %s\n' "${summary[@]}"
fi
# A scratch directory of our own goes when every harness passed; a failure keeps its logs and inputs.
if [ $status -eq 0 ] && [ -z "${FUZZ_SCRATCH:-}" ] && [ -z "${FUZZ_ARTIFACTS:-}" ] && [ "${FUZZ_KEEP_SCRATCH:-0}" != 1 ]; then
    rm -rf "$SCRATCH"
fi
exit $status
