"""Training speed under two batchers: spaCy's batch_by_padded and batch_by_words.

``batch_by_padded`` (the generated configs' batcher) groups records of similar
length, so each step holds a few tasks; ``batch_by_words`` keeps the draw order, so
each step holds most of them (bench/batch_mix.py counts it). A mixed step pads short
records to the long ones beside them in every head that pads per batch;
this measures what that costs. One pipeline, initialized once, takes training
steps from each batcher in turn (A B, then B A), after three untimed steps of
each; each segment is timed on its own after one untimed step; the figure is the
tokens trained a second.

    OMP_NUM_THREADS=2 DATA=../shared/datasets python bench/batcher_speed.py \
        --tasks sentiment,ner,qa,summarization,translation,similarity --weight translation=3

``$DATA`` holds ``<task>/train.jsonl`` (the project's corpus/ when unset). Run it
alone on the machine.
"""

import argparse
import itertools
import os
import statistics
import time
from pathlib import Path

from spacy.training.initialize import init_nlp
from spacy.util import registry

from nlp_tasks.testing import train_steps
from nlp_tasks.training import recipe
from nlp_tasks.training.config import make_config

DATA = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")


def batchers(padded: int, words: int) -> dict[str, dict]:
    return {
        f"padded {padded}": {**recipe.BATCHER, "size": padded},
        f"words {words}": {**recipe.MIXING_BATCHER, "size": words},
    }


def endless(corpus, nlp):
    # The training corpus streams one epoch a call (max_epochs = -1), resampled.
    return itertools.chain.from_iterable(corpus(nlp) for _ in itertools.count())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", required=True, help="Comma-separated task names.")
    parser.add_argument("--weight", action="append", default=[], help="TASK=WEIGHT, repeatable.")
    parser.add_argument("--padded", type=int, default=2000, help="batch_by_padded's size.")
    parser.add_argument("--words", type=int, default=1500, help="batch_by_words's size.")
    parser.add_argument("--steps", type=int, default=40, help="Timed steps a segment.")
    parser.add_argument("--repeats", type=int, default=2, help="Segments of each batcher.")
    args = parser.parse_args()
    config = make_config(args.tasks.split(","), max_steps=100_000)
    config["paths"]["data"] = str(DATA)
    for pair in args.weight:
        task, weight = pair.split("=")
        config["corpora"]["train"]["weights"][task] = float(weight)
    config = config.interpolate()
    nlp = init_nlp(config)
    optimizer = registry.resolve({"o": config["training"]["optimizer"]})["o"]
    corpus = registry.resolve({"c": config["corpora"]["train"]})["c"]
    streams = {
        name: registry.resolve({"b": batcher})["b"](endless(corpus, nlp))
        for name, batcher in batchers(args.padded, args.words).items()
    }
    rates: dict[str, list[float]] = {name: [] for name in streams}
    steps_per_s: dict[str, list[float]] = {name: [] for name in streams}
    names = list(streams)
    for name in names:  # the first steps are slow whichever batcher comes first
        for batch in itertools.islice(streams[name], 3):
            train_steps(nlp, optimizer, batch, 1, batch_size=len(batch), drop=0.1)
    for repeat in range(args.repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            batches = [next(streams[name]) for _ in range(args.steps + 1)]
            train_steps(nlp, optimizer, batches[0], 1, batch_size=len(batches[0]), drop=0.1)
            tokens = sum(len(eg.predicted) for batch in batches[1:] for eg in batch)
            start = time.perf_counter()
            for batch in batches[1:]:
                train_steps(nlp, optimizer, batch, 1, batch_size=len(batch), drop=0.1)
            seconds = time.perf_counter() - start
            rates[name].append(tokens / seconds)
            steps_per_s[name].append(seconds / args.steps)
            print(
                f"{name:12s} segment {repeat + 1}: {args.steps} steps, {tokens} tokens, "
                f"{seconds:.1f} s, {tokens / seconds:.0f} tokens/s",
                flush=True,
            )
    base = statistics.mean(rates[names[0]])
    print(f"\n{'batcher':12s} {'s/step':>7s} {'tokens/s':>9s} {'ratio':>6s}")
    for name in names:
        rate = statistics.mean(rates[name])
        step = statistics.mean(steps_per_s[name])
        print(f"{name:12s} {step:7.2f} {rate:9.0f} {rate / base:6.2f}")


if __name__ == "__main__":
    main()
