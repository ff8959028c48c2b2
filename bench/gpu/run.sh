#!/usr/bin/env bash
# GPU check kit for nlp-tasks, run from the repo root: `bash .gpu/run.sh` (device: carry [".gpu"]).
# Source: bench/gpu/run.sh; `bash bench/gpu/build_kit.sh` copies it into .gpu/ (see bench/gpu/README.md).
# Uses only the kit: wheels of commit $(cat .gpu/src/COMMIT) + its deps (.gpu/whl), the snapshot's
# project.yml/assets/bench (.gpu/src), the MiniLM config+tokenizer (.gpu/backbone, random weights).
# Local dry run on CPU (tiny sizes, the repo's .venv):  LOCAL=1 bash .gpu/run.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TQDM_DISABLE=1 LC_ALL=C.UTF-8 NO_COLOR=1 ANSI_COLORS_DISABLED=1
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCAL="${LOCAL:-0}"
T0=${EPOCHREALTIME/./}
if [ "$LOCAL" = 1 ]; then
  GPU_ID="${GPU_ID:--1}"; MAX_STEPS="${MAX_STEPS:-10}"; EVAL_FREQ="${EVAL_FREQ:-5}"
  N_GPU_DOCS="${N_GPU_DOCS:-200}"; N_CPU_DOCS="${N_CPU_DOCS:-50}"; TP_DOCS="${TP_DOCS:-40}"
  TP_BS="${TP_BS:-8,32}"; SCALE=10   # timeouts x10 on 2 CPU cores
  OUT="${OUT:-/tmp/gpukit-out}"; SITE=/tmp/gpukit-localsite
  # The repo's .venv (the kit's parent folder) minus its editable nlp-tasks installs (they follow
  # the edited working tree): a fresh venv whose .pth adds a symlink farm of the venv's site-packages.
  VENV="${VENV:-$(dirname "$KIT")/.venv}"
  VSRC=$(echo "$VENV"/lib/python3*/site-packages); PYDIR=$(basename "$(dirname "$VSRC")")
  LV=/tmp/gpukit-venv; FARM=/tmp/gpukit-venvsite
  rm -rf "$LV" "$FARM" "$SITE"; mkdir -p "$FARM"
  "$(sed -n 's/^home = //p' "$VENV/pyvenv.cfg")/python3" -m venv --without-pip "$LV"
  for f in "$VSRC"/*; do
    case "$(basename "$f")" in nlp_tasks*|__editable__*|*.pth|__pycache__) ;; *) ln -s "$f" "$FARM/";; esac
  done
  echo "$FARM" > "$LV/lib/$PYDIR/site-packages/gpukit-venvsite.pth"
  PY="$LV/bin/python"
  export PATH="$SITE/bin:$LV/bin:$PATH"
else
  GPU_ID="${GPU_ID:-0}"; MAX_STEPS="${MAX_STEPS:-}"; EVAL_FREQ="${EVAL_FREQ:-}"   # project defaults
  N_GPU_DOCS="${N_GPU_DOCS:-2000}"; N_CPU_DOCS="${N_CPU_DOCS:-300}"; TP_DOCS="${TP_DOCS:-840}"
  TP_BS="${TP_BS:-16,64,256}"; SCALE=1
  SITE=/tmp/site; PY=python3
  export PATH="$SITE/bin:$PATH"
fi
OUT="${OUT:?OUT must be set}"; mkdir -p "$OUT"
export PYTHONPATH="$SITE"
WORK=/tmp/gpukit-work; rm -rf "$WORK"; mkdir -p "$WORK"
cd "$WORK" || exit 1   # never the repo root: its (edited) nlp_tasks/ must not shadow the wheels
BACKBONE=/tmp/minilm-random
SUMMARY=(); LAST_DT=0

stamp() {  # prefix each line with seconds since the step started
  local s=${EPOCHREALTIME/./} now line
  while IFS= read -r line || [ -n "$line" ]; do
    now=${EPOCHREALTIME/./}
    printf '[%5d.%01ds] %s\n' $(((now - s) / 1000000)) $(((now - s) / 100000 % 10)) "$line"
  done
}

step() {  # step LOG NAME TIMEOUT_S CMD...  (log, time, record; never stop the run)
  local log="$OUT/$1" name="$2" limit=$(($3 * SCALE)); shift 3
  local s=${EPOCHREALTIME/./}
  echo "=== [$name] $(date -u +%T) (timeout ${limit}s): $*" | tee -a "$log"
  timeout -k 10 "$limit" "$@" 2>&1 | stamp | tee -a "$log"
  local rc=${PIPESTATUS[0]} e=${EPOCHREALTIME/./}
  LAST_DT=$(awk "BEGIN{printf \"%.1f\", $(((e - s) / 1000))/1000}")
  local verdict=PASS; [ "$rc" = 0 ] || verdict="FAIL(rc=$rc)"; [ "$rc" = 124 ] && verdict="TIMEOUT"
  echo "=== [$name] $verdict in ${LAST_DT}s" | tee -a "$log"
  SUMMARY+=("$(printf '%-14s %-48s %8ss' "$verdict" "$name" "$LAST_DT")")
  return "$rc"
}

# ---- 0. environment ---------------------------------------------------------------------
L0=0-env.log
echo "kit: $KIT, snapshot $(cat "$KIT/src/COMMIT"), LOCAL=$LOCAL GPU_ID=$GPU_ID, $(nproc) CPUs, host $(hostname)" | tee -a "$OUT/$L0"
if [ "$LOCAL" = 1 ]; then
  step $L0 "0 install snapshot wheels (local)" 120 "$PY" -m pip install -q --no-index --no-deps \
    --no-compile --upgrade --target "$SITE" "$KIT"/whl/nlp_tasks*.whl
else
  step $L0 "0 nvidia-smi -L" 30 nvidia-smi -L
  step $L0 "0 pip install wheels -> $SITE" 180 "$PY" -m pip install -q --no-index --no-deps \
    --no-compile --no-cache-dir --upgrade --target "$SITE" "$KIT"/whl/*.whl
fi
step $L0 "0 env: versions, require_gpu, cupy, thinc" 120 "$PY" "$KIT/kit.py" env "$GPU_ID"
step $L0 "0 nlp-tasks plugins" 60 nlp-tasks plugins
step $L0 "0 random backbone $BACKBONE" 120 "$PY" "$KIT/kit.py" make-backbone "$KIT/backbone" "$BACKBONE"

# ---- 1. the README's GPU path: spacy project run all --vars.gpu_id 0 ----------------------
L1=1-project.log
PROJ="$WORK/project"; mkdir -p "$PROJ"; cp -r "$KIT/src/project.yml" "$KIT/src/assets" "$PROJ/"
VARS=(--vars.gpu_id "$GPU_ID" --vars.backbone "$BACKBONE")
[ -n "$MAX_STEPS" ] && VARS+=(--vars.max_steps "$MAX_STEPS")
[ -n "$EVAL_FREQ" ] && VARS+=(--vars.eval_frequency "$EVAL_FREQ")
cd "$PROJ" || exit 1
if ! step $L1 "1 spacy project run all" 300 "$PY" -m spacy project run all . "${VARS[@]}"; then
  # `all` stops at the first failing command: run the ones after it on their own.
  ran=$(grep -oE '^\[ *[0-9.]+s\] =+ [a-z-]+ =+' "$OUT/$L1" | sed -E 's/.*=+ ([a-z-]+) =+.*/\1/' | tail -1)
  after=0
  for cmd in config train add evaluate demo package; do
    if [ "$after" = 1 ]; then
      step $L1 "1 spacy project run $cmd (after failure)" 200 "$PY" -m spacy project run "$cmd" . "${VARS[@]}"
    fi
    [ "$cmd" = "$ran" ] && after=1
  done
