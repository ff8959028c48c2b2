"""Batch throughput on a mixed stream (half sentence pairs, half texts) vs. texts only.

One pipeline (sentiment + NER + similarity on the default backbone, heads as
initialized: throughput does not depend on the weights) processes the same
words three ways, alternating, each timed on its own:

- texts: every record one text (the two sentences of an STS-B dev pair, joined);
- mixed: the first half of the records as pairs (text_a, text_b), the rest as texts;
- pairs: every record a pair.

A pair doc runs the backbone once per side and only the similarity head; a text
runs sentiment and NER (the similarity head passes it over). Run it alone on the
machine:

    OMP_NUM_THREADS=2 DATA=../shared/datasets python bench/mixed_throughput.py \
        --pairs 400 --repeats 3

The pairs come from ``$DATA/similarity/dev.jsonl`` (``--data``; ``$DATA`` is the project's
corpus/ when unset); the RESULTS were produced on ../shared/datasets, as above.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or HERE.parent / "corpus") / "similarity" / "dev.jsonl"


def build_pipeline(assets: Path):
    from spacy.training.initialize import init_nlp

    from nlp_tasks.training.config import make_config

    config = make_config(["sentiment", "ner", "similarity"], max_steps=1)
    config["paths"]["data"] = str(assets)
    return init_nlp(config.interpolate())


def streams(pairs: list[dict]) -> dict[str, list[dict]]:
    texts = [{"text": f"{p['text_a']} {p['text_b']}"} for p in pairs]
    as_pairs = [{"text_a": p["text_a"], "text_b": p["text_b"]} for p in pairs]
    half = len(pairs) // 2
    return {"texts": texts, "mixed": as_pairs[:half] + texts[half:], "pairs": as_pairs}


def run(nlp, records: list[dict], batch_size: int) -> float:
    from nlp_tasks.batch import process_records

    start = time.perf_counter()
    results = list(process_records(nlp, records, batch_size=batch_size))
    seconds = time.perf_counter() - start
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--assets", type=Path, default=HERE.parent / "assets")
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    with args.data.open(encoding="utf8") as file:
        pairs = [json.loads(line) for line in file][: args.pairs]
    words = sum(len(p["text_a"].split()) + len(p["text_b"].split()) for p in pairs)
    nlp = build_pipeline(args.assets)
    kinds = streams(pairs)
    run(nlp, kinds["texts"][:64], args.batch_size)  # warm-up
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.repeats):
        for kind, records in kinds.items():
            times[kind].append(run(nlp, records, args.batch_size))
    result = {"records": len(pairs), "words": words, "batch_size": args.batch_size}
    for kind, seconds in times.items():
        median = statistics.median(seconds)
        result[kind] = {
            "seconds": [round(s, 2) for s in seconds],
            "records_per_s": round(len(pairs) / median, 1),
            "words_per_s": round(words / median, 1),
        }
    texts = statistics.median(times["texts"])
    result["mixed_vs_texts"] = round(texts / statistics.median(times["mixed"]), 2)
    result["pairs_vs_texts"] = round(texts / statistics.median(times["pairs"]), 2)
    print(json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")


if __name__ == "__main__":
    main()
