"""Two similarity pipelines on the same STS-B dev pairs, compared pair by pair.

Spearman's correlation is not a mean over pairs, so its difference between two
systems has no per-pair decomposition; a paired bootstrap resamples the dev
pairs (10,000 times), computes both systems' Spearman on each resample, and
gives the difference a 95% interval and the share of resamples where it
changes sign.

    DATA=../shared/datasets python bench/paired_similarity.py \
        bench/runs/joint3/model/model-last bench/runs/similarity/trained/training/model-last

Each pipeline is loaded with ``nlp_tasks.load`` and scores the pairs of
``$DATA/similarity/dev.jsonl`` (``--dev`` for another file; ``$DATA`` is the
project's corpus/ when unset) through ``nlp_tasks_similarity.similarity``: the
doc._.similarity that ``nlp-tasks evaluate`` scores. ``--output`` keeps both
systems' scores, a JSON list per system.
"""

import argparse
import json
import os
from pathlib import Path

import numpy
from nlp_tasks_similarity import similarity

import nlp_tasks

DEV = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")


def spearman(predicted: numpy.ndarray, gold: numpy.ndarray) -> float:
    """Spearman's correlation x100."""
    from scipy.stats import spearmanr

    return 100 * float(spearmanr(predicted, gold).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="The first pipeline.")
    parser.add_argument("second", type=Path, help="The pipeline to compare it with.")
    parser.add_argument(
        "--dev", type=Path, default=DEV / "similarity" / "dev.jsonl", help="Pair records."
    )
    parser.add_argument("--output", type=Path, default=None, help="Write both systems' scores.")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    records = [record for _, record in nlp_tasks.read_jsonl(args.dev)]
    pairs = [(record["text_a"], record["text_b"]) for record in records]
    gold = numpy.array([float(record["score"]) for record in records])
    scores = {}
    for name in ("first", "second"):
        nlp = nlp_tasks.load(getattr(args, name))
        scores[name] = numpy.array(similarity(nlp, pairs), dtype="float64")
    if args.output:
        args.output.write_text(
            json.dumps({name: values.tolist() for name, values in scores.items()}),
            encoding="utf8",
        )

    first, second = scores["first"], scores["second"]
    observed = {name: spearman(values, gold) for name, values in scores.items()}
    delta = observed["first"] - observed["second"]
    rng = numpy.random.default_rng(args.seed)
    resampled = numpy.array(
        [
            spearman(first[rows], gold[rows]) - spearman(second[rows], gold[rows])
            for rows in rng.integers(0, len(gold), size=(args.resamples, len(gold)))
        ]
    )
    low, high = numpy.percentile(resampled, [2.5, 97.5])
    flipped = (resampled <= 0).mean() if delta >= 0 else (resampled >= 0).mean()

    print(f"dev: {args.dev} ({len(gold)} pairs)")
    for name, path in (("first", args.first), ("second", args.second)):
        print(f"{name + ':':7} {path}  Spearman {observed[name]:.2f}")
    print(
        f"Spearman first - second: {delta:+.2f} (95% paired bootstrap {low:+.2f} to "
        f"{high:+.2f}; share of {args.resamples} resamples of the other sign: {flipped:.4f})"
    )


if __name__ == "__main__":
    main()
