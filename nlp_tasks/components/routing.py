"""Each task head runs only on the docs its task accepts.

A pipeline may serve a mixed stream: plain texts, sentence pairs, texts with
questions. ``route_docs`` makes every task component of a pipeline pass over
the docs its task does not accept (``Task.accepts``), so a pair doc gets no
sentiment and a plain text no similarity: their output is absent, not a guess.
Docs with no tokens at all (``nlp("")``) are passed over too: a head has
nothing to read in them (spacy-transformers' listener fails on a batch of
nothing else), and keeps its "no output" defaults on them (no label, no
entities, None), which ``to_json`` reports as for any blank doc.

A doc read from a task's corpus (``MultiTaskCorpus``: training and
evaluation) is marked with that task, and only that task's head runs on it.
Its gold is for that task alone, and every scorer skips the other tasks'
examples, so another head's output on it would be computed and thrown away:
in a multi-task evaluation that was a translation of every dev sentence,
article and QA context of every other task.

It wraps each task component's ``predict`` and ``set_annotations``, which
spaCy's ``TrainablePipe.__call__`` and ``pipe`` (and spaCy's parser) call
for every batch: a head built on them is routed whatever else it does. A head
that overrides ``__call__`` or ``pipe`` without them narrows its batches
itself with ``accepted_docs``.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .method_wrapper import MethodWrapper, wrap_method

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from ..task_inputs import TaskInputs

#: The attribute holding a routed component's ``TaskInputs``.
_INPUTS = "nlp_tasks_inputs"
#: The attribute holding a routed component's task name.
_TASK = "nlp_tasks_task"
#: The ``doc.user_data`` key naming the task whose corpus a doc was read from.
_TASK_KEY = ("nlp_tasks", "task")


def route_docs(nlp: "Language") -> "Language":
    """Make every task component of ``nlp`` run only on the docs its task accepts.

    Called by the ``nlp_tasks.pipeline_setup.v2`` callback, which every
    generated config names in ``[nlp.after_pipeline_creation]`` (and by its
    older versions), and by
    ``nlp_tasks.load``; calling it again is harmless. Components whose factory
    no task names are left as they are.

    nlp (Language): The pipeline.
    RETURNS (Language): The same pipeline.
    """
    from ..registry import manager as plugins

    for name in nlp.component_names:
        task = plugins.task_for_factory(nlp.get_pipe_meta(name).factory)
        if task is not None:
            route_component(nlp.get_pipe(name), task.inputs, task=task.name)
    return nlp


def route_component(component: Any, inputs: "TaskInputs", *, task: str | None = None) -> None:
    """Make one component run only on the docs ``inputs`` accepts.

    component (Any): A pipeline component with ``predict`` and ``set_annotations``.
    inputs (TaskInputs): Its task's declared inputs.
    task (str | None): Its task's name: a doc marked for another task
        (``mark_task``) is passed over. None: the mark is not read.
    """
    component.__dict__[_INPUTS] = inputs
    component.__dict__[_TASK] = task
    wrap_method(component, "predict", _RoutedPredict)
    wrap_method(component, "set_annotations", _RoutedAnnotate)


def accepted_docs(component: Any, docs: "Iterable[Doc]") -> "list[Doc]":
    """The docs of a batch that a component should process, in order: those its
    task accepts that have tokens.

    For a head that overrides ``__call__`` or ``pipe``. A component that is not
    routed (not in a pipeline, or no task's) gets every doc.

    component (Any): The pipeline component.
    docs (Iterable[Doc]): The batch.
    RETURNS (list[Doc]): The docs the component should process.
    """
    inputs = getattr(component, _INPUTS, None)
    docs = list(docs)
    if inputs is None:
        return docs
    task = getattr(component, _TASK, None)
    return [
        doc
        for doc in docs
        if len(doc)
        and inputs.accepts(doc)
        and (task is None or doc.user_data.get(_TASK_KEY, task) == task)
    ]


def mark_task(doc: "Doc", task: str) -> None:
    """Mark a doc as read from ``task``'s corpus: only that task's head runs on it.

    doc (Doc): The doc to predict on (an Example's ``predicted``).
    task (str): The task's name.
    """
    doc.user_data[_TASK_KEY] = task


class _NothingToDo:
    """What a routed ``predict`` returns for a batch with no doc for its head."""


_NOTHING = _NothingToDo()


class _RoutedPredict(MethodWrapper):
    """A task component's ``predict``, on the docs its task accepts only."""

    def __call__(self, docs: "Iterable[Doc]") -> Any:
        docs = list(docs)
        chosen = accepted_docs(self.owner, docs)
        if not chosen:
            return _NOTHING
        return self.call_original(chosen)


class _RoutedAnnotate(MethodWrapper):
    """A task component's ``set_annotations``, on the docs its ``predict`` saw."""

    def __call__(self, docs: "Iterable[Doc]", predictions: Any, *args: Any, **kwargs: Any) -> Any:
        if predictions is _NOTHING:
            return None
        return self.call_original(accepted_docs(self.owner, docs), predictions, *args, **kwargs)