fi
step $L1 "1 per-command times" 30 "$PY" "$KIT/kit.py" project-times "$OUT/$L1"
cd "$WORK" || exit 1
PIPE="$PROJ/training/model-best"

# ---- 2. nlp-tasks process --gpu-id 0 (and a CPU comparison) ------------------------------
L2=2-process.log
IN="$WORK/docs.jsonl"; CPU_IN="$WORK/docs-cpu.jsonl"
step $L2 "2 make input ($N_GPU_DOCS docs)" 30 "$PY" "$KIT/kit.py" make-input "$PROJ/assets" "$N_GPU_DOCS" "$IN"
head -n "$N_CPU_DOCS" "$IN" > "$CPU_IN"
for pass in gpu cpu; do
  if [ "$pass" = gpu ]; then dev=$GPU_ID; docs="$IN"; n=$N_GPU_DOCS; else dev=-1; docs="$CPU_IN"; n=$N_CPU_DOCS; fi
  # `process` prints "This run: N docs in S s" (without start-up and loading): check-output reads it.
  step $L2 "2 process --gpu-id $dev, $n docs ($pass pass)" 200 \
    nlp-tasks process "$PIPE" "$docs" "$WORK/out-$pass.jsonl" --gpu-id "$dev" --overwrite --no-progress
  step $L2 "2 check output + rate ($pass pass)" 60 "$PY" "$KIT/kit.py" check-output "$docs" \
    "$WORK/out-$pass.jsonl" "$LAST_DT" "$OUT/$L2" "process --gpu-id $dev, $(nproc) CPUs"
done

# ---- 3. throughput: pipeline vs bare AutoModel forward on the GPU -------------------------
L3=3-throughput.log
step $L3 "3 gpu_throughput.py ($TP_DOCS docs)" 200 "$PY" "$KIT/gpu_throughput.py" \
  --backbone "$BACKBONE" --gpu-id "$GPU_ID" --docs "$TP_DOCS" --batch-sizes "$TP_BS" \
  --data "$KIT/data/bbc_dev_texts.jsonl"

# ---- 4. training speed from step 1's log ---------------------------------------------------
L4=4-train-speed.log
step $L4 "4 spacy train speed (from step 1 log)" 30 "$PY" "$KIT/kit.py" train-speed "$OUT/$L1" "$PROJ/training/joint/model-best/meta.json"

# ---- extras + summary ----------------------------------------------------------------------
[ "$LOCAL" = 1 ] || nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv >> "$OUT/$L0" 2>&1
(cd "$WORK" && tar -czf "$OUT/extras.tar.gz" --exclude='*.safetensors' --exclude='*.bin' --exclude='model' \
  project/configs project/metrics project/project.lock project/training/model-best/meta.json \
  project/training/joint/model-best/meta.json \
  project/training/model-best/config.cfg out-*.errors.jsonl 2>/dev/null; true)
TOTAL=$(awk "BEGIN{printf \"%.0f\", $(((${EPOCHREALTIME/./} - T0) / 1000))/1000}")
{
  echo "==== SUMMARY (LOCAL=$LOCAL GPU_ID=$GPU_ID, total ${TOTAL}s, snapshot $(cat "$KIT/src/COMMIT")) ===="
  printf '%s\n' "${SUMMARY[@]}"
  echo "passed $(printf '%s\n' "${SUMMARY[@]}" | grep -c '^PASS'), not passed $(printf '%s\n' "${SUMMARY[@]}" | grep -vc '^PASS')"
} | tee "$OUT/summary.txt"
