#!/usr/bin/env bash
# Runs the test suite under sanitizers (docs/sanitizers.md):
#
#   scripts/sanitize.sh [address|thread|all] [extra `swift test` arguments…]
#
#   address  AddressSanitizer on every target (Swift and C), plus UndefinedBehaviorSanitizer on
#            the C target (the protobuf-c code): the whole Swift test suite, built into .build-asan.
#            swiftc rejects -sanitize=undefined on Linux ("unsupported option '-sanitize=undefined'
#            for target 'x86_64-unknown-linux-gnu'"), so SwiftPM's --sanitize=undefined cannot be
#            used; UBSan is passed to clang only (-Xcc -fsanitize=undefined) and its handlers come
#            from the ASan runtime. Swift code has its own always-on checks (overflow, bounds,
#            unwrap) that trap instead.
#   thread   ThreadSanitizer on every target: the cluster suites (the ClusterTests target and the
#            distributed CLI suites of alphaeditTests), built into .build-tsan.
#   all      address, then thread (the default).
#
# Extra arguments go to `swift test` (e.g. `--filter LinalgTests`; for thread they replace the
# default cluster filter only when they contain a --filter).
# Tests that spawn the CLI run the sanitized `alphaedit` from the same build directory (CLIRunner
# finds it beside the test bundle) and inherit the options below. Every report, from the test
# process or from a spawned alphaedit, is written to a log file (log_path), so a finding in a
# child whose non-zero exit a test expected is still caught: the mode fails when any report file
# exists, whatever the tests said. Set SANITIZE_CLUSTER_SHELL=1 to also run
# cluster/tests/run-all.sh with the TSan alphaedit.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=${1:-all}
[ $# -gt 0 ] && shift
case "$mode" in
  address|thread|all) ;;
  -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
  *) echo "usage: scripts/sanitize.sh [address|thread|all] [swift test args…]" >&2; exit 2 ;;
esac

cluster_filter='ClusterTests\.|DistributedCommandTests|WorkerLossTests|CoordinatorRestartTests'
summary=()
failed=0

# run_mode NAME BUILD_PATH REPORT_DIR SWIFT_FLAGS… -- TEST_ARGS…
run_mode() {
  local name=$1 build_path=$2 reports=$3; shift 3
  local flags=() test_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  test_args=("$@")
  rm -rf "$reports"; mkdir -p "$reports"

  local start=$SECONDS
  echo "==> sanitize.sh $name: swift build -c release --build-path $build_path --build-tests -Xswiftc -enable-testing ${flags[*]}"
  if ! nice -n 5 swift build -c release --build-path "$build_path" --build-tests -Xswiftc -enable-testing "${flags[@]}"; then
    summary+=("sanitize.sh $name: FAILED: the build failed ($((SECONDS - start)) s)")
    failed=1; return
  fi
  local built=$((SECONDS - start)); start=$SECONDS
  echo "==> sanitize.sh $name: swift test -c release --build-path $build_path --skip-build ${test_args[*]}"
  local log="$reports/swift-test.log" status
  swift test -c release --build-path "$build_path" --skip-build -Xswiftc -enable-testing "${flags[@]}" \
    "${test_args[@]}" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if [ "$name" = thread ] && [ "${SANITIZE_CLUSTER_SHELL:-0}" = 1 ] && [ "$status" = 0 ]; then
    ALPHAEDIT="$root/$build_path/release/alphaedit" cluster/tests/run-all.sh || status=$?
  fi
  local ran=$((SECONDS - start))
  local counts
  counts=$(grep -Eo 'Test run with [0-9]+ tests?( in [0-9]+ suites?)? (passed|failed)( after [0-9.]+ seconds)?' "$log" | tail -1)
  local found
  found=$(find "$reports" -name 'report.*' -size +0 | sort)
  if [ -n "$found" ]; then
    echo "==> sanitize.sh $name: sanitizer reports:" >&2
    for f in $found; do echo "--- $f" >&2; cat "$f" >&2; done
    summary+=("sanitize.sh $name: FAILED: $(echo "$found" | wc -l) sanitizer report(s) in $reports; swift test exit $status; ${counts:-no test count}; build ${built} s, tests ${ran} s")
    failed=1
  elif [ "$status" != 0 ]; then
    summary+=("sanitize.sh $name: FAILED: no sanitizer report, but swift test exited $status; ${counts:-no test count}; build ${built} s, tests ${ran} s")
    failed=1
  else
    summary+=("sanitize.sh $name: clean: ${counts:-tests passed}; build ${built} s, tests ${ran} s")
  fi
}

if [ "$mode" = address ] || [ "$mode" = all ]; then
  reports=$root/.build-asan/sanitizer-reports
  # Leak detection is off: the Swift runtime and Foundation keep metadata and caches alive until
  # exit by design, which LeakSanitizer reports as leaks.
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$reports/report.asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/report.ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    run_mode address .build-asan "$reports" --sanitize=address -Xcc -fsanitize=undefined -- "$@"
fi

if [ "$mode" = thread ] || [ "$mode" = all ]; then
  reports=$root/.build-tsan/sanitizer-reports
  args=("$@")
  case " $* " in *" --filter"*) ;; *) args=(--filter "$cluster_filter" "$@") ;; esac
  supp=""
  if grep -qv '^[[:space:]]*\(#\|$\)' scripts/tsan.supp 2>/dev/null; then supp=":suppressions=$root/scripts/tsan.supp"; fi
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/report.tsan$supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
    run_mode thread .build-tsan "$reports" --sanitize=thread -- "${args[@]}"
fi

echo
for line in "${summary[@]}"; do echo "$line"; done
exit $failed
