"""Scoring every head of a pipeline on per-task JSONL dev data."""

from pathlib import Path
from typing import Any

from spacy.language import Language

from .pipeline import pipeline_tasks
from .readers import MultiTaskCorpus


def evaluate(
    nlp: Language, sources: dict[str, str | Path], *, batch_size: int = 64
) -> dict[str, Any]:
    """Score a pipeline on a multi-task corpus, grouping the metrics by component.

    Each component is scored only on the examples of its own task; its
    metrics are the keys of its factory's ``default_score_weights``.

    nlp (Language): The trained pipeline.
    sources (dict[str, str | Path]): Task name to JSONL file.
    batch_size (int): Docs per batch.
    RETURNS (dict[str, Any]): ``{"components": {name: {metric: value}}, "scores": all,
        "examples": count}``.
    """
    examples = list(MultiTaskCorpus(sources)(nlp))
    scores = nlp.evaluate(examples, batch_size=batch_size)
    by_component: dict[str, dict[str, Any]] = {}
    for name in pipeline_tasks(nlp):
        keys = nlp.get_pipe_meta(name).default_score_weights
        by_component[name] = {key: scores.get(key) for key in keys}
    return {"components": by_component, "scores": scores, "examples": len(examples)}


def format_table(result: dict[str, Any]) -> str:
    """Render the per-component metrics as a plain-text table.

    result (dict[str, Any]): The output of ``evaluate``.
    RETURNS (str): The table.
    """
    rows = [("component", "metric", "value")]
    for component, metrics in result["components"].items():
        for metric, value in metrics.items():
            if isinstance(value, (int, float)):
                rows.append((component, metric, f"{value:.4f}"))
            elif value is None:
                rows.append((component, metric, "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
