"""Two NER systems' entities on the same dev sentences, compared sentence by sentence.

Entity F1 is not a mean over sentences, but it is a function of three sums over
them (entities right, predicted, gold), so resampling the sentences and
recomputing both systems' F1 on each resample (a paired bootstrap, 10,000
resamples) gives their difference an interval. An exact McNemar test on the
sentences that exactly one system gets wholly right (every entity found, none
extra) gives a second, independent reading.

A system is a trained pipeline and the way it reads the dev set: one record a
sentence (``sentences``, as the file is), or each document's sentences joined
into one doc (``documents``, as ``nlp-tasks convert ner-documents`` joins them,
by ``doc_id``), so that the backbone reads each sentence with its neighbours.
Predictions on a document are split back into its sentences, so both readings
are scored on the same sentences and pair up.

    DATA=../shared/datasets python bench/paired_ner.py \\
        bench/runs/joint-ctx-s0/model/model-last bench/runs/joint-ctx-s0/model/model-last \\
        --first-reads documents --second-reads sentences

The sentences are ``$DATA/ner/dev.jsonl`` (``--dev``; ``$DATA`` is the project's
corpus/ when unset), NER records of tokens and IOB2 tags with ``doc_id``.
Prints each system's F1, precision and recall, the F1 difference with its 95%
interval and the share of resamples of the other sign, and the McNemar p-value.
"""

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy

import nlp_tasks

DEV = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus") / "ner"
READINGS = ("sentences", "documents")


def sentence_counts(docs: Iterable[Any], references: Iterable[Any]) -> list[tuple[int, int, int]]:
    """(true positives, predicted, gold) entities of each sentence, in order.

    A doc of several sentences (``doc.sents`` from the record's ``sentences``)
    gives one row per sentence; entities are compared as (token start, token
    end, label) within the doc, which is the same within each sentence.
    """
    rows = []
    for doc, reference in zip(docs, references, strict=True):
        gold = {(e.start, e.end, e.label_) for e in reference.ents}
        found = {(e.start, e.end, e.label_) for e in doc.ents}
        bounds = (
            [(s.start, s.end) for s in reference.sents]
            if reference.has_annotation("SENT_START")
            else [(0, len(reference))]
        )
        for start, end in bounds:
            g = {e for e in gold if start <= e[0] < end}
            f = {e for e in found if start <= e[0] < end}
            rows.append((len(g & f), len(f), len(g)))
    return rows


def f1_of(counts: numpy.ndarray) -> dict[str, float]:
    """Entity F1, precision and recall from per-sentence (right, predicted, gold) rows."""
    tp, predicted, gold = counts.sum(axis=0)
    p = tp / predicted if predicted else 0.0
    r = tp / gold if gold else 0.0
    return {"f1": float(2 * tp / (predicted + gold)), "p": float(p), "r": float(r)}


def resampled_f1(counts: numpy.ndarray, samples: numpy.ndarray) -> numpy.ndarray:
    """The F1 of each resample (a row of sentence indices), a chunk at a time."""
    out = []
    for chunk in numpy.array_split(samples, max(1, len(samples) // 500)):
        sums = counts[chunk].sum(axis=1)
        out.append(2 * sums[:, 0] / numpy.maximum(sums[:, 1] + sums[:, 2], 1))
    return numpy.concatenate(out)


def paired_bootstrap(
    a: list[tuple[int, int, int]], b: list[tuple[int, int, int]], samples: numpy.ndarray
) -> tuple[float, float, tuple[float, float]]:
    """F1(a) - F1(b), the share of resamples where a does not beat b (or, when a
    is below b, where it is not below), and the difference's 95% interval."""
    a_counts, b_counts = numpy.array(a), numpy.array(b)
    delta = f1_of(a_counts)["f1"] - f1_of(b_counts)["f1"]
    differences = resampled_f1(a_counts, samples) - resampled_f1(b_counts, samples)
    share = (differences <= 0).mean() if delta >= 0 else (differences >= 0).mean()
    low, high = numpy.percentile(differences, [2.5, 97.5])
    return float(delta), float(share), (float(low), float(high))


def system_counts(
    model: Path, records: list[dict[str, Any]], cache: dict[Path, Any]
) -> list[tuple[int, int, int]]:
    """Per-sentence counts of a pipeline reading the records as they are."""
    from nlp_tasks.registry import get_task

    if model not in cache:
        cache[model] = nlp_tasks.load(model)
    nlp = cache[model]
    examples = [get_task("ner").make_example(nlp, record) for record in records]
    docs = nlp.pipe((eg.predicted for eg in examples), batch_size=32)
    return sentence_counts(docs, [eg.reference for eg in examples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="A trained pipeline (directory or package).")
    parser.add_argument("second", type=Path, help="The pipeline to compare it with.")
    parser.add_argument("--first-reads", choices=READINGS, default="sentences")
    parser.add_argument("--second-reads", choices=READINGS, default="sentences")
    parser.add_argument("--dev", type=Path, default=DEV / "dev.jsonl", help="NER JSONL records.")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from nlp_tasks_ner.convert import join_documents
    from scipy.stats import binomtest

    sentences = [record for _, record in nlp_tasks.read_jsonl(args.dev)]
    readings = {"sentences": sentences, "documents": list(join_documents(sentences))}
    cache: dict[Path, Any] = {}
    a = system_counts(args.first, readings[args.first_reads], cache)
    b = system_counts(args.second, readings[args.second_reads], cache)
    if len(a) != len(b):
        raise SystemExit(f"{args.dev}: the two readings give {len(a)} and {len(b)} sentences")

    rng = numpy.random.default_rng(args.seed)
    samples = rng.integers(0, len(a), size=(args.resamples, len(a)))
    delta, flipped, (low, high) = paired_bootstrap(a, b, samples)

    whole_a = numpy.array([tp == predicted == gold for tp, predicted, gold in a])
    whole_b = numpy.array([tp == predicted == gold for tp, predicted, gold in b])
    only_a, only_b = int((whole_a & ~whole_b).sum()), int((whole_b & ~whole_a).sum())
    p_exact = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0

    print(f"dev: {args.dev} ({len(a)} sentences, {len(readings['documents'])} documents)")
    for name, model, reads, counts in (
        ("first: ", args.first, args.first_reads, a),
        ("second:", args.second, args.second_reads, b),
    ):
        score = f1_of(numpy.array(counts))
        print(
            f"{name} {model} reading {reads}  F1 {100 * score['f1']:.2f}  "
            f"P {100 * score['p']:.2f}  R {100 * score['r']:.2f}"
        )
    print(
        f"F1 first - second: {100 * delta:+.2f} (95% paired bootstrap {100 * low:+.2f} to "
        f"{100 * high:+.2f}; share of {args.resamples} resamples of the other sign: {flipped:.4f})"
    )
    print(
        f"sentences wholly right only in first: {only_a}; only in second: {only_b}; "
        f"exact McNemar test, two-sided: p = {p_exact:.2g}"
    )


if __name__ == "__main__":
    main()
