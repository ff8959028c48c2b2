"""Adding a task head to a trained pipeline without changing the heads it has.

The new head trains on the frozen shared transformer: every existing
component is sourced from the trained pipeline and frozen, and the transformer
is an annotating component, so it runs on each batch and the new head's
listener reads its output from the docs. The weights every old head depends on
never change, so their outputs do not either; ``add_task`` checks that on
texts before it reports success.
"""

import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from thinc.api import Config
from wasabi import msg

from ..components.pipeline_setup import SETUP_CALLBACK
from ..errors import DataError, Errors, PipelineChangedError, RecordError, Warnings, why_not_a_file
from ..registry import manager as plugins
from ..inference import load, pipeline_tasks
from ..task_inputs import TaskInputs
from . import recipe
from .config import check_distinct_doc_attributes, evaluation_interval, initialize_settings
from .corpus import make_task_example, read_jsonl

_TRANSFORMER_FACTORY = "transformer"
_EXTRA_WORDS = 8


@dataclass
class AddTaskResult:
    """What ``add_task`` produced.

    model_path (Path): The extended pipeline (``model-best`` of the run).
    checked_texts (int): How many texts the existing heads were compared on.
    unchanged (list[str]): The existing task components compared, all with
        identical outputs.
    scores (dict[str, Any]): The extended pipeline's scores for the new head.
    unchecked (list[str]): The existing task components no check doc could be
        made for (warned about with W010).
    """

    model_path: Path
    checked_texts: int
    unchanged: list[str] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)
    unchecked: list[str] = field(default_factory=list)


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
    check_addable(nlp, task_name, train=train, dev=dev)
    existing = list(nlp.pipe_names)
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


def check_addable(nlp: Language, task_name: str, *, train: str | Path, dev: str | Path) -> None:
    """Refuse a task the pipeline has (by name or factory) or whose data files are missing.

    nlp (Language): The trained pipeline.
    task_name (str): The task to add, provided by an installed plugin.
    train (str | Path): JSONL training records of the task.
    dev (str | Path): JSONL dev records of the task.
    """
    task = plugins.get_task(task_name)
    existing = list(nlp.pipe_names)
    if task.name in existing or task.factory in {nlp.get_pipe_meta(n).factory for n in existing}:
        raise DataError(Errors.E037.format(task=task.name, components=existing))
    factories = {name: nlp.get_pipe_meta(name).factory for name in existing}
    check_distinct_doc_attributes({**factories, task.name: task.factory})
    for role, path in (("train", train), ("dev", dev)):
        if not Path(path).is_file():
            problem = why_not_a_file(path)
            raise DataError(
                Errors.E030.format(role=role, task=task.name, path=path, problem=problem)
            )


#: What a run writes into its output directory: the config, then spaCy's two pipelines.
RUN_OUTPUTS = ("config.cfg", "model-best", "model-last")


def check_output(
    output: str | Path,
    pipeline: str | Path | None,
    *,
    train: str | Path | None = None,
    dev: str | Path | None = None,
    data: Sequence[str | Path] = (),
) -> None:
    """Refuse an output directory whose run would write over the pipeline or the data.

    The run writes ``config.cfg``, ``model-best`` and ``model-last`` into ``output``
    (``RUN_OUTPUTS``): none of them may be, hold or lie inside the pipeline being
    extended (``--output`` the pipeline itself, or the folder holding it as
    ``model-best``), nor the training or dev file.

    output (str | Path): The run's directory.
    pipeline (str | Path | None): The pipeline's directory; None for a package name
        not yet resolved (only the data files are checked then).
    train (str | Path | None): The training file.
    dev (str | Path | None): The dev file.
    data (Sequence[str | Path]): Further data files the run must not write over.
    """
    from ..batch.files import overwrites

    named = [(train, "the training file"), (dev, "the dev file")]
    keep = [(Path(path), what) for path, what in named if path is not None]
    keep += [(Path(path), "a data file") for path in data]
    if pipeline is not None:
        keep.insert(0, (Path(pipeline), "the pipeline"))
    for name in RUN_OUTPUTS:
        written = Path(output) / name
        for target, what in keep:
            if not target.exists():
                continue
            if overwrites(written, target) or overwrites(target, written):
                problem = f"the run writes '{written}', which would overwrite {what} ('{target}')"
                raise DataError(Errors.E047.format(path=output, option="--output", problem=problem))


