#!/usr/bin/env bash
# Sentiment + NER trained jointly on the shared backbone vs. each head alone,
# same steps, batch size and learning rate, on ../shared/datasets (dev splits).
# Usage: bash bench/joint_vs_single.sh [STEPS] [RUNS...]   (RUNS: joint sentiment ner)
# TEMPERATURE=T sets the multi-task sampling temperature (1.0, proportional to
# task sizes, by default); runs with another one go to runs/<run>-t<T>.
# Writes bench/runs/<run>/{config.cfg,train.log,metrics.json,time.txt}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-$here/../../shared/datasets}
temperature=${TEMPERATURE:-1.0}
steps=${1:-2000}
shift || true
runs=${*:-joint sentiment ner}
for run in $runs; do
  case $run in
    joint) tasks=sentiment,ner ;;
    *) tasks=$run ;;
  esac
  out=$here/runs/$run
  [ "$temperature" = 1.0 ] || out=$out-t$temperature
  rm -rf "$out" && mkdir -p "$out"
  nlp-tasks init config "$out/config.cfg" --tasks "$tasks" --max-steps "$steps" \
    --eval-frequency 250 --learn-rate 1e-4
  start=$(date +%s)
  python -m spacy train "$out/config.cfg" --output "$out/model" --paths.data "$data" \
    --corpora.train.temperature "$temperature" > "$out/train.log" 2>&1
  echo "$(( $(date +%s) - start ))" > "$out/time.txt"
  nlp-tasks evaluate "$out/model/model-last" --data "$data" --output "$out/metrics.json" \
    | tee "$out/table.txt"
done
