#!/usr/bin/env bash
# The heterogeneous-job variant, for real: a Slurm of four nodes on this machine (local-slurm.sh
# with NODES=4: four slurmd on localhost), cluster/slurm/alphaedit-hetjob.sbatch submitted as it
# is (component 0: the coordinator's task; component 1: 3 exclusive nodes, one worker each) but
# for the coordinator's memory (--mem=512: the nodes here are small), and the job's output
# checked against the single-process bytes. Stops the daemons and cancels the job on exit, whatever happens. Skips
# with a message where slurm-wlm/munge are missing or the daemons cannot start.
#
#   cluster/slurm/run-hetjob-test.sh    (ALPHAEDIT=path/to/alphaedit)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/common.sh"
workers=3   # the script's component 1: --nodes=3 --ntasks-per-node=1
work=$(mktemp -d /tmp/alphaedit-hetjob.XXXXXX)
chmod 755 "$work"
job=""
cleanup() {
  if [ -n "$job" ]; then scancel "$job" 2>/dev/null || true; fi
  "$here/local-slurm.sh" stop "$work/slurm" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$ALPHAEDIT" ] || { echo "hetjob test: $ALPHAEDIT is not built (swift build first)" >&2; exit 1; }
for tool in sbatch slurmctld slurmd munged; do
  command -v "$tool" >/dev/null || skip "hetjob test: $tool not found (apt-get install slurm-wlm munge)"
done
"$here/local-slurm.sh" start "$work/slurm" 4 || skip "hetjob test: a four-node local Slurm could not start on this machine (see above)"
export SLURM_CONF="$work/slurm/slurm.conf"

make_job "$work"
mapfile -t single < <(job_args "$work" single)
timeout 300 "$ALPHAEDIT" "${single[@]}" > /dev/null

mapfile -t args < <(job_args "$work" hetjob)
job=$(ALPHAEDIT="$ALPHAEDIT" ALPHAEDIT_THREADS=1 ALPHAEDIT_SBATCH="$here/alphaedit.sbatch" \
        sbatch --parsable --time=10 --chdir="$work" --output="$work/hetjob-%j.out" --mem=512 \
        "$here/alphaedit-hetjob.sbatch" "${args[@]}")
job=${job%%;*}
echo "hetjob test: submitted heterogeneous job $job (a coordinator task, $workers worker nodes)"
state=""
for _ in $(seq 600); do   # at most 5 minutes
  state=$(scontrol show job "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
  case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED) break ;; esac
  sleep 0.5
done
if [ "$state" != COMPLETED ]; then
  echo "hetjob test: job $job ended ${state:-in no known state}" >&2
  cat "$work/hetjob-$job.out" >&2 || true
  exit 1
fi
grep -q "coordinator on 127.0.0.1" "$work/hetjob-$job.out"
registered=$(grep -c "registered as worker" "$work/hetjob-$job.out" || true)
if [ "$registered" -ne "$workers" ]; then
  echo "hetjob test: $registered workers registered, expected $workers" >&2
  cat "$work/hetjob-$job.out" >&2
  exit 1
fi
if same_output "$work/single" "$work/hetjob"; then
  echo "hetjob test: a heterogeneous job (coordinator component, $workers exclusive worker nodes) wrote the single-process bytes"
else
  echo "hetjob test: the outputs differ from the single-process run" >&2
  exit 1
fi
