"""GPU throughput of the nlp-tasks pipeline (sentiment + NER) vs. a bare AutoModel forward.

Part of the GPU check kit (source: bench/gpu/, run as the copy .gpu/gpu_throughput.py).
Reuses bench/throughput.py of the snapshot (.gpu/src/bench): build_pipeline, bare_batches,
load_texts, words, run_ours, flops_per_wordpiece. The backbone is a local directory
(random weights: speed does not depend on them), patched into make_config.

    python .gpu/gpu_throughput.py --backbone /tmp/minilm-random --gpu-id 0
"""

import argparse
import functools
import sys
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent
sys.path.insert(0, str(KIT / "src" / "bench"))

import throughput as tb  # noqa: E402  (the snapshot's bench/throughput.py)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backbone", required=True, help="Local HF model directory.")
    parser.add_argument("--gpu-id", type=int, default=0)
    parser.add_argument("--data", type=Path, default=KIT / "data" / "bbc_dev_texts.jsonl")
    parser.add_argument("--docs", type=int, default=840, help="Docs (texts cycled).")
    parser.add_argument("--batch-sizes", default="16,64,256", help="nlp.pipe batch sizes.")
    parser.add_argument("--batch-size", type=int, default=64, help="process_records / bare.")
    parser.add_argument("--batch-words", type=int, default=16_384)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--stride", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=2, help="Timed runs (best of).")
    parser.add_argument(
        "--no-mixed", action="store_true", help="Skip the mixed-precision pipeline."
    )
    args = parser.parse_args()

    import spacy
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    on_gpu = args.gpu_id >= 0
    if on_gpu:
        spacy.require_gpu(args.gpu_id)  # before building: the models are allocated on the GPU
    device = torch.device(f"cuda:{args.gpu_id}" if on_gpu else "cpu")

    def sync():
        if on_gpu:
            torch.cuda.synchronize(device)

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(args.repeat):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            best = min(best, time.perf_counter() - start)
        return best

    import importlib
    import warnings

    # The snapshot's build_pipeline imports make_config at call time, from nlp_tasks.config
    # (older snapshots) or nlp_tasks.training.config: patch whichever of them exist.
    modules = []
    for name in ("nlp_tasks.training.config", "nlp_tasks.config"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                modules.append(importlib.import_module(name))
        except ImportError:
            pass
    make_config = modules[0].make_config

    def build(mixed: bool):
        # Our backbone (and gpu=True for the mixed-precision variant: mixed_precision + the
        # PyTorch allocator).
        patched = functools.partial(make_config, backbone=args.backbone, gpu=mixed)
        for module in modules:
            module.make_config = patched
        try:
            return tb.build_pipeline(2, args.window, args.stride)
        finally:
            for module in modules:
                module.make_config = make_config

    base = tb.load_texts([args.data], 10**9)
    texts = [base[i % len(base)] for i in range(args.docs)]
    n_words = tb.words(texts)
    print(f"# GPU throughput: {len(texts)} docs ({len(base)} distinct BBC texts), {n_words} words")
    print(
        f"device {device} "
        f"({torch.cuda.get_device_name(device) if on_gpu else 'CPU'}), torch {torch.__version__}, "
        f"spacy {spacy.__version__}, transformers {transformers.__version__}, "
        f"torch threads {torch.get_num_threads()}; tf32 matmul "
        f"{torch.backends.cuda.matmul.allow_tf32}; best of {args.repeat}"
    )

    start = time.perf_counter()
    nlp = build(False)
    print(f"pipeline built in {time.perf_counter() - start:.1f}s: {nlp.pipe_names}")

    rows = []

    def pipe_run(pipeline, batch_size):
        for _doc in pipeline.pipe(texts, batch_size=batch_size):
            pass

    warm = texts[: min(64, len(texts))]
    list(nlp.pipe(warm, batch_size=64))
    pipe_s = {}
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        pipe_run_bs = functools.partial(pipe_run, nlp, bs)
        list(nlp.pipe(warm, batch_size=bs))
        pipe_s[bs] = timed(pipe_run_bs)
        rows.append((f"pipeline nlp.pipe, batch_size {bs} (fp32)", pipe_s[bs]))
        print(f"  nlp.pipe bs={bs}: {pipe_s[bs]:.2f}s", flush=True)
    ours = timed(lambda: tb.run_ours(nlp, texts, args.batch_size, args.batch_words))
    rows.append(
        (
            f"pipeline process_records, batch {args.batch_size} docs / "
            f"{args.batch_words} words (fp32)",
            ours,
        )
    )
    print(f"  process_records: {ours:.2f}s", flush=True)

    # The bare forward: the very wordpieces / windows / forward batches of process_records.
    batches = tb.bare_batches(nlp, texts, args.batch_size, args.batch_words)
    wordpieces = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(b["attention_mask"].size for b in batches)
    sequences = sum(len(b["input_ids"]) for b in batches)
    from transformers import AutoModel

    model = AutoModel.from_pretrained(args.backbone).eval().to(device)
    tensors = [{k: torch.as_tensor(v).to(device) for k, v in b.items()} for b in batches]

    def bare(dtype=None):
        with torch.inference_mode():
            if dtype is None:
                for batch in tensors:
                    model(**batch)
            else:
                with torch.autocast(device.type, dtype=dtype):
                    for batch in tensors:
                        model(**batch)

    bare(), bare()
    bare_s = timed(bare)
    rows.append(("bare AutoModel forward, fp32 (same windows and batches)", bare_s))
    bare_bf16 = None
    if on_gpu:
        bare(torch.bfloat16)
        bare_bf16 = timed(functools.partial(bare, torch.bfloat16))
        rows.append(("bare AutoModel forward, autocast bf16", bare_bf16))
    model = tensors = None  # free the GPU memory before the mixed-precision pipeline

    if not args.no_mixed and on_gpu:
        try:
            mixed = build(True)
            list(mixed.pipe(warm, batch_size=args.batch_size))
            mixed_s = timed(lambda: tb.run_ours(mixed, texts, args.batch_size, args.batch_words))
            rows.append(
                ("pipeline process_records, mixed_precision=true (init config --gpu)", mixed_s)
            )
        except Exception as error:  # noqa: BLE001
            print("mixed-precision pipeline FAILED:", repr(error))

    print("\n| measure | seconds | docs/s | words/s | wordpieces/s | vs bare fp32 | vs bare bf16 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, s in rows:
        vs_bf16 = f"{bare_bf16 / s:.0%}" if bare_bf16 else "n/a"
        print(
            f"| {label} | {s:.2f} | {len(texts) / s:,.0f} | {n_words / s:,.0f} | "
            f"{wordpieces / s:,.0f} | {bare_s / s:.0%} | {vs_bf16} |"
        )
    flops = tb.flops_per_wordpiece(args.backbone, wordpieces / sequences)
    print(
        f"\nWordpieces: {wordpieces} real of {padded} padded in {sequences} windows, "
        f"{len(batches)} forward batches; {flops / 1e6:.1f} MFLOPs/wordpiece -> bare fp32 "
        f"{wordpieces / bare_s * flops / 1e12:.2f} TFLOP/s"
        + (f", bare bf16 {wordpieces / bare_bf16 * flops / 1e12:.2f} TFLOP/s" if bare_bf16 else "")
    )
    if on_gpu:
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        print(f"peak CUDA memory (torch allocator) {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