@dataclass
class OutputComparison:
    """How one existing head's outputs compare before and after a task was added.

    compared (int): Docs the head ran on, in both pipelines.
    changed (int): Of those, the docs whose ``Task.to_json`` output differs.
    reason (str): Why nothing could be compared, when ``compared`` is 0.
    """

    compared: int = 0
    changed: int = 0
    reason: str = ""


def check_records(inputs: TaskInputs, texts: list[str]) -> list[dict[str, Any]]:
    """Records shaped for a task's inputs, made from plain texts.

    A one-segment task gets each text as it is; a task of several segments gets
    consecutive non-blank texts as its segments (a pair: each text and the next);
    each extra field gets the first words of the record's first text as its one
    value (for a question field, they are asked as a question). What matters is
    that the head runs on them, in both pipelines alike.

    inputs (TaskInputs): The task's declared inputs.
    texts (list[str]): The texts.
    RETURNS (list[dict[str, Any]]): One record per text (per non-blank text, for
        several segments).
    """
    segments = inputs.segments
    usable = texts if len(segments) == 1 else [text for text in texts if text.strip()]
    records = []
    for i, text in enumerate(usable):
        record = {name: usable[(i + k) % len(usable)] for k, name in enumerate(segments)}
        # A few words: a question field has a length limit, past which it is cut
        # with a warning.
        words = " ".join(text.split()[:_EXTRA_WORDS])
        record.update({extra.name: [words] for extra in inputs.extras if words})
        records.append(record)
    return records


def compare_outputs(
    before: Language, after: Language, texts: list[str], *, batch_size: int = 32
) -> dict[str, OutputComparison]:
    """Compare each task component of ``before`` with itself in ``after``.

    Each head is compared on docs of its own input (``check_records``), so a
    head that reads a sentence pair or a question sees one and runs.

    before (Language): The original pipeline.
    after (Language): The extended pipeline.
    texts (list[str]): The texts the check docs are made from.
    batch_size (int): Docs per batch.
    RETURNS (dict[str, OutputComparison]): Component name to its comparison.
    """
    tasks = pipeline_tasks(before)
    # Heads of one input (sentiment and NER both read a text) share their docs and
    # one pass of each pipeline.
    by_input: dict[TaskInputs, list[str]] = {}
    for name, task in tasks.items():
        by_input.setdefault(task.inputs, []).append(name)
    results = {name: OutputComparison() for name in tasks}
    for inputs, names in by_input.items():
        try:
            records = check_records(inputs, texts)
            docs_before = [inputs.make_doc(before, record) for record in records]
            docs_after = [inputs.make_doc(after, record) for record in records]
        except RecordError as error:
            for name in names:
                results[name].reason = getattr(error, "problem", str(error))
            continue
        pairs = zip(
            before.pipe(docs_before, batch_size=batch_size),
            after.pipe(docs_after, batch_size=batch_size),
        )
        for doc_before, doc_after in pairs:
            for name in names:
                task, result = tasks[name], results[name]
                if task.inputs.accepts(doc_before):
                    result.compared += 1
                    result.changed += task.to_json(doc_before) != task.to_json(doc_after)
        for name in names:
            if not results[name].compared:
                reason = "the head ran on none of them" if records else "no usable text"
                results[name].reason = reason
    return results


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
    # Nothing is written before this: an output on the pipeline (or its data) is refused.
    check_output(output, before.path, train=train, dev=dev)
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
    compared = compare_outputs(before, after, check_texts)
    changed = {name: result.changed for name, result in compared.items() if result.changed}
    if changed:
        raise PipelineChangedError(
            Errors.E040.format(task=task_name, changed=changed, total=len(check_texts))
        )
    unchecked = sorted(name for name, result in compared.items() if not result.compared)
    if unchecked:
        reasons = "; ".join(f"{name}: {compared[name].reason}" for name in unchecked)
        warnings.warn(
            Warnings.W010.format(
                components=", ".join(unchecked),
                task=task_name,
                total=len(check_texts),
                reason=reasons,
            )
        )
    unchanged = sorted(name for name in compared if name not in unchecked)
    scores = after.meta.get("performance", {})
    return AddTaskResult(model_path, len(check_texts), unchanged, scores, unchecked)


