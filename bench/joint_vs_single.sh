#!/usr/bin/env bash
# Sentiment + NER trained jointly on the shared backbone vs. each head alone,
# same steps, batch size and learning rate, on $DATA (dev splits): the project's
# corpus/ when DATA is unset; the RESULTS were produced with DATA=../shared/datasets.
# Usage: bash bench/joint_vs_single.sh [STEPS] [RUNS...]
#   (RUNS: joint sentiment ner similarity; joint3 = sentiment + NER + similarity)
# TEMPERATURE=T overrides the multi-task sampling temperature of the generated
# config (5.0; 1.0 is proportional to task sizes); such runs go to runs/<run>-t<T>.
# VARIANT=NAME with OVERRIDES="--section.key value ..." trains with spaCy config
# overrides, into runs/<run>[-t<T>]-NAME.
# Writes bench/runs/<run>/{config.cfg,train.log,metrics.json,time.txt}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-$(dirname "$here")/corpus}
temperature=${TEMPERATURE:-}
steps=${1:-2000}
shift || true
runs=${*:-joint sentiment ner}
for run in $runs; do
  case $run in
    joint) tasks=sentiment,ner ;;
    joint3) tasks=sentiment,ner,similarity ;;
    *) tasks=$run ;;
  esac
  out=$here/runs/$run
  [ -z "$temperature" ] || out=$out-t$temperature
  [ -z "${VARIANT:-}" ] || out=$out-$VARIANT
  rm -rf "$out" && mkdir -p "$out"
  nlp-tasks init config "$out/config.cfg" --tasks "$tasks" --max-steps "$steps" \
    --eval-frequency 250 --learn-rate 1e-4 --backbone-learn-rate-scale 1
  start=$(date +%s)
  python -m spacy train "$out/config.cfg" --output "$out/model" --paths.data "$data" \
    ${temperature:+--corpora.train.temperature "$temperature"} ${OVERRIDES:-} \
    > "$out/train.log" 2>&1
  echo "$(( $(date +%s) - start ))" > "$out/time.txt"
  nlp-tasks evaluate "$out/model/model-last" --data "$data" --output "$out/metrics.json" \
    | tee "$out/table.txt"
done
