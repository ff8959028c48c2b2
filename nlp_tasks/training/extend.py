"""Adding a task head to a trained pipeline without changing the heads it has.

The new head trains on the frozen shared transformer: every existing
component is sourced from the trained pipeline and frozen, and the transformer
is an annotating component, so it runs on each batch and the new head's
listener reads its output from the docs. The weights every old head depends on
never change, so their outputs do not either; ``add_task`` checks that on
texts before it reports success.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from thinc.api import Config

from ..components.pipeline_setup import SETUP_CALLBACK
from ..errors import DataError, Errors, PipelineChangedError
from ..registry import manager as plugins
from ..inference import load, pipeline_tasks
from . import recipe
from .config import evaluation_interval, initialize_settings
from .corpus import make_task_example, read_jsonl

_TRANSFORMER_FACTORY = "transformer"


@dataclass
class AddTaskResult:
    """What ``add_task`` produced.

    model_path (Path): The extended pipeline (``model-best`` of the run).
    checked_texts (int): How many texts the existing heads were compared on.
    unchanged (list[str]): The existing task components, all with identical outputs.
    scores (dict[str, Any]): The extended pipeline's scores for the new head.
    """

    model_path: Path
    checked_texts: int
    unchanged: list[str] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)


def add_task_config(
    nlp: Language,
    task_name: str,
    *,
    train: str | Path,
    dev: str | Path,
    max_steps: int = 1000,
    eval_frequency: int = 200,
    learn_rate: float = recipe.LEARN_RATE,
) -> Config:
    """A training config that adds one task head to a trained pipeline.

    nlp (Language): The trained pipeline, loaded from a directory.
    task_name (str): The task to add, provided by an installed plugin.
    train (str | Path): JSONL training records of the new task.
    dev (str | Path): JSONL dev records of the new task.
    max_steps (int): Training steps.
    eval_frequency (int): Steps between evaluations (at most ``max_steps``).
    learn_rate (float): Peak learning rate for the new head (the recipe's
        heads' rate by default); it warms up and falls as generated configs'
        rates do, following ``training.max_steps``.
    RETURNS (Config): A config for ``spacy train``.
    """
    task = plugins.get_task(task_name)
    if nlp.path is None:
        raise DataError(Errors.E038.format(name=nlp.meta.get("name")))
    existing = list(nlp.pipe_names)
    if task.name in existing or task.factory in {nlp.get_pipe_meta(n).factory for n in existing}:
        raise DataError(Errors.E037.format(task=task.name, components=existing))
    for role, path in (("train", train), ("dev", dev)):
        if not Path(path).is_file():
            raise DataError(Errors.E030.format(role=role, task=task.name, path=path))
    transformers = [n for n in existing if nlp.get_pipe_meta(n).factory == _TRANSFORMER_FACTORY]
    if not transformers:
        raise DataError(Errors.E039.format(path=nlp.path, components=existing))

    config = nlp.config.copy()
    source = str(Path(nlp.path).resolve())
    for name in existing:
        config["components"][name] = {"source": source}
    config["components"][task.name] = {"factory": task.factory, **task.component_config}
    config["nlp"]["pipeline"] = [*existing, task.name]
    config["paths"][f"{task.name}_train"] = str(train)
    config["paths"][f"{task.name}_dev"] = str(dev)
    config["corpora"]["train"]["sources"] = {task.name: f"${{paths.{task.name}_train}}"}
    config["corpora"]["dev"]["sources"] = {task.name: f"${{paths.{task.name}_dev}}"}
    training = config["training"]
    training["frozen_components"] = existing
    # Frozen components do not run during training unless they annotate: the
    # transformer must, so the new head's listener finds its output on the docs.
    training["annotating_components"] = transformers
    training["max_steps"] = max_steps
    training["eval_frequency"] = evaluation_interval(eval_frequency, max_steps)
    training["optimizer"]["learn_rate"] = {
        "@schedules": "nlp_tasks.warmup_linear.v1",
        "initial_rate": learn_rate,
        "total_steps": "${training.max_steps}",
        "warmup_fraction": recipe.WARMUP_FRACTION,
    }
    component = nlp.create_pipe(task.factory, name=task.name, config=task.component_config)
    settings = initialize_settings(component, task.name)
    if settings:
        config["initialize"]["components"][task.name] = settings
    block = config["nlp"].get("after_pipeline_creation") or {}
    if block.get("@callbacks") == SETUP_CALLBACK:
        block.setdefault("learn_rate_scales", {})[task.name] = float(task.learn_rate_scale)
    weights = {key: None for key in training.get("score_weights", {})}
    weights.update(Language.get_factory_meta(task.factory).default_score_weights)
    training["score_weights"] = weights
    return config


def changed_outputs(
    before: Language, after: Language, texts: list[str], *, batch_size: int = 32
) -> dict[str, int]:
    """Count the texts on which each task component of ``before`` answers differently in ``after``.

    before (Language): The original pipeline.
    after (Language): The extended pipeline.
    texts (list[str]): The texts to compare on.
    batch_size (int): Docs per batch.
    RETURNS (dict[str, int]): Component name to the number of texts whose
        ``Task.to_json`` output differs; 0 for every component when nothing changed.
    """
    tasks = pipeline_tasks(before)
    counts = dict.fromkeys(tasks, 0)
    docs_after = after.pipe(texts, batch_size=batch_size)
    for doc_before, doc_after in zip(before.pipe(texts, batch_size=batch_size), docs_after):
        for name, task in tasks.items():
            counts[name] += task.to_json(doc_before) != task.to_json(doc_after)
    return counts


def add_task(
    pipeline: str | Path,
    task_name: str,
    *,
    train: str | Path,
    dev: str | Path,
    output: str | Path,
    max_steps: int = 1000,
    eval_frequency: int = 200,
    learn_rate: float = recipe.LEARN_RATE,
    check_texts: list[str] | None = None,
    gpu_id: int = -1,
) -> AddTaskResult:
    """Train a new task head onto a trained pipeline and check the old heads are unchanged.

    pipeline (str | Path): The trained pipeline (directory or package name).
    task_name (str): The task to add.
    train (str | Path): JSONL training records of the new task.
    dev (str | Path): JSONL dev records of the new task.
    output (str | Path): Directory for the run: ``config.cfg``, ``model-best``, ``model-last``.
    max_steps (int): Training steps.
    eval_frequency (int): Steps between evaluations.
    learn_rate (float): Peak learning rate.
    check_texts (list[str] | None): Texts to compare the old heads on; by
        default the texts of the dev records.
    gpu_id (int): GPU to train on; -1 for CPU.
    RETURNS (AddTaskResult): Where the extended pipeline is and what was checked.
    """
    from spacy.cli.train import train as spacy_train

    before = load(pipeline)
    config = add_task_config(
        before,
        task_name,
        train=train,
        dev=dev,
        max_steps=max_steps,
        eval_frequency=eval_frequency,
        learn_rate=learn_rate,
    )
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    config.to_disk(output / "config.cfg")
    spacy_train(output / "config.cfg", output, use_gpu=gpu_id)
    model_path = output / "model-best"
    after = load(model_path)

    task = plugins.get_task(task_name)
    if check_texts is None:
        check_texts = [
            make_task_example(task, after, record, path=dev, line=line).reference.text
            for line, record in read_jsonl(dev)
        ]
    changed = changed_outputs(before, after, check_texts)
    if any(changed.values()):
        raise PipelineChangedError(
            Errors.E040.format(
                task=task_name,
                changed={name: n for name, n in changed.items() if n},
                total=len(check_texts),
            )
        )
    scores = after.meta.get("performance", {})
    return AddTaskResult(model_path, len(check_texts), sorted(changed), scores)
