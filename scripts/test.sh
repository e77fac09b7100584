#!/usr/bin/env bash
# README command 2: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --cluster-tests
swift build --build-tests
swift test --skip-build
cluster/tests/run-all.sh
