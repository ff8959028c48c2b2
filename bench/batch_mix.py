"""What a multi-task training batch holds: examples and tokens of each task per step.

The share of draws (temperature, ``[corpora.train.weights]``) says how often each
task's records are drawn; how many of them land in one update also depends on the
batcher. ``batch_by_padded`` (the generated configs') groups records of similar
length, so a task of short records beside tasks of long ones gets steps of its own;
``batch_by_words`` (``recipe.MIXING_BATCHER``, the one W014 offers) keeps the draw
order. This reads the first ``--steps`` batches of a generated config's training corpus (no
model, no training; the records are only tokenized) and counts them.

    DATA=../shared/datasets python bench/batch_mix.py \
        --tasks sentiment,ner,qa,summarization,translation,similarity --weight translation=3
    DATA=../shared/datasets python bench/batch_mix.py --tasks sentiment,translation --size 300
    DATA=../shared/datasets python bench/batch_mix.py --tasks ... --padded 2000  # batch_by_padded
    DATA=../shared/datasets python bench/batch_mix.py --tasks ... --words 1500   # batch_by_words

``$DATA`` holds ``<task>/train.jsonl`` (the project's corpus/ when unset).
"""

import argparse
import os
from collections import Counter
from pathlib import Path

import spacy
from spacy.util import registry

from nlp_tasks.training import recipe
from nlp_tasks.training.config import make_config

DATA = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")
# Where the multi-task reader marks each doc's task (nlp_tasks.components.routing).
TASK_KEY = ("nlp_tasks", "task")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", required=True, help="Comma-separated task names.")
    parser.add_argument("--weight", action="append", default=[], help="TASK=WEIGHT, repeatable.")
    parser.add_argument("--size", type=int, help="The config's batcher's size.")
    parser.add_argument("--steps", type=int, default=300, help="Batches to read.")
    parser.add_argument(
        "--words",
        type=int,
        help="Use spaCy's batch_by_words.v1 of this many words (tolerance 0.2) instead.",
    )
    parser.add_argument(
        "--padded",
        type=int,
        help="Use spaCy's batch_by_padded.v1 of this many padded tokens (buffer 256) instead.",
    )
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    config = make_config(tasks)
    config["paths"]["data"] = str(DATA)
    for pair in args.weight:
        task, weight = pair.split("=")
        config["corpora"]["train"]["weights"][task] = float(weight)
    if args.size:
        config["training"]["batcher"]["size"] = args.size
    if args.words:
        config["training"]["batcher"] = {**recipe.MIXING_BATCHER, "size": args.words}
    if args.padded:
        config["training"]["batcher"] = {**recipe.BATCHER, "size": args.padded}
    config = config.interpolate()
    corpus = registry.resolve({"corpus": config["corpora"]["train"]})["corpus"]
    batcher = registry.resolve({"batcher": config["training"]["batcher"]})["batcher"]
    examples, tokens, with_task = Counter(), Counter(), Counter()
    steps = 0
    for batch in batcher(corpus(spacy.blank("en"))):
        steps += 1
        present = set()
        for example in batch:
            task = example.predicted.user_data[TASK_KEY]
            examples[task] += 1
            tokens[task] += len(example.predicted)
            present.add(task)
        with_task.update(present)
        if steps == args.steps:
            break
    batcher_config = config["training"]["batcher"]
    unit = "words" if "words" in batcher_config["@batchers"] else "padded tokens"
    per_step = sum(examples.values()) / steps
    print(f"{steps} batches of {batcher_config['size']} {unit}; {per_step:.1f} examples a step")
    print(f"{'task':14s} {'examples/step':>13s} {'tokens/step':>11s} {'steps with it':>13s}")
    for task in tasks:
        print(
            f"{task:14s} {examples[task] / steps:13.1f} {tokens[task] / steps:11.1f}"
            f" {with_task[task] / steps:12.0%}"
        )


if __name__ == "__main__":
    main()
