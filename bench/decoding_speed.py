"""Decoding speed: the generative head's batched beam search vs. a Hugging Face EncoderDecoderModel.

Both systems have the same encoder (the offline default backbone,
all-MiniLM-L6-v2), the same decoder (the translation head's default: 3 layers,
width 256, cross-attention to the encoder through a 384->256 projection; the
baseline gets a copy of the head's decoder weights) and the same settings
(beam search, ``num_beams`` beams, exactly ``--new-tokens`` new tokens per
document: ``min_new_tokens == max_new_tokens``, so neither stops early). Each
system goes from text to generated ids: ours through ``nlp.pipe`` (spaCy
tokenizer, shared transformer, listener, decoder), the baseline through its
tokenizer and ``EncoderDecoderModel.generate``. Same batches, interleaved
repeats, best of each. Weights are untrained: speed does not depend on them.

    DATA=../shared/datasets python bench/decoding_speed.py --docs 256 --batch-size 32 \
        --num-beams 4 --new-tokens 32

The documents are the English side of ``$DATA/translation/dev.jsonl`` (``--data``;
``$DATA`` is the project's corpus/ when unset); the RESULTS used ../shared/datasets.
"""

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or ROOT / "corpus") / "translation"


def load_pairs(path: Path, limit: int) -> list[dict]:
    with path.open(encoding="utf8") as file:
        return [json.loads(line) for _, line in zip(range(limit), file)]


def build_ours(data_dir: Path):
    """The translation head on the default backbone, initialized on the dev pairs."""
    from spacy.training.initialize import init_nlp

    from nlp_tasks.training.config import make_config

    config = make_config(["translation"])
    config["paths"]["translation_train"] = str(data_dir / "dev.jsonl")
    config["paths"]["translation_dev"] = str(data_dir / "dev.jsonl")
    return init_nlp(config.interpolate())


def build_baseline(nlp):
    """EncoderDecoderModel: the same backbone checkpoint, a copy of the head's decoder."""
    import copy

    from transformers import AutoModel, AutoTokenizer, EncoderDecoderModel

    from nlp_tasks.generation.decoder import decoder_module

    transformer = nlp.get_pipe("transformer")
    path = transformer.model.attrs["name"]
    module = decoder_module(nlp.get_pipe("translation").model)
    decoder = copy.deepcopy(module.decoder)
    model = EncoderDecoderModel(encoder=AutoModel.from_pretrained(path), decoder=decoder)
    if hasattr(model, "enc_to_dec_proj"):
        model.enc_to_dec_proj.load_state_dict(module.bridge.state_dict())
    return model.eval(), AutoTokenizer.from_pretrained(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    texts = [pair["src"] for pair in load_pairs(args.data / "dev.jsonl", args.docs)]
    nlp = build_ours(args.data)
    head = nlp.get_pipe("translation")
    settings = {
        "num_beams": args.num_beams,
        "min_new_tokens": args.new_tokens,
        "max_new_tokens": args.new_tokens,
    }
    config = head.generation_config(**settings)
    model, tokenizer = build_baseline(nlp)

    def ours() -> float:
        start = time.perf_counter()
        for _ in nlp.pipe(
            texts, batch_size=args.batch_size, component_cfg={"translation": settings}
        ):
            pass
        return time.perf_counter() - start

    def baseline() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(texts), args.batch_size):
                batch = tokenizer(
                    texts[i : i + args.batch_size],
                    padding=True,
                    truncation=True,
                    return_tensors="pt",
                )
                model.generate(**batch, generation_config=config)
        return time.perf_counter() - start

    timers = {"ours": ours, "baseline": baseline}
    seconds: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(args.repeat):
        for name, timer in timers.items():
            seconds[name].append(timer())
    best = {name: min(values) for name, values in seconds.items()}
    tokens = len(texts) * args.new_tokens
    threads = torch.get_num_threads()
    print(
        f"# Decoding speed ({len(texts)} Multi30k dev sources, batch {args.batch_size}, "
        f"{args.num_beams} beams, {args.new_tokens} new tokens each; {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} with {threads} threads; best of {args.repeat})\n"
    )
    print("| system | seconds | generated tokens/s |\n| --- | ---: | ---: |")
    for label, name in (("EncoderDecoderModel.generate", "baseline"), ("nlp.pipe, head", "ours")):
        print(f"| {label} | {best[name]:.2f} | {tokens / best[name]:,.0f} |")
    ratio = best["baseline"] / best["ours"]
    print(f"\nHead / baseline tokens/s: {ratio:.2f} (target >= 0.90).")
    rounded = {name: [round(v, 2) for v in values] for name, values in seconds.items()}
    print(f"All timings (s): {json.dumps(rounded)}")


if __name__ == "__main__":
    main()
