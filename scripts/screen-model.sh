#!/usr/bin/env bash
# Screens a candidate knowledge model for editing before any long run (Models/knowledge-gpt2/HPARAMS.md,
# "Session 13": the edit layers' null space must hold more of the subject's key than of the other tokens').
#
#   scripts/screen-model.sh MODEL_DIR WORK_DIR [LAYERS]
#
# MODEL_DIR is a GPT-2 folder from `alphaedit train`, named knowledge-gpt2 (the statistics' path and the
# hparams' model_name use the folder's name); it gets the shipped alphaedit-hparams.json (with LAYERS,
# default 0,1,2,3, and v_loss_layer = its last block) and statistics of blocks 0…5 over CORPUS (default: the
# shipped Models/knowledge-gpt2/corpus.jsonl), unless it has them already. Then, in WORK_DIR:
#   1. one batch of 40 CounterFact development edits (scripts/compute-z-diagnosis.py): which edits take;
#   2. the null-space separation of the edit layers (scripts/null-space-separation.py);
#   3. the development slice, records 0:200 of both datasets in two batches of 100 (scripts/hparams-search.py
#      with the model's hparams): Eff. / Gen. / Spe. to compare with HPARAMS.md's tables.
# Everything is written under WORK_DIR (screen.md collects the three outputs); the hparams, statistics and
# development-slice results already there are reused.
# Environment: CORPUS, THREADS (default 2), ALPHAEDIT (default .build/release/alphaedit).
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
model=$(cd "$1" && pwd); work=$2; layers=${3:-0,1,2,3}
corpus=${CORPUS:-$root/Models/knowledge-gpt2/corpus.jsonl}
threads=${THREADS:-2}
alphaedit=${ALPHAEDIT:-$root/.build/release/alphaedit}
[ -x "$alphaedit" ] || { echo "screen-model.sh: $alphaedit is missing (swift build -c release)" >&2; exit 1; }
[ -f "$model/config.json" ] || { echo "screen-model.sh: $model/config.json is missing (not a model folder)" >&2; exit 1; }
[ "$(basename "$model")" = knowledge-gpt2 ] || { echo "screen-model.sh: name the model folder knowledge-gpt2 (got $(basename "$model"))" >&2; exit 1; }
mkdir -p "$work"

if [ ! -f "$model/alphaedit-hparams.json" ]; then
    python3 - "$root/Models/knowledge-gpt2/alphaedit-hparams.json" "$model" "$layers" <<'PY'
import json, sys
shipped, model, layers = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
h = json.load(open(shipped))
h["layers"] = layers
h["v_loss_layer"] = json.load(open(f"{model}/config.json"))["n_layer"] - 1
json.dump(h, open(f"{model}/alphaedit-hparams.json", "w"), indent=1)
PY
fi
stats="$model/stats/knowledge-gpt2/knowledge-corpus_stats"
if ! ls "$stats"/transformer.h.5.mlp.c_proj_*mom2_10000.safetensors >/dev/null 2>&1; then
    python3 -c "import json,sys; h=json.load(open(sys.argv[1])); h['layers']=list(range(6)); json.dump(h, open(sys.argv[2],'w'))" \
        "$model/alphaedit-hparams.json" "$work/stats-hparams.json"
    "$alphaedit" stats --model "$model" --config "$work/stats-hparams.json" --corpus "$corpus" \
        --stats-dir "$work/stats" --threads "$threads"
    mkdir -p "$stats"
    cp "$work"/stats/knowledge-gpt2/*_stats/*_mom2_10000.safetensors "$stats/"
fi

report="$work/screen.md"
{
    echo "# Screen of $model (layers $layers)"
    echo
    echo '## 1. One batch of 40 CounterFact edits'
    echo '```'
    python3 "$root/scripts/compute-z-diagnosis.py" --model "$model" --records 0:40 --work "$work/zd" --threads "$threads" \
        --alphaedit "$alphaedit"
    echo '```'
    echo
    echo '## 2. Null-space separation'
    echo '```'
    python3 "$root/scripts/null-space-separation.py" --model "$model" --run "$work/zd/base/out" --layers "$layers" \
        --alphaedit "$alphaedit"
    echo '```'
    echo
    echo '## 3. Development slice (records 0:200, batches of 100)'
    echo '{"model": {}}' > "$work/settings.json"
    python3 "$root/scripts/hparams-search.py" --settings "$work/settings.json" --work "$work/search" --model "$model" \
        --binary "$alphaedit" --threads "$threads"
} 2>>"$work/screen.log" | tee "$report"
echo "screen-model.sh: $report"
