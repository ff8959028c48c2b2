"""Precision: words/s and dev metrics at fp32, bf16 and int8, side by side in one run.

``speed``: on the throughput benchmark's corpus (the "text" field of
$DATA/summarization/*.jsonl; $DATA is the project's corpus/ when unset,
../shared/datasets for the RESULTS) with the offline default backbone, for each
precision: the bare Hugging Face forward over the very windows the pipeline's
transformer sees, Hugging Face ``pipeline()`` for sentiment and NER (random heads,
run one after the other), and this pipeline (``process_records``) with
sentiment + NER and with every encoder doc head (sentiment, NER, extractive
summarization). Heads are initialized on assets/, not trained: speed does not
depend on their weights. Interleaved repeats, best of each.

    DATA=../shared/datasets python bench/precision.py speed --docs 400

``metrics``: a trained pipeline's dev metrics, loaded at each precision
(``nlp_tasks.load(..., precision=...)``), on ``DATA/<task>/dev.jsonl``:

    python bench/precision.py metrics --model bench/runs/joint3-t5-head10x-proj/model/model-best \
        --data ../shared/datasets --tasks sentiment,ner,similarity

``decoding``: a trained translation pipeline at each precision: sentences/s of beam
search (the component's own settings: 4 beams) over the first ``--docs`` dev sources,
and sacreBLEU of those outputs against the references:

    python bench/precision.py decoding --model bench/runs/translation-750/model/model-last \
        --data ../shared/datasets --docs 256

int8 is measured for every head here, declared or not (``Task.precisions`` is what
a task offers users once such a measurement holds).
"""

import argparse
import copy
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import throughput as tp  # noqa: E402 - the sibling benchmark's corpus and baselines

ROOT = Path(__file__).resolve().parent.parent
PRECISIONS = ("fp32", "bf16", "int8")


def measure_every_precision() -> None:
    """Let every task run at every precision: this benchmark is what decides which hold."""
    from nlp_tasks.registry import manager as plugins

    original = plugins.task_for_factory

    def task_for_factory(factory):
        task = original(factory)
        if task is None:
            return None
        return dataclasses.replace(task, precisions=PRECISIONS)

    plugins.task_for_factory = task_for_factory


def at_precision(module, precision: str):
    """A copy of a Hugging Face module computing at ``precision``, outputs in float32."""
    from nlp_tasks.precision import convert_module

    module = copy.deepcopy(module).eval()
    convert_module(module, precision)
    return module


def build(tasks: list[str], window: int, stride: int, path: Path) -> Path:
    from spacy.training.initialize import init_nlp

    from nlp_tasks.training.config import make_config

    config = make_config(tasks, window=window, stride=stride)
    config["paths"]["data"] = str(ROOT / "assets")
    init_nlp(config.interpolate()).to_disk(path)
    return path


def bare_forward(model_dir: str, batches: list[dict], precision: str):
    import torch
    from transformers import AutoModel

    model = at_precision(AutoModel.from_pretrained(model_dir), precision)
    tensors = [{k: torch.as_tensor(v) for k, v in batch.items()} for batch in batches]

    def run():
        with torch.inference_mode():
            for batch in tensors:
                model(**batch)

    run_once = partial(tp.time_it, run)
    with torch.inference_mode():
        for batch in tensors[:2]:
            model(**batch)
    return run_once


def hf_pipelines(model_dir: str, batch_size: int, precision: str):
    pipes = tp.hf_pipelines(model_dir, 2, batch_size)
    for pipe, _ in pipes:
        pipe.model = at_precision(pipe.model, precision)
    return pipes


