#!/usr/bin/env bash
# The cluster tests that need more than `swift test`: Kubernetes manifest validation, the ssh
# hostfile launcher, a multi-host run in network namespaces, the Slurm batch script on a real
# single-node Slurm and the heterogeneous-job script on a real 4-node Slurm on this host. Each skips with a message where the machine refuses what it needs.
# Run by scripts/test.sh (README command 2) after the Swift tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# alphaedit: $ALPHAEDIT, else the release build (scripts/test.sh makes it), else the debug one.
if [ -z "${ALPHAEDIT:-}" ]; then
  ALPHAEDIT=$root/.build/release/alphaedit
  [ -x "$ALPHAEDIT" ] || ALPHAEDIT=$root/.build/debug/alphaedit
fi
export ALPHAEDIT
for test in kubernetes/run-test.sh ssh/run-test.sh netns/run-test.sh slurm/run-test.sh slurm/run-hetjob-test.sh; do
  echo "==> cluster/$test"
  start=$SECONDS
  "$root/cluster/$test"
  echo "    ($((SECONDS - start)) s)"
done
