# Shared by the cluster tests (sourced): the job they run and how to compare its outputs.
# The job is the README's edit example on the official-code oracle fixture (a tiny GPT-2): two
# requests, 300 statistics samples, so a run takes seconds. Every path is absolute, so the same
# command works inside a network namespace or a Slurm task.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${ALPHAEDIT:-}" ]; then
  ALPHAEDIT=$REPO/.build/release/alphaedit
  [ -x "$ALPHAEDIT" ] || ALPHAEDIT=$REPO/.build/debug/alphaedit
fi
FIXTURE=$REPO/Tests/Fixtures/alphaedit-oracle

# make_job WORK: the requests and hparams of the job, under WORK.
make_job() {
  mkdir -p "$1"
  cat > "$1/requests.json" <<'JSON'
[{"case_id": 0, "prompt": "{} works for", "subject": "Talia Fairbanks", "target_new": {"str": "Sony"}},
 {"case_id": 1, "prompt": "{} plays the", "subject": "Liora Fairbanks", "target_new": {"str": "drums"}}]
JSON
  sed 's/"mom2_n_samples": *[0-9]*/"mom2_n_samples": 300/' "$FIXTURE/hparams.json" > "$1/hparams.json"
}

# job_args WORK NAME: the edit command's arguments, writing under WORK/NAME/{stats,out}.
job_args() {
  printf '%s\n' edit --model "$FIXTURE/model" --config "$1/hparams.json" --requests "$1/requests.json" \
    --corpus "$FIXTURE/stats_corpus.txt" --batch-size 1 --stats-dir "$1/$2/stats" --output-dir "$1/$2/out" -q
}

# same_output A B: the two runs wrote the same files with the same bytes (statistics too).
same_output() {
  diff -r "$1/out" "$2/out" >/dev/null && diff -r "$1/stats" "$2/stats" >/dev/null
}

# skip REASON: the machine refuses what the test needs; say so and succeed.
skip() {
  echo "SKIPPED: $*" >&2
  exit 0
}
