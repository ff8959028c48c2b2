"""No-answer questions in the style of SQuAD v2.0: does the QA head learn to abstain?

../shared/datasets has no SQuAD v2.0, so ``make`` builds unanswerable questions
from the QA corpus: every ``--every``-th question is paired with the context of a
question about another article (another ``title``) and its answers are emptied.
A pair is kept as a negative only if none of the question's gold answers occurs
in the new context; otherwise the question stays as it was. These negatives are
easier than SQuAD v2.0's, which were written to look answerable, so the figures
measure the mechanism (every window trained to the classifier token, the
no-answer score, ``handle_impossible_answer``), not v2.0 accuracy.

    DATA=../shared/datasets python bench/qa_unanswerable.py make --output bench/runs/qa-v2
    python bench/qa.py --data bench/runs/qa-v2/source/qa --systems joint --steps 429 \
        --learn-rate 1e-3 --backbone-learn-rate-scale 0.1 --output bench/runs/qa-v2
    python bench/qa_unanswerable.py score --output bench/runs/qa-v2

``score`` scores the trained joint pipeline on the v2-style dev set twice, with
``handle_impossible_answer`` off and on, and prints F1 over all questions, F1
over the answerable ones and the share of unanswerable ones scored right (SQuAD
normalization: a span such as "," counts as no answer).
(``$DATA`` is the project's corpus/ when unset.)
"""

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

DATA = Path(os.environ.get("DATA") or Path(__file__).resolve().parent.parent / "corpus")


def make_unanswerable(
    records: list[dict[str, Any]], every: int, seed: int
) -> tuple[list[dict[str, Any]], int]:
    """The records with every ``every``-th question moved to another article's context.

    RETURNS (tuple): The new records, in the same order, and how many are unanswerable.
    """
    rng = random.Random(seed)
    contexts = sorted({(r.get("title", ""), r["context"]) for r in records})
    out, negatives = [], 0
    for index, record in enumerate(records):
        if index % every == every - 1:
            for _ in range(20):
                title, context = rng.choice(contexts)
                answers = [a for a in record["answers"]["text"] if a]
                if title != record.get("title", "") and not any(a in context for a in answers):
                    record = {
                        **record,
                        "id": f"{record.get('id', index)}-unanswerable",
                        "title": title,
                        "context": context,
                        "answers": {"text": [], "answer_start": []},
                    }
                    negatives += 1
                    break
        out.append(record)
    return out, negatives


def make(args: argparse.Namespace) -> None:
    target = args.output / "source" / "qa"
    target.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        lines = (args.data / f"{split}.jsonl").read_text(encoding="utf8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        records, negatives = make_unanswerable(records, args.every, args.seed)
        with (target / f"{split}.jsonl").open("w", encoding="utf8") as file:
            for record in records:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"{split}: {len(records)} questions, {negatives} of them unanswerable")


def score(args: argparse.Namespace) -> None:
    import nlp_tasks
    from nlp_tasks.registry import get_task

    nlp = nlp_tasks.load(args.output / "joint" / "training" / "model-last")
    task = get_task("qa")
    # The dev records bench/qa.py scored (``--dev-limit`` applied).
    lines = (args.output / "data" / "qa" / "dev.jsonl").read_text(encoding="utf8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    rows = [
        "| handle_impossible_answer | F1, all | F1, answerable | unanswerable scored right |",
        "| --- | --- | --- | --- |",
    ]
    results = {}
    # evaluate() predicts on copies, so one list of examples serves both settings.
    examples = [task.make_example(nlp, record) for record in records]
    for abstain in (False, True):
        nlp.get_pipe("qa").cfg["handle_impossible_answer"] = abstain
        scores = nlp.evaluate(examples, batch_size=32)
        results[str(abstain).lower()] = scores
        rows.append(
            f"| {str(abstain).lower()} | {100 * scores['qa_f1']:.2f} | "
            f"{100 * scores['qa_has_answer_f1']:.2f} | {100 * scores['qa_no_answer_exact']:.2f} |"
        )
    table = "\n".join(rows)
    print(f"dev: {len(records)} questions\n\n{table}")
    (args.output / "unanswerable.md").write_text(table + "\n", encoding="utf8")
    (args.output / "unanswerable.json").write_text(json.dumps(results, indent=2), encoding="utf8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("make", "score"))
    parser.add_argument("--data", type=Path, default=DATA / "qa", help="QA JSONL train and dev.")
    parser.add_argument("--output", type=Path, default=Path("bench/runs/qa-v2"))
    parser.add_argument("--every", type=int, default=3, help="One question in EVERY goes.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.step == "make":
        make(args)
    else:
        score(args)


if __name__ == "__main__":
    main()