def speed(args: argparse.Namespace) -> None:
    import torch
    import transformers

    import nlp_tasks
    from nlp_tasks.components.backbone import resolve_backbone
    from nlp_tasks.components.length_buckets import padding_counts, reset_padding_counts
    from nlp_tasks.precision import has_native_bf16
    from nlp_tasks.registry.default_backbones import DEFAULT_BACKBONE

    transformers.logging.set_verbosity_error()
    measure_every_precision()
    model_dir = resolve_backbone(DEFAULT_BACKBONE)
    texts = tp.load_texts(args.data, args.docs)
    n_words = tp.words(texts)
    print(
        f"# Precision: speed ({len(texts)} docs, {n_words} words; load average at start "
        f"{os.getloadavg()[0]:.2f})\n\nMachine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, native bf16: {has_native_bf16()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), transformers {transformers.__version__}. Batch: "
        f"{args.batch_size} docs, {args.batch_words} words; window {args.window}, stride "
        f"{args.stride}. Best of {args.repeat} interleaved runs."
    )
    setups = {"2 heads": ["sentiment", "ner"], "3 doc heads": ["sentiment", "ner", "summarization"]}
    with tempfile.TemporaryDirectory() as tmp_dir:
        paths = {
            name: build(tasks, args.window, args.stride, Path(tmp_dir) / name.replace(" ", "-"))
            for name, tasks in setups.items()
        }
        reference = nlp_tasks.load(paths["2 heads"])
        batches = tp.bare_batches(reference, texts, args.batch_size, args.batch_words)
        timers, pipelines = {}, {}
        for precision in PRECISIONS:
            timers[f"bare HF forward, {precision}"] = bare_forward(model_dir, batches, precision)
            hf = hf_pipelines(model_dir, args.batch_size, precision)
            timers[f"HF pipeline() x2, {precision}"] = partial(tp.run_hf, hf, texts)
            for name, path in paths.items():
                nlp = nlp_tasks.load(path, precision=precision)
                pipelines[(name, precision)] = nlp
                timers[f"ours {name}, {precision}"] = partial(
                    tp.run_ours, nlp, texts, args.batch_size, args.batch_words
                )
        seconds: dict[str, list[float]] = {name: [] for name in timers}
        for _ in range(args.repeat):
            for name, timer in timers.items():
                seconds[name].append(timer())
    best = {name: min(values) for name, values in seconds.items()}
    base = best["bare HF forward, fp32"]
    print("\n| system | precision | words/s | vs. its own fp32 | vs. bare HF fp32 |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, value in best.items():
        system, precision = name.rsplit(", ", 1)
        own = best[f"{system}, fp32"]
        print(
            f"| {system} | {precision} | {n_words / value:,.0f} | {own / value:.2f}x | "
            f"{base / value:.2f}x |"
        )
    backbone = pipelines[("2 heads", "fp32")].get_pipe("transformer").model.transformer
    reset_padding_counts(backbone)
    tp.run_ours(pipelines[("2 heads", "fp32")], texts, args.batch_size, args.batch_words)
    counts = padding_counts(backbone)
    print(f"\nPadding counts of the 2-head pipeline's backbone over the corpus: {counts}")


def metrics(args: argparse.Namespace) -> None:
    import nlp_tasks
    from nlp_tasks.training.evaluate import evaluate

    measure_every_precision()
    tasks = args.tasks.split(",")
    sources = {task: str(args.data / task / "dev.jsonl") for task in tasks}
    print(f"# Precision: dev metrics of {args.model}\n")
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for precision in PRECISIONS:
        nlp = nlp_tasks.load(args.model, precision=precision)
        start = time.perf_counter()
        result = evaluate(nlp, sources, batch_size=args.batch_size)
        wall = time.perf_counter() - start
        for component, values in result["components"].items():
            for metric, value in values.items():
                if isinstance(value, (int, float)):
                    rows.setdefault((component, metric), {})[precision] = value
        print(f"{precision}: evaluated {result['examples']} examples in {wall:.0f} s")
    print("\n| head | metric | fp32 | bf16 | bf16 - fp32 | int8 | int8 - fp32 |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for (component, metric), values in rows.items():
        fp32, bf16, int8 = (values.get(p) for p in PRECISIONS)
        print(
            f"| {component} | {metric} | {fp32:.4f} | {bf16:.4f} | {bf16 - fp32:+.4f} | "
            f"{int8:.4f} | {int8 - fp32:+.4f} |"
        )
    if args.output:
        args.output.write_text(json.dumps({f"{c} {m}": v for (c, m), v in rows.items()}))


def decoding(args: argparse.Namespace) -> None:
    import sacrebleu

    import nlp_tasks

    measure_every_precision()
    with (args.data / "translation" / "dev.jsonl").open(encoding="utf8") as file:
        pairs = [json.loads(line) for _, line in zip(range(args.docs), file)]
    sources, references = [p["src"] for p in pairs], [p["tgt"] for p in pairs]
    pipelines = {p: nlp_tasks.load(args.model, precision=p) for p in PRECISIONS}
    outputs: dict[str, list[str]] = {}
    seconds: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for nlp in pipelines.values():
        list(nlp.pipe(sources[:4], batch_size=args.batch_size))
    for _ in range(args.repeat):
        for precision, nlp in pipelines.items():
            start = time.perf_counter()
            docs = list(nlp.pipe(sources, batch_size=args.batch_size))
            seconds[precision].append(time.perf_counter() - start)
            outputs[precision] = [doc._.translation or "" for doc in docs]
    print(
        f"# Precision: decoding ({len(sources)} dev sources of {args.model}, batch "
        f"{args.batch_size}, the component's beam search; best of {args.repeat})\n"
    )
    print("| precision | sentences/s | vs. fp32 | BLEU | BLEU - fp32 | same output as fp32 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    base_time = min(seconds["fp32"])
    base_bleu = sacrebleu.corpus_bleu(outputs["fp32"], [references]).score
    for precision in PRECISIONS:
        best = min(seconds[precision])
        bleu = sacrebleu.corpus_bleu(outputs[precision], [references]).score
        same = sum(a == b for a, b in zip(outputs[precision], outputs["fp32"])) / len(sources)
        print(
            f"| {precision} | {len(sources) / best:.1f} | {base_time / best:.2f}x | {bleu:.2f} | "
            f"{bleu - base_bleu:+.2f} | {same:.0%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("speed", help="words/s at each precision")
    timing.add_argument("--data", type=Path, nargs="+", default=None)
    timing.add_argument("--docs", type=int, default=400)
    timing.add_argument("--batch-size", type=int, default=64)
    timing.add_argument("--batch-words", type=int, default=16_384)
    timing.add_argument("--window", type=int, default=128)
    timing.add_argument("--stride", type=int, default=96)
    timing.add_argument("--repeat", type=int, default=3)
    scoring = commands.add_parser("metrics", help="dev metrics at each precision")
    scoring.add_argument("--model", type=Path, required=True)
    scoring.add_argument("--data", type=Path, default=Path(os.environ.get("DATA") or "corpus"))
    scoring.add_argument("--tasks", required=True, help="Comma list: the dev sets to score.")
    scoring.add_argument("--batch-size", type=int, default=64)
    scoring.add_argument("--output", type=Path, default=None)
    decode = commands.add_parser("decoding", help="beam search speed and BLEU at each precision")
    decode.add_argument("--model", type=Path, required=True)
    decode.add_argument("--data", type=Path, default=Path(os.environ.get("DATA") or "corpus"))
    decode.add_argument("--docs", type=int, default=256)
    decode.add_argument("--batch-size", type=int, default=32)
    decode.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.command == "speed":
        args.data = args.data or [tp.DATA / "train.jsonl", tp.DATA / "dev.jsonl"]
        speed(args)
    elif args.command == "metrics":
        metrics(args)
    else:
        decoding(args)


if __name__ == "__main__":
    main()
