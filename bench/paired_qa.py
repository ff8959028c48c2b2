"""Two QA systems' answers to the same dev questions, compared question by question.

Dev F1 is a mean over questions, so two systems' F1s differ by the mean of the
per-question differences. Resampling the questions (a paired bootstrap, 10,000
resamples) gives that difference an interval; an exact McNemar test on the
questions where exactly one system's answer is an exact match gives a second,
independent reading.

    DATA=../shared/datasets python bench/paired_qa.py \
        bench/runs/qa-643/joint/predictions.jsonl bench/runs/qa-643/hf/predictions.jsonl

Each predictions file is what ``bench/qa.py`` writes: one JSON string a line,
the answer to each question of ``$DATA/qa/dev.jsonl`` in order ("" for none;
``--dev`` for another file, ``$DATA`` is the project's corpus/ when unset).
Prints each system's exact match and F1, the F1 difference with its 95%
interval and the share of resamples where it changes sign, and the McNemar p-value.
"""

import argparse
import json
import os
from pathlib import Path

import numpy
from nlp_tasks_qa.scorer import exact_match, f1_score, gold_answers

import nlp_tasks

DEV = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus") / "qa"


def read_predictions(path: Path, expected: int) -> list[str]:
    """The answers in a predictions file, checked against the number of questions."""
    lines = path.read_text(encoding="utf8").splitlines()
    if len(lines) != expected:
        raise SystemExit(f"{path}: {len(lines)} predictions for {expected} dev questions")
    return [json.loads(line) for line in lines]


def per_question(predictions: list[str], golds: list[list[str]]) -> tuple[numpy.ndarray, ...]:
    """Exact match and F1 of each answer, the best over the question's gold answers."""
    exact = [max(exact_match(p, g) for g in answers) for p, answers in zip(predictions, golds)]
    f1 = [max(f1_score(p, g) for g in answers) for p, answers in zip(predictions, golds)]
    return numpy.array(exact), numpy.array(f1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="Predictions of the first system.")
    parser.add_argument("second", type=Path, help="Predictions of the system to compare it with.")
    parser.add_argument("--dev", type=Path, default=DEV / "dev.jsonl", help="QA JSONL records.")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from scipy.stats import binomtest

    records = [record for _, record in nlp_tasks.read_jsonl(args.dev)]
    golds = [gold_answers(record["answers"]["text"]) for record in records]
    exact_a, f1_a = per_question(read_predictions(args.first, len(records)), golds)
    exact_b, f1_b = per_question(read_predictions(args.second, len(records)), golds)

    differences = f1_a - f1_b
    rng = numpy.random.default_rng(args.seed)
    samples = rng.integers(0, len(records), size=(args.resamples, len(records)))
    resampled = differences[samples].mean(axis=1)
    low, high = numpy.percentile(resampled, [2.5, 97.5])
    delta = differences.mean()
    flipped = (resampled <= 0).mean() if delta >= 0 else (resampled >= 0).mean()

    only_a = int(((exact_a == 1) & (exact_b == 0)).sum())
    only_b = int(((exact_b == 1) & (exact_a == 0)).sum())
    p_exact = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0

    print(f"dev: {args.dev} ({len(records)} questions)")
    print(f"first:  {args.first}  EM {100 * exact_a.mean():.2f}  F1 {100 * f1_a.mean():.2f}")
    print(f"second: {args.second}  EM {100 * exact_b.mean():.2f}  F1 {100 * f1_b.mean():.2f}")
    print(
        f"F1 first - second: {100 * delta:+.2f} (95% paired bootstrap {100 * low:+.2f} to "
        f"{100 * high:+.2f}; share of {args.resamples} resamples of the other sign: {flipped:.4f})"
    )
    print(
        f"exact match only in first: {only_a}; only in second: {only_b}; "
        f"exact McNemar test, two-sided: p = {p_exact:.2g}"
    )


if __name__ == "__main__":
    main()
