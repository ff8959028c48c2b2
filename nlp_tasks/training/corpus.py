"""Reading per-task JSONL files and mixing them into one multi-task corpus."""

import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.training import Example

from ..components.routing import mark_task
from ..convert.lines import whole_file_problem
from ..errors import DataError, Errors, why_not_a_file
from ..registry import manager as plugins
from ..task import RecordError, Task
from ..task_inputs import FieldError


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Stream the records of a JSONL file, with their 1-based line numbers.

    Blank lines are skipped, and a UTF-8 byte order mark at the start (as
    ``process`` does). A line that is not valid UTF-8 or not valid JSON raises a
    ``DataError`` naming the file and line.

    path (str | Path): The file.
    YIELDS (tuple[int, Any]): The line number and the parsed record. A UTF-16
        file or one whose lines end at a carriage return alone is refused whole
        (E170, E171).
    """
    problem = whole_file_problem(path)
    if problem:
        raise DataError(problem)
    with Path(path).open("rb") as file:
        for line_no, raw in enumerate(file, start=1):
            if line_no == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                reason = f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte {error.start})"
                raise DataError(
                    Errors.E029.format(path=path, line=line_no, reason=reason)
                ) from None
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except (json.JSONDecodeError, RecursionError) as error:
                raise DataError(
                    Errors.E029.format(path=path, line=line_no, reason=f"invalid JSON ({error})")
                ) from None


def make_task_example(
    task: Task,
    nlp: Language,
    record: Any,
    *,
    path: str | Path,
    line: int,
    known_labels: "tuple[str, set[str]] | None" = None,
) -> Example:
    """Turn one record into an Example for ``task``, with errors that name file and line.

    task (Task): The task the record belongs to.
    nlp (Language): The pipeline, for its tokenizer.
    record (Any): The parsed JSON record.
    path (str | Path): The file it came from, for messages.
    line (int): Its line number, for messages.
    known_labels (tuple[str, set[str]] | None): A trained component's name and
        labels; a record using another label is an error. None skips the check.
    RETURNS (Example): The example, annotated for ``task`` only; its predicted
        doc is marked for ``task`` (``mark_task``), so that the pipeline runs only
        that task's head on it.
    """
    if not isinstance(record, dict):
        reason = f"expected a JSON object, got {type(record).__name__}"
        raise DataError(Errors.E029.format(path=path, line=line, reason=reason))
    try:
        example = task.make_example(nlp, record)
    except FieldError as error:
        raise DataError(error.located(str(path), line)) from None
    except RecordError as error:
        raise DataError(Errors.E029.format(path=path, line=line, reason=error)) from None
    mark_task(example.predicted, task.name)
    if known_labels is not None and task.labels_of is not None:
        component, labels = known_labels
        for label in task.labels_of(example):
            if label not in labels:
                raise DataError(
                    Errors.E031.format(
                        path=path,
                        line=line,
                        label=label,
                        component=component,
                        labels=sorted(labels),
                    )
                )
    return example


def trained_labels(task: Task, nlp: Language) -> "tuple[str, set[str]] | None":
    """The labels of the pipeline's component for ``task``, if it has any yet.

    task (Task): The task.
    nlp (Language): The pipeline.
    RETURNS (tuple[str, set[str]] | None): The component's name and labels, or
        None when the pipeline has no such component or it has no labels yet.
    """
    for name, component in nlp.pipeline:
        if nlp.get_pipe_meta(name).factory == task.factory:
            labels = set(getattr(component, "labels", ()) or ())
            return (name, labels) if labels else None
    return None


class MultiTaskCorpus:
    """Per-task JSONL sources mixed into one stream of Examples.

    Each Example is annotated for its own task only: the others see it as
    missing, never as negative. With ``shuffle``, each call (a training epoch)
    draws a task per example with probability proportional to
    ``n_task ** (1 / temperature)``, times the task's ``weights`` factor (1.0 unless
    given), and cycles through that task's shuffled records, so temperature > 1
    upsamples small tasks and a factor above 1 draws one task more often. Without ``shuffle``,
    every record of every source is yielded once, in file order (for dev sets).
    Each shuffled pass starts with one example of each label of each task, so
    the sample spaCy initializes the components from holds every label.
    """

    def __init__(
        self,
        sources: dict[str, str | Path],
        *,
        shuffle: bool = False,
        temperature: float = 1.0,
        limit: int = 0,
        seed: int = 0,
        weights: dict[str, float] | None = None,
    ) -> None:
        if not sources:
            raise DataError(Errors.E033)
        if temperature <= 0:
            raise DataError(Errors.E032.format(temperature=temperature))
        self.weights = _check_weights(weights or {}, sources)
        self.tasks = {name: plugins.get_task(name) for name in sources}
        self.paths = {name: Path(path) for name, path in sources.items()}
        for name, path in self.paths.items():
            if not path.is_file():
                problem = why_not_a_file(path)
                raise DataError(
                    Errors.E030.format(role="data", task=name, path=path, problem=problem)
                )
        self.shuffle = shuffle
        self.temperature = temperature
        self.limit = limit
        self.seed = seed
        self.epoch = 0
        self._records: dict[str, list[tuple[int, Any]]] = {}
        self._cover: list[tuple[str, int, Any]] | None = None

    def records(self, task: str) -> list[tuple[int, Any]]:
        """The (line, record) pairs of one task's source, read once.

        task (str): The task name.
        RETURNS (list[tuple[int, Any]]): Line numbers and parsed records.
        """
        if task not in self._records:
            records = []
            for line, record in read_jsonl(self.paths[task]):
                records.append((line, record))
                if self.limit and len(records) >= self.limit:
                    break
            self._records[task] = records
        return self._records[task]

    def __call__(self, nlp: Language) -> Iterator[Example]:
        """Yield the corpus's Examples (one epoch when shuffling).

        nlp (Language): The pipeline being trained or evaluated.
        YIELDS (Example): Examples annotated for one task each.
        """
        # Labels are read before the first example is yielded: during
        # initialization a component adds labels as it reads, so only labels it
        # had before this pass count as fixed.
        known = {name: trained_labels(task, nlp) for name, task in self.tasks.items()}
        if not self.shuffle:
            for name, task in self.tasks.items():
                for line, record in self.records(name):
                    yield make_task_example(
                        task,
                        nlp,
                        record,
                        path=self.paths[name],
                        line=line,
                        known_labels=known[name],
                    )
            return
        rng = random.Random(self.seed + self.epoch)
        self.epoch += 1
        for name, line, record in self._label_cover(nlp):
            yield make_task_example(self.tasks[name], nlp, record, path=self.paths[name], line=line)
        empty = [name for name in self.tasks if not self.records(name)]
        if empty:
            name = empty[0]
            raise DataError(Errors.E146.format(path=self.paths[name], task=name))
        names = list(self.tasks)
        sizes = [len(self.records(name)) for name in names]
        weights = [
            size ** (1.0 / self.temperature) * self.weights.get(name, 1.0)
            for name, size in zip(names, sizes)
        ]
        streams = {name: self._cycle(name, rng) for name in names}
        for name in rng.choices(names, weights=weights, k=sum(sizes)):
            line, record = next(streams[name])
            yield make_task_example(
                self.tasks[name],
                nlp,
                record,
                path=self.paths[name],
                line=line,
                known_labels=known[name],
            )

    def _label_cover(self, nlp: Language) -> list[tuple[str, int, Any]]:
        # With a streamed corpus (max_epochs = -1), spaCy initializes each
        # component from the first 100 examples of a fresh pass, and so fixes
        # its labels there. Leading every pass with one record per label of
        # every task keeps a rare label from being missed; it adds a handful
        # of examples to an epoch of thousands.
        if self._cover is None:
            self._cover = []
            for name, task in self.tasks.items():
                if task.labels_of is None:
                    continue
                seen: set[str] = set()
                for line, record in self.records(name):
                    example = make_task_example(task, nlp, record, path=self.paths[name], line=line)
                    new = set(task.labels_of(example)) - seen
                    if new:
                        seen |= new
                        self._cover.append((name, line, record))
        return self._cover

    def _cycle(self, task: str, rng: random.Random) -> Iterator[tuple[int, Any]]:
        records = list(self.records(task))
        while True:
            rng.shuffle(records)
            yield from records


def _check_weights(weights: dict[str, Any], sources: dict[str, Any]) -> dict[str, float]:
    checked = {}
    for name, value in weights.items():
        if name not in sources:
            problem = f"there is no source of that task (sources: {', '.join(sources)})"
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problem = f"it must be a number, not {value!r}"
        elif not math.isfinite(value) or value <= 0:
            problem = f"it must be a finite number above 0, not {value!r}"
        else:
            checked[name] = float(value)
            continue
        raise DataError(Errors.E168.format(task=name, problem=problem))
    return checked


def create_multitask_corpus(
    sources: dict[str, str],
    *,
    shuffle: bool = False,
    temperature: float = 1.0,
    limit: int = 0,
    seed: int = 0,
    weights: dict[str, float] | None = None,
) -> Callable[[Language], Iterator[Example]]:
    """Create a multi-task corpus reader (registered as ``nlp_tasks.MultiTaskCorpus.v1``).

    sources (dict[str, str]): Task name to JSONL path.
    shuffle (bool): Sample and shuffle (training) or read in order (evaluation).
    temperature (float): Sampling temperature over task sizes; 1.0 is proportional.
    limit (int): Read at most this many records per task; 0 for no limit.
    seed (int): Random seed for sampling.
    weights (dict[str, float] | None): A factor on a task's draw weight (1.0 for a
        task left out), so one task is drawn more or less often than its size and
        the temperature give; e.g. ``[corpora.train.weights] translation = 3``.
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus.
    """
    corpus = MultiTaskCorpus(
        sources, shuffle=shuffle, temperature=temperature, limit=limit, seed=seed, weights=weights
    )
    if not shuffle:
        # A dev source without records would score its head as 0 at every evaluation,
        # silently (the training sources have E146).
        for name, path in corpus.paths.items():
            if next(read_jsonl(path), None) is None:
                raise DataError(Errors.E164.format(path=path, task=name))
    return corpus
