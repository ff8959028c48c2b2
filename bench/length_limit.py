"""The translation head's output limit that follows the source: tokens written and time.

A decoder that has not learnt to stop (the first evaluation of a training run, or a
joint run whose translation head has seen few pairs) writes ``max_new_tokens`` (128)
for every 13-word Multi30k sentence. ``max_new_tokens_ratio`` / ``max_new_tokens_offset``
end each doc's output after ``ratio x source tokens + offset`` target tokens. This
decodes the same documents with the head's default limit (2.0, 10) and without one
(``max_new_tokens_ratio = None``), interleaved, and reports tokens written, the
longest output and seconds (best of ``--repeat``).

The head is the translation head on the default backbone, initialized on the dev
pairs and not trained: the case the limit is for. Its output is not a translation,
so there is no BLEU here; whether the limit would cut a real translation is read
from the references instead: each dev reference's target tokens against its
source's limit.

    DATA=../shared/datasets python bench/length_limit.py --docs 128 --batch-size 32

The documents are the English side of ``$DATA/translation/dev.jsonl`` (``--data``;
``$DATA`` is the project's corpus/ when unset).
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or ROOT / "corpus") / "translation"


def load_pairs(path: Path, limit: int | None = None) -> list[dict]:
    with path.open(encoding="utf8") as file:
        lines = file if limit is None else (line for _, line in zip(range(limit), file))
        return [json.loads(line) for line in lines]


def build_head(data_dir: Path):
    """The translation head on the default backbone, initialized on the dev pairs."""
    from spacy.training.initialize import init_nlp

    from nlp_tasks.training.config import make_config

    config = make_config(["translation"])
    config["paths"]["translation_train"] = str(data_dir / "dev.jsonl")
    config["paths"]["translation_dev"] = str(data_dir / "dev.jsonl")
    return init_nlp(config.interpolate())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--docs", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    pairs = load_pairs(args.data / "dev.jsonl")
    texts = [pair["src"] for pair in pairs[: args.docs]]
    nlp = build_head(args.data)
    head = nlp.get_pipe("translation")
    default = (head.cfg["max_new_tokens_ratio"], head.cfg["max_new_tokens_offset"])
    settings = {"limit (default)": default, "no limit": (None, default[1])}

    def decode(ratio: float | None, offset: int) -> tuple[float, list[int]]:
        head.cfg.update(max_new_tokens_ratio=ratio, max_new_tokens_offset=offset)
        start = time.perf_counter()
        lengths = []
        for batch in range(0, len(texts), args.batch_size):
            docs = list(nlp.pipe(texts[batch : batch + args.batch_size], disable=[head.name]))
            lengths.extend(len(ids) for ids in head.predict(docs))
        return time.perf_counter() - start, lengths

    seconds: dict[str, list[float]] = {name: [] for name in settings}
    lengths: dict[str, list[int]] = {}
    for _ in range(args.repeat):
        for name, (ratio, offset) in settings.items():
            took, lengths[name] = decode(ratio, offset)
            seconds[name].append(took)

    generation = head.cfg["generation"]
    print(
        f"# Output limit ({len(texts)} Multi30k dev sources, batch {args.batch_size}, "
        f"{generation['num_beams']} beams, max_new_tokens {generation['max_new_tokens']}, "
        f"untrained decoder; {os.cpu_count()} CPUs, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads; best of {args.repeat})\n"
    )
    print("| setting | tokens written | longest | seconds | docs/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (ratio, offset) in settings.items():
        best = min(seconds[name])
        label = f"{name}: ratio {ratio}, offset {offset}"
        print(
            f"| {label} | {sum(lengths[name]):,} | {max(lengths[name])} | {best:.1f} "
            f"| {len(texts) / best:.2f} |"
        )
    speedup = min(seconds["no limit"]) / min(seconds["limit (default)"])
    print(f"\nSpeed-up of the limit: {speedup:.2f}x")

    # Would the limit cut a reference? Target tokens (the head's tokenizer, no BOS/EOS)
    # against each source's limit, over all dev pairs.
    ratio, offset = default
    tokenizer = head.target_tokenizer
    ids, _ = tokenizer.encode([pair["tgt"] for pair in pairs], 10_000)
    sources = [len(nlp.make_doc(pair["src"])) for pair in pairs]
    over = sum(
        len(target) - 2 > math.ceil(ratio * source + offset) for target, source in zip(ids, sources)
    )
    most = max((len(target) - 2) / source for target, source in zip(ids, sources))
    print(
        f"Dev references longer than their limit: {over} of {len(pairs)} "
        f"(most target tokens per source token: {most:.2f})"
    )
    print(
        f"All timings (s): {json.dumps({k: [round(v, 1) for v in s] for k, s in seconds.items()})}"
    )


if __name__ == "__main__":
    main()
