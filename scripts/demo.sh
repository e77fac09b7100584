#!/usr/bin/env bash
# README command 1: install what is missing, build in release mode, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product alphaedit
exec .build/release/alphaedit demo "$@"
