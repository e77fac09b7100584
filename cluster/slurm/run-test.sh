#!/usr/bin/env bash
# The Slurm launcher, for real: starts a single-node Slurm on this machine (local-slurm.sh),
# submits cluster/slurm/alphaedit.sbatch with 3 worker tasks (--overcommit: this machine has 2
# cores), and checks that the job wrote the single-process bytes. Stops the daemons and cancels
# the job on exit, whatever happens. Skips with a message where slurm-wlm/munge are missing or
# slurmd cannot start.
#
#   cluster/slurm/run-test.sh [WORKERS]    (default 3; ALPHAEDIT=path/to/alphaedit)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/common.sh"
workers=${1:-3}
work=$(mktemp -d /tmp/alphaedit-slurm.XXXXXX)
chmod 755 "$work"
job=""
cleanup() {
  if [ -n "$job" ]; then scancel "$job" 2>/dev/null || true; fi
  "$here/local-slurm.sh" stop "$work/slurm" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$ALPHAEDIT" ] || { echo "slurm test: $ALPHAEDIT is not built (swift build first)" >&2; exit 1; }
for tool in sbatch slurmctld slurmd munged; do
  command -v "$tool" >/dev/null || skip "slurm test: $tool not found (apt-get install slurm-wlm munge)"
done
"$here/local-slurm.sh" start "$work/slurm" || skip "slurm test: a local Slurm could not start on this machine (see above)"
export SLURM_CONF="$work/slurm/slurm.conf"

make_job "$work"
mapfile -t single < <(job_args "$work" single)
timeout 300 "$ALPHAEDIT" "${single[@]}" > /dev/null

mapfile -t args < <(job_args "$work" slurm)
job=$(ALPHAEDIT="$ALPHAEDIT" ALPHAEDIT_THREADS=1 sbatch --parsable --ntasks="$workers" --overcommit --time=10 \
        --chdir="$work" --output="$work/slurm-%j.out" "$here/alphaedit.sbatch" "${args[@]}")
echo "slurm test: submitted job $job ($workers worker tasks)"
state=""
for _ in $(seq 600); do   # at most 5 minutes
  state=$(scontrol show job "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED) break ;; esac
  sleep 0.5
done
if [ "$state" != COMPLETED ]; then
  echo "slurm test: job $job ended $state" >&2
  cat "$work/slurm-$job.out" >&2 || true
  exit 1
fi
grep -q "coordinator on" "$work/slurm-$job.out"
registered=$(grep -c "registered as worker" "$work/slurm-$job.out" || true)
if [ "$registered" -ne "$workers" ]; then
  echo "slurm test: $registered workers registered, expected $workers" >&2
  cat "$work/slurm-$job.out" >&2
  exit 1
fi
if same_output "$work/single" "$work/slurm"; then
  echo "slurm test: sbatch with $workers worker tasks wrote the single-process bytes"
else
  echo "slurm test: the outputs differ from the single-process run" >&2
  exit 1
fi
