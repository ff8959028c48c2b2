"""Translation on Multi30k en->de: BLEU/chrF learning curve, final dev scores, wall time.

Trains the translation head (``nlp-tasks init config --tasks translation``) on the
offline default backbone with ``spacy train``, evaluating sacreBLEU BLEU and chrF
(cased, detokenized) on the dev split every ``--eval-frequency`` steps, then scores
the last model on the whole dev split with greedy and beam decoding. Prints a
markdown table.

Data: ``--data``, by default ``$DATA`` or the project's corpus/ (with
``translation/{train,dev}.jsonl``, as ``spacy project run corpora`` writes it).
The RESULTS were produced on ../shared/datasets:

    DATA=../shared/datasets python bench/translation.py --steps 6000 --eval-frequency 1000
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The data root: $DATA, or the project's corpus/ (docs/data.md).
DATA = Path(os.environ.get("DATA") or ROOT / "corpus")


def write_config(path: Path, args: argparse.Namespace) -> None:
    from nlp_tasks.training.config import make_config

    config = make_config(
        ["translation"],
        max_steps=args.steps,
        eval_frequency=args.eval_frequency,
        learn_rate=args.learn_rate,
        backbone_learn_rate_scale=args.backbone_learn_rate_scale,
    )
    config["training"]["logger"] = {
        "@loggers": "spacy.ConsoleLogger.v3",
        "progress_bar": "eval",
        "console_output": True,
        "output_file": str(path.parent / "log.jsonl"),
    }
    config["training"]["batcher"]["size"] = args.batch_tokens
    config["corpora"]["dev"]["limit"] = args.dev_limit
    config.to_disk(path)


def learning_curve(log: Path, eval_frequency: int) -> list[dict]:
    """The dev scores (0-100) and mean training loss at each evaluation."""
    rows = []
    for line in log.read_text(encoding="utf8").splitlines():
        entry = json.loads(line)
        loss = entry["losses"].get("translation")
        rows.append(
            {
                "step": entry["step"],
                "bleu": entry["scores"].get("translation_bleu"),
                "chrf": entry["scores"].get("translation_chrf"),
                # spaCy sums the losses since the previous evaluation.
                "loss": loss / eval_frequency if loss is not None and entry["step"] else None,
            }
        )
    return rows


def score_dev(model_dir: Path, dev: Path, num_beams: int) -> dict:
    """BLEU/chrF of a trained pipeline on the whole dev file, and its speed."""
    import nlp_tasks
    from nlp_tasks.registry import get_task
    from nlp_tasks.training.corpus import read_jsonl

    nlp = nlp_tasks.load(model_dir)
    task = get_task("translation")
    examples = [task.make_example(nlp, record) for _, record in read_jsonl(dev)]
    start = time.perf_counter()
    scores = nlp.evaluate(
        examples, batch_size=64, component_cfg={"translation": {"num_beams": num_beams}}
    )
    seconds = time.perf_counter() - start
    sample = [(eg.reference.text, eg.reference._.translation) for eg in examples[:3]]
    outputs = [doc._.translation for doc in nlp.pipe([src for src, _ in sample])]
    return {
        "bleu": 100 * scores["translation_bleu"],
        "chrf": 100 * scores["translation_chrf"],
        "seconds": seconds,
        "sentences_per_s": len(examples) / seconds,
        "sample": [(src, ref, out) for (src, ref), out in zip(sample, outputs)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--eval-frequency", type=int, default=1000)
    parser.add_argument("--learn-rate", type=float, default=2e-4)
    parser.add_argument(
        "--backbone-learn-rate-scale",
        type=float,
        default=1.0,
        help="The backbone's learning rate as a fraction of --learn-rate.",
    )
    parser.add_argument(
        "--batch-tokens", type=int, default=2000, help="Padded source tokens a batch."
    )
    parser.add_argument(
        "--dev-limit", type=int, default=0, help="Dev records for the curve; 0: all."
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "runs" / "translation")
    parser.add_argument(
        "--config-only", action="store_true", help="Write OUTPUT/config.cfg and exit."
    )
    args = parser.parse_args()

    args.output.mkdir(parents=True, exist_ok=True)
    config = args.output / "config.cfg"
    log = args.output / "log.jsonl"
    log.unlink(missing_ok=True)
    write_config(config, args)
    if args.config_only:
        return
    command = [
        sys.executable, "-m", "spacy", "train", str(config),
        "--output", str(args.output / "model"), "--paths.data", str(args.data),
    ]  # fmt: skip
    start = time.perf_counter()
    with (args.output / "train.log").open("w") as out:
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT)
    train_seconds = time.perf_counter() - start

    dev = args.data / "translation" / "dev.jsonl"
    final = {beams: score_dev(args.output / "model" / "model-last", dev, beams) for beams in (1, 4)}
    print(f"# Translation, Multi30k en->de ({os.cpu_count()} CPUs)\n")
    print(
        f"Training: {args.steps} steps, {train_seconds / 60:.1f} min wall (evaluations included).\n"
    )
    print("| step | train loss (mean) | dev BLEU | dev chrF |\n| ---: | ---: | ---: | ---: |")
    for row in learning_curve(log, args.eval_frequency):
        bleu = f"{row['bleu']:.1f}" if row["bleu"] is not None else "-"
        chrf = f"{row['chrf']:.1f}" if row["chrf"] is not None else "-"
        loss = f"{row['loss']:.2f}" if row["loss"] is not None else "-"
        print(f"| {row['step']} | {loss} | {bleu} | {chrf} |")
    print("\n| decoding (model-last, whole dev) | BLEU | chrF | sentences/s |")
    print("| --- | ---: | ---: | ---: |")
    for beams, result in final.items():
        name = "greedy" if beams == 1 else f"beam {beams}"
        bleu, chrf, speed = result["bleu"], result["chrf"], result["sentences_per_s"]
        print(f"| {name} | {bleu:.1f} | {chrf:.1f} | {speed:.1f} |")
    print("\nSamples (beam 4):")
    for src, ref, out in final[4]["sample"]:
        print(f"- {src}\n  - reference: {ref}\n  - output: {out}")
    print(f"\nCommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
