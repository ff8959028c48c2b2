"""Scoring every head of a pipeline on per-task JSONL dev data."""

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spacy.language import Language

from ..errors import DataError, Errors, Warnings, why_not_a_file
from ..inference import pipeline_tasks
from .corpus import MultiTaskCorpus, read_jsonl


def check_sources(
    data: str | Path | None = None, sources: Mapping[str, str | Path] | None = None
) -> None:
    """Check that the data a pipeline is to be scored on exists, before loading it.

    data (str | Path | None): A directory holding ``<task>/dev.jsonl`` files.
    sources (Mapping[str, str | Path] | None): Task name to JSONL file.
    """
    if data is not None:
        data = Path(data)
        if not data.is_dir():
            problem = "is not a directory" if data.exists() else "does not exist"
            raise DataError(Errors.E044.format(path=data, problem=problem))
    for task, path in (sources or {}).items():
        path = Path(path)
        if not path.is_file():
            problem = why_not_a_file(path)
            option = f"--source {task}=PATH"
            raise DataError(Errors.E046.format(option=option, path=path, problem=problem))


def dev_sources(
    nlp: Language,
    data: str | Path | None = None,
    sources: Mapping[str, str | Path] | None = None,
) -> dict[str, Path]:
    """The dev file of each task to score a pipeline on.

    nlp (Language): The pipeline; a source must be of one of its tasks.
    data (str | Path | None): A directory holding ``<task>/dev.jsonl`` files (the
        layout of ``assets/``); the pipeline's tasks without one are left out.
    sources (Mapping[str, str | Path] | None): Task name to JSONL file; these win
        over ``data``.
    RETURNS (dict[str, Path]): Task name to JSONL file, at least one.
    """
    check_sources(data, sources)
    tasks = sorted({task.name for task in pipeline_tasks(nlp).values()})
    found: dict[str, Path] = {}
    if data is not None:
        looked = [Path(data) / task / "dev.jsonl" for task in tasks]
        found = {path.parent.name: path for path in looked if path.is_file()}
        if not found and not sources:
            raise DataError(
                Errors.E045.format(
                    path=data,
                    tasks=", ".join(tasks) or "none",
                    looked=", ".join(str(path) for path in looked) or "nothing",
                )
            )
    for task, path in (sources or {}).items():
        _check_task(nlp, task, tasks)
        found[task] = Path(path)
    if data is not None:
        missing = [task for task in tasks if task not in found]
        if missing:
            looked = ", ".join(str(Path(data) / task / "dev.jsonl") for task in missing)
            warnings.warn(Warnings.W009.format(tasks=", ".join(missing), looked=looked))
    return found


def _check_task(nlp: Language, task: str, tasks: list[str]) -> None:
    if task not in tasks:
        path = nlp.path or nlp.meta.get("name")
        raise DataError(Errors.E036.format(path=path, task=task, components=tasks))


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
        "examples": count, "unscored": [component]}``; a component whose task has no
        source is listed in "unscored", its metrics None.
    """
    tasks = sorted({task.name for task in pipeline_tasks(nlp).values()})
    for task, path in sources.items():
        _check_task(nlp, task, tasks)
        if next(read_jsonl(path), None) is None:
            raise DataError(Errors.E143.format(path=path, task=task))
    examples = list(MultiTaskCorpus(sources)(nlp))
    scores = nlp.evaluate(examples, batch_size=batch_size)
    by_component: dict[str, dict[str, Any]] = {}
    unscored = []
    for name, task in pipeline_tasks(nlp).items():
        keys = nlp.get_pipe_meta(name).default_score_weights
        by_component[name] = {key: scores.get(key) for key in keys}
        if task.name not in sources:
            unscored.append(name)
    return {
        "components": by_component,
        "scores": scores,
        "examples": len(examples),
        "unscored": unscored,
    }


def format_table(result: dict[str, Any]) -> str:
    """Render the per-component metrics as a plain-text table.

    result (dict[str, Any]): The output of ``evaluate``.
    RETURNS (str): The table.
    """
    rows = [("component", "metric", "value")]
    unscored = set(result.get("unscored", ()))
    for component, metrics in result["components"].items():
        if component in unscored:
            rows.append((component, "(no dev data)", "-"))
            continue
        for metric, value in metrics.items():
            if isinstance(value, (int, float)):
                rows.append((component, metric, f"{value:.4f}"))
            elif value is None:
                rows.append((component, metric, "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
