"""Document context for NER (issue 24): the NER head trained on sentences vs. on documents.

Every variant is the project's recipe (``nlp-tasks init config --tasks ner``),
trained with ``spacy train`` for the same ``--steps``, seed and batches:

- ``sentences``: DATA/ner/{train,dev}.jsonl as they are, one record a sentence;
- ``documents``: the same records joined into documents by ``nlp-tasks convert
  ner-documents`` (consecutive sentences of one ``doc_id``), so that the backbone
  reads each sentence with its neighbours;
- ``mixed``: both in one training file (each sentence once alone and once in its
  document), for a model meant to read single sentences and whole texts alike.

``--score`` then scores each trained model on the dev sentences one by one and on
the dev documents. The entities are the same either way, so the F1s compare
directly. Predictions on documents are split back into sentences by
``doc.sents``, and each reading is compared with the sentences model on sentences,
sentence by sentence, with a paired bootstrap (1,000 resamples of the dev sentences).

Train both side by side, one core each, then score (about 50 minutes at 1,500 steps):

    export DATA=../shared/datasets OMP_NUM_THREADS=1
    python bench/ner_context.py --variant sentences --steps 1500 &
    python bench/ner_context.py --variant documents --steps 1500 &
    wait
    python bench/ner_context.py --score

(``$DATA`` is the project's corpus/ when unset.) Prints a markdown table and
writes it with the raw counts to OUTPUT/scores.json.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy
from paired_ner import f1_of, paired_bootstrap, sentence_counts

VARIANTS = ("sentences", "documents", "mixed")
DATA = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="Holds ner/{train,dev}.jsonl.")
    parser.add_argument("--output", type=Path, default=Path("bench/runs/ner-context"))
    parser.add_argument("--variant", choices=VARIANTS, help="Train this variant.")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-frequency", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score", action="store_true", help="Score the trained models.")
    parser.add_argument("--bootstrap", type=int, default=1000, help="Paired resamples.")
    args = parser.parse_args()
    if args.variant:
        train(args)
    if args.score:
        score(args)
    if not args.variant and not args.score:
        parser.error("give --variant VARIANT to train, or --score")


def data_root(args: argparse.Namespace, variant: str) -> Path:
    """The data root of a variant: DATA, DATA's NER records joined into documents, or both."""
    if variant == "sentences":
        return args.data
    root = args.output / "data-documents"
    for split in ("train", "dev"):
        target = root / "ner" / f"{split}.jsonl"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            source = args.data / "ner" / f"{split}.jsonl"
            run(["nlp-tasks", "convert", "ner-documents", str(source), "--output", str(target)])
    if variant == "documents":
        return root
    mixed = args.output / "data-mixed" / "ner"
    if not (mixed / "train.jsonl").exists():
        mixed.mkdir(parents=True, exist_ok=True)
        # Both kinds in one file: the training corpus shuffles the records.
        merged = read_jsonl(root / "ner" / "train.jsonl") + read_jsonl(
            args.data / "ner" / "train.jsonl"
        )
        with (mixed / "train.jsonl").open("w", encoding="utf8") as file:
            file.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in merged)
        # spaCy's evaluation during training reads documents, the way users pass whole texts.
        (mixed / "dev.jsonl").write_text((root / "ner" / "dev.jsonl").read_text(encoding="utf8"))
    return mixed.parent


def train(args: argparse.Namespace) -> None:
    root = data_root(args, args.variant)
    out = args.output / args.variant
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config.cfg"
    run(
        ["nlp-tasks", "init", "config", str(config), "--tasks", "ner"]
        + ["--max-steps", str(args.steps), "--eval-frequency", str(args.eval_frequency)]
    )
    run(
        [sys.executable, "-m", "spacy", "train", str(config), "--output", str(out / "model")]
        + ["--paths.data", str(root), "--system.seed", str(args.seed)]
    )


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def score(args: argparse.Namespace) -> None:
    import nlp_tasks
    from nlp_tasks.registry import get_task

    task = get_task("ner")
    sentences = read_jsonl(args.data / "ner" / "dev.jsonl")
    documents = read_jsonl(data_root(args, "documents") / "ner" / "dev.jsonl")
    results: dict[str, Any] = {}
    per_sentence: dict[str, list[tuple[int, int, int]]] = {}
    for variant in VARIANTS:
        path = args.output / variant / "model" / "model-last"
        if not path.exists():
            print(f"{variant}: no model at {path}; skipped")
            continue
        nlp = nlp_tasks.load(path)
        for read_as, records in (("sentences", sentences), ("documents", documents)):
            examples = [task.make_example(nlp, r) for r in records]
            docs = list(nlp.pipe((eg.predicted for eg in examples), batch_size=32))
            counts = sentence_counts(docs, [eg.reference for eg in examples])
            key = f"{variant} model, dev as {read_as}"
            per_sentence[key] = counts
            results[key] = f1_of(numpy.array(counts))
    if len(per_sentence) < 2:
        return
    names = list(per_sentence)
    sizes = {len(c) for c in per_sentence.values()}
    assert len(sizes) == 1, f"sentence counts differ: {sizes}"
    baseline = "sentences model, dev as sentences"
    rows = ["| model, dev read as | F1 | P | R | vs. sentences model on sentences (bootstrap) |"]
    rows.append("| --- | ---: | ---: | ---: | --- |")
    rng = numpy.random.default_rng(0)
    n = sizes.pop()
    samples = rng.integers(0, n, size=(args.bootstrap, n))
    for name in names:
        f1, p, r = results[name]["f1"], results[name]["p"], results[name]["r"]
        comparison = "-"
        if name != baseline and baseline in per_sentence:
            delta, p_value, _ = paired_bootstrap(
                per_sentence[name], per_sentence[baseline], samples
            )
            results[name]["delta_vs_baseline"] = delta
            results[name]["p_value"] = p_value
            comparison = f"{delta * 100:+.2f} F1, p = {p_value:.3f}"
        rows.append(f"| {name} | {f1:.4f} | {p:.4f} | {r:.4f} | {comparison} |")
    table = "\n".join(rows)
    print(table)
    (args.output / "scores.json").write_text(
        json.dumps({"table": table, "results": results, "sentences": n}, indent=2)
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf8") as file:
        return [json.loads(line) for line in file if line.strip()]


if __name__ == "__main__":
    main()
