"""Two trained pipelines' sentiment on the same dev sentences, with an exact McNemar test.

On a 1,000-sentence dev set one point of accuracy is ten sentences, about the
standard error, so comparing two accuracies says little. Pairing the
predictions does better: only the sentences where exactly one pipeline is right
carry information, and under "no difference" each of them is a coin toss.

    DATA=../shared/datasets python bench/paired_sentiment.py \
        bench/runs/joint-t5-head10x/model/model-last \
        bench/runs/joint-t5-head10x-3000/model/model-last

The sentences are ``$DATA/sentiment/dev.jsonl`` (``--dev``; ``$DATA`` is the project's
corpus/ when unset); the RESULTS were produced on ../shared/datasets, as above.

Prints each pipeline's accuracy, the two discordant counts and the two-sided
exact p-value (scipy's binomial test on the discordant pairs).
"""

import argparse
import os
from pathlib import Path

import nlp_tasks

ROOT = Path(__file__).resolve().parent.parent
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DEV = Path(os.environ.get("DATA") or ROOT / "corpus") / "sentiment" / "dev.jsonl"


def correct_predictions(model: Path, texts: list[str], gold: list[str]) -> list[bool]:
    """Whether the pipeline's ``doc._.sentiment`` matches the gold label, per text."""
    nlp = nlp_tasks.load(model)
    docs = nlp.pipe(texts, batch_size=64)
    return [doc._.sentiment == label for doc, label in zip(docs, gold, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="A trained pipeline (directory or package).")
    parser.add_argument("second", type=Path, help="The pipeline to compare it with.")
    parser.add_argument("--dev", type=Path, default=DEV, help="Sentiment JSONL records.")
    args = parser.parse_args()
    from scipy.stats import binomtest

    records = [record for _, record in nlp_tasks.read_jsonl(args.dev)]
    texts = [record["text"] for record in records]
    gold = [record["label"] for record in records]
    first = correct_predictions(args.first, texts, gold)
    second = correct_predictions(args.second, texts, gold)
    only_first = sum(a and not b for a, b in zip(first, second, strict=True))
    only_second = sum(b and not a for a, b in zip(first, second, strict=True))
    discordant = only_first + only_second
    p_value = binomtest(only_first, discordant, 0.5).pvalue if discordant else 1.0
    print(f"dev: {args.dev} ({len(records)} records)")
    print(f"first:  {args.first}  accuracy {sum(first) / len(records):.4f}")
    print(f"second: {args.second}  accuracy {sum(second) / len(records):.4f}")
    print(f"right only in first: {only_first}; right only in second: {only_second}")
    print(f"exact McNemar test, two-sided: p = {p_value:.3f}")


if __name__ == "__main__":
    main()