def add_tasks(
    pipeline: str | Path,
    task_names: Sequence[str],
    *,
    data: str | Path,
    output: str | Path,
    max_steps: int = 1000,
    eval_frequency: int = 200,
    learn_rate: float = recipe.LEARN_RATE,
    check_texts: list[str] | None = None,
    gpu_id: int = -1,
) -> list[AddTaskResult]:
    """Add task heads to a trained pipeline one after another, each on the last one's pipeline.

    The route for heads that write text (``[W014]``): train the others together,
    then add each of these on the frozen backbone. Every task is checked before
    anything trains (installed, named once, not in the pipeline, its files there),
    so a bad name does not surface after an hour of the first task's training.
    One task runs in ``output`` itself, as ``add_task``; several run in
    ``output/<task>/``, in the order given, and the last one's ``model-best`` is
    copied to ``output/model-best``. With none, the pipeline is copied there as it
    is, so a workflow's next step reads ``output/model-best`` either way.

    pipeline (str | Path): The trained pipeline (directory or package name).
    task_names (Sequence[str]): The tasks to add, in order.
    data (str | Path): Directory with ``<task>/train.jsonl`` and ``<task>/dev.jsonl``
        for each task.
    output (str | Path): Directory for the runs and the final ``model-best``.
    max_steps (int): Training steps of each task.
    eval_frequency (int): Steps between evaluations.
    learn_rate (float): Peak learning rate of each new head.
    check_texts (list[str] | None): Texts to compare the existing heads on; by
        default each new task's dev texts.
    gpu_id (int): GPU to train on; -1 for CPU.
    RETURNS (list[AddTaskResult]): One per task added, in order; the last one's
        ``model_path`` is the run's own (``output/model-best`` is its copy).
    """
    output, data = Path(output), Path(data)
    nlp = load(pipeline)
    names = [plugins.get_task(name).name for name in task_names]
    files = {name: (data / name / "train.jsonl", data / name / "dev.jsonl") for name in names}
    for name in names:
        if names.count(name) > 1:
            raise DataError(Errors.E035.format(task=name, tasks=", ".join(names)))
        check_addable(nlp, name, train=files[name][0], dev=files[name][1])
    runs = {name: output if len(names) == 1 else output / name for name in names}
    for name in names:
        check_output(runs[name], nlp.path, train=files[name][0], dev=files[name][1])
    # output/model-best, the copy written last, must not be the pipeline or a data file either.
    check_output(output, nlp.path, data=[path for name in names for path in files[name]])

    results: list[AddTaskResult] = []
    current = Path(nlp.path)
    for number, name in enumerate(names, start=1):
        if len(names) > 1:
            msg.divider(f"Adding {name} ({number} of {len(names)}) onto {current}")
        result = add_task(
            current,
            name,
            train=files[name][0],
            dev=files[name][1],
            output=runs[name],
            max_steps=max_steps,
            eval_frequency=eval_frequency,
            learn_rate=learn_rate,
            check_texts=check_texts,
            gpu_id=gpu_id,
        )
        results.append(result)
        current = result.model_path
    final = output / "model-best"
    if current != final:
        if final.exists():
            shutil.rmtree(final)
        shutil.copytree(current, final)
    return results
