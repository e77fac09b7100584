#!/usr/bin/env bash
# README command 2: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --cluster-tests
# Release mode with testing enabled: the same assertions, an order of magnitude faster than a
# debug build (the CLI tests spawn the alphaedit built beside the test bundle).
swift build -c release --build-tests -Xswiftc -enable-testing
# The tests' scratch files (and those of the processes they start) go into one directory, removed
# when this script ends; ALPHAEDIT_KEEP_TEST_FILES=1 keeps it and prints where it is.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/alphaedit-tests.XXXXXX")"
if [ "${ALPHAEDIT_KEEP_TEST_FILES:-0}" = 1 ]; then
    echo "test.sh: the tests' files stay in $scratch"
else
    trap 'rm -rf "$scratch"' EXIT
fi
TMPDIR="$scratch" swift test -c release --skip-build -Xswiftc -enable-testing
ALPHAEDIT="$PWD/.build/release/alphaedit" cluster/tests/run-all.sh
# Short coverage-guided fuzz runs of every parser and message (Fuzz/, libFuzzer + ASan): builds
# the harnesses into Fuzz/.build and fails, naming the harness and the crash input, on a crash.
echo "test.sh: fuzzing every harness briefly (scripts/fuzz.sh all ${ALPHAEDIT_FUZZ_SECONDS:-15})"
if ! scripts/fuzz.sh all "${ALPHAEDIT_FUZZ_SECONDS:-15}"; then
    echo "test.sh: FAILED: a fuzz harness did not build or found a crash (see the fuzz.sh lines above)" >&2
    exit 1
fi
