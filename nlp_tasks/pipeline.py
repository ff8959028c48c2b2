"""Loading trained pipelines and reading their task outputs."""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from . import plugins
from .errors import Errors
from .task import Task


class PipelineNotFoundError(OSError):
    """No pipeline directory or installed package of the given name."""


def load(name: str | Path, **kwargs: Any) -> Language:
    """Load a trained pipeline from a directory or an installed package.

    Like ``spacy.load``, but a component whose plugin is missing gives an error
    that names the component and its factory.

    name (str | Path): A pipeline directory, or the name of an installed package.
    **kwargs: Passed on to ``spacy.load`` (``exclude``, ``config``, ...).
    RETURNS (Language): The pipeline.
    """
    import spacy
    from spacy.util import get_installed_models, registry

    path = Path(name)
    if path.is_dir() and (path / "config.cfg").exists():
        from thinc.api import Config

        config = Config().from_disk(path / "config.cfg", interpolate=False)
        for component, block in config.get("components", {}).items():
            factory = block.get("factory")
            if factory and not _factory_known(factory, registry):
                raise plugins.PluginError(
                    Errors.E005.format(component=component, factory=factory, path=path)
                )
    elif str(name) not in get_installed_models() and not path.exists():
        raise PipelineNotFoundError(Errors.E006.format(name=name))
    return spacy.load(name, **kwargs)


def _factory_known(factory: str, registry: Any) -> bool:
    # Importing the `spacy_factories` entry points registers their factories.
    registry._entry_point_factories.get_all()
    return Language.has_factory(factory)


def pipeline_tasks(nlp: Language) -> dict[str, Task]:
    """The task of each task component in a pipeline.

    nlp (Language): The pipeline.
    RETURNS (dict[str, Task]): Component name to its task; other components are left out.
    """
    found = {}
    for name in nlp.pipe_names:
        task = plugins.task_for_factory(nlp.get_pipe_meta(name).factory)
        if task is not None:
            found[name] = task
    return found


def doc_to_json(doc: Doc, tasks: dict[str, Task]) -> dict[str, Any]:
    """Every task's output for one processed doc.

    doc (Doc): A doc processed by the pipeline.
    tasks (dict[str, Task]): Component name to task, from ``pipeline_tasks``.
    RETURNS (dict[str, Any]): Component name to that task's JSON output.
    """
    return {name: task.to_json(doc) for name, task in tasks.items()}


def predict(
    nlp: Language, texts: "Iterable[str | Mapping[str, Any]]", batch_size: int = 32
) -> list[dict[str, Any]]:
    """Run a pipeline over texts and collect each task's output.

    nlp (Language): The pipeline.
    texts (Iterable[str | Mapping[str, Any]]): Texts, or records with a ``text``
        and optionally ``questions`` (a list of strings), which go to
        ``doc._.questions`` for the heads that answer questions.
    batch_size (int): Docs per batch.
    RETURNS (list[dict]): One record per text: its text, its questions (if
        given) and each component's output.
    """
    tasks = pipeline_tasks(nlp)
    if not Doc.has_extension("questions"):
        Doc.set_extension("questions", default=None)

    def docs() -> Iterable[Doc]:
        for item in texts:
            if isinstance(item, str):
                yield nlp.make_doc(item)
                continue
            doc = nlp.make_doc(item["text"])
            doc._.questions = list(item["questions"]) if item.get("questions") else None
            yield doc

    results = []
    for doc in nlp.pipe(docs(), batch_size=batch_size):
        record: dict[str, Any] = {"text": doc.text}
        if doc._.questions:
            record["questions"] = list(doc._.questions)
        results.append({**record, **doc_to_json(doc, tasks)})
    return results
