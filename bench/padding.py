"""Padding: how many of the positions the backbone computes are padding, with and without
length buckets (``nlp_tasks.components.length_buckets``). Counts only, no timing.

Runs the throughput benchmark's pipeline (sentiment + NER on the offline default
backbone, strided spans of window 128 / stride 96, batches of 64 docs and 16,384
words) over its corpus (the "text" field of $DATA/summarization/*.jsonl; $DATA is
the project's corpus/ when unset) with length buckets installed on the backbone,
whose counters also give what plain padded forwards would have computed. Then the
same with the documents sorted by length within windows of a few batches before
batching (results put back in input order). Prints markdown tables.

    DATA=../shared/datasets python bench/padding.py --docs 400
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import DATA, build_pipeline, load_texts  # noqa: E402


class LengthRecorder:
    """A forward pre-hook keeping the real lengths of every batch the backbone gets."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, module, args, kwargs) -> None:
        mask = kwargs.get("attention_mask")
        if mask is not None:
            self.batches.append(mask.ne(0).sum(dim=1).tolist())


def sorted_within(texts: list[str], window: int) -> list[int]:
    """Indices of ``texts``, sorted by length (words) within consecutive windows."""
    order: list[int] = []
    for start in range(0, len(texts), window):
        block = range(start, min(start + window, len(texts)))
        order.extend(sorted(block, key=lambda i: len(texts[i].split())))
    return order


def run(nlp, module, texts: list[str], order: list[int], args) -> tuple[dict, list[list[int]]]:
    """Process the texts in ``order``; the module's counts and each batch's real lengths."""
    from nlp_tasks.batch import process_records
    from nlp_tasks.components.length_buckets import padding_counts, reset_padding_counts

    reset_padding_counts(module)
    recorder = LengthRecorder()
    handle = module.register_forward_pre_hook(recorder, with_kwargs=True)
    try:
        results = list(
            process_records(
                nlp,
                [texts[i] for i in order],
                batch_size=args.batch_size,
                batch_words=args.batch_words,
            )
        )
    finally:
        handle.remove()
    restored = [None] * len(texts)
    for position, index in enumerate(order):
        restored[index] = results[position]
    failed = [r.error for r in restored if r is None or not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} documents failed: {failed[:3]}")
    return padding_counts(module), recorder.batches


def grouped(batches: list[list[int]], overhead: int) -> tuple[int, int, int]:
    """Positions and forward calls of the length buckets at ``overhead``; plain positions."""
    from nlp_tasks.components.length_buckets import bucket_lengths

    computed = calls = plain = 0
    for lengths in batches:
        width = max(lengths)
        plain += len(lengths) * width
        groups = bucket_lengths(lengths, overhead)
        widths = [max(1, lengths[g[-1]]) for g in groups]
        if len(groups) == 1 and widths[0] == width:
            computed, calls = computed + len(lengths) * width, calls + 1
        else:
            computed += sum(len(g) * w for g, w in zip(groups, widths))
            calls += len(groups)
    return computed, calls, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400, help="Real documents to process.")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batch-words", type=int, default=16_384)
    parser.add_argument("--window", type=int, default=128, help="Span window (spaCy tokens).")
    parser.add_argument("--stride", type=int, default=96, help="Span stride (spaCy tokens).")
    parser.add_argument(
        "--sort-batches", type=int, default=8, help="Sort docs by length within this many batches."
    )
    parser.add_argument(
        "--data", type=Path, nargs="+", default=[DATA / "train.jsonl", DATA / "dev.jsonl"]
    )
    args = parser.parse_args()

    import transformers

    transformers.logging.set_verbosity_error()

    from nlp_tasks.components.length_buckets import DEFAULT_GROUP_OVERHEAD, install_length_buckets
    from nlp_tasks.registry.default_backbones import DEFAULT_BACKBONE

    texts = load_texts(args.data, args.docs)
    nlp = build_pipeline(2, args.window, args.stride)
    module = nlp.get_pipe("transformer").model.transformer
    install_length_buckets(module)
    window = args.sort_batches * args.batch_size
    as_read = list(range(len(texts)))
    counts, batches = run(nlp, module, texts, as_read, args)
    sorted_counts, sorted_batches = run(nlp, module, texts, sorted_within(texts, window), args)

    print(f"# Padding ({len(texts)} docs)")
    print(
        f"\nBackbone: {DEFAULT_BACKBONE}. Pipeline: sentiment + NER. Batch: {args.batch_size} "
        f"docs, {args.batch_words} words. Strided spans: window {args.window}, stride "
        f"{args.stride} (spaCy tokens). Length buckets: group overhead "
        f"{DEFAULT_GROUP_OVERHEAD} positions. Padded fraction = 1 - real wordpieces / "
        "positions computed."
    )
    print(
        "\n| batching | backbone calls | forward passes | real wordpieces | positions computed "
        "| padded fraction |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    sorted_label = f"docs sorted by length within {args.sort_batches} batches"
    for label, c, buckets in (
        ("as read, plain", counts, False),
        ("as read, length buckets", counts, True),
        (f"{sorted_label}, plain", sorted_counts, False),
        (f"{sorted_label} + length buckets", sorted_counts, True),
    ):
        computed = c["bucketed"] if buckets else c["plain"]
        passes = c["forwards"] if buckets else c["calls"]
        print(
            f"| {label} | {c['calls']} | {passes} | {c['real']:,} | {computed:,} "
            f"| {1 - c['real'] / computed:.1%} |"
        )

    # The same recorded batches, grouped offline at other overheads: what a larger
    # fixed cost per call (a GPU's) would keep of the saving.
    print(
        "\n| group overhead (positions) | as read: forward passes | padded fraction "
        "| sorted: forward passes | padded fraction |\n| ---: | ---: | ---: | ---: | ---: |"
    )
    for overhead in (0, 64, DEFAULT_GROUP_OVERHEAD, 1024, 4096):
        cells = []
        for c, recorded in ((counts, batches), (sorted_counts, sorted_batches)):
            computed, calls, plain = grouped(recorded, overhead)
            assert plain == c["plain"]
            if overhead == DEFAULT_GROUP_OVERHEAD:
                assert (computed, calls) == (c["bucketed"], c["forwards"])
            cells += [str(calls), f"{1 - c['real'] / computed:.1%}"]
        print(f"| {overhead} | {' | '.join(cells)} |")
    print(f"\nCommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
