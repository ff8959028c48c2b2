"""Loading trained pipelines and reading their task outputs."""

import json
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .doc_warnings import WARNINGS_FIELD, doc_warnings
from .errors import (
    ArgumentError,
    ConfigError,
    Errors,
    OptionError,
    PipelineLoadError,
    PipelineNotFoundError,
    PredictInputError,
)
from .registry import manager as plugins
from .task import Task
from .task_inputs import RECORD_FIELDS, CheckedInput, FieldError, PipelineInputs, TaskInputs


def load(name: str | Path, *, precision: str | None = None, **kwargs: Any) -> Language:
    """Load a trained pipeline from a directory or an installed package.

    Like ``spacy.load``, but with coded errors that name what is wrong: a
    component whose plugin is missing, blocked or broken (the component, its
    factory and the plugin), and a damaged ``config.cfg``, ``meta.json`` or
    weights file (the pipeline directory and the file).

    name (str | Path): A pipeline directory, or the name of an installed package.
    precision (str | None): What the pipeline's PyTorch modules compute in:
        "fp32", "bf16", "int8" or "auto" (``nlp_tasks.precision``,
        docs/precision.md). None keeps the setting of the pipeline's config
        (fp32 unless it says otherwise). The choice is written into
        ``nlp.config``, so a pipeline saved afterwards keeps it.
    **kwargs: Passed on to ``spacy.load`` (``exclude``, ``config``, ...).
    RETURNS (Language): The pipeline.
    """
    import spacy
    from spacy.util import get_installed_models, is_package

    from .precision import check_precision, set_precision

    rule = "a pipeline directory or an installed package's name (str or Path)"
    if not isinstance(name, (str, PathLike)):
        raise ArgumentError(
            Errors.E152.format(
                function="nlp_tasks.load", argument="name", rule=rule, kind=_kind(name)
            )
        )
    if isinstance(name, str) and not name.strip():
        # Path("") is the working directory: the error named "." and whatever lay in it.
        kind = "a blank string" if name else "an empty string"
        raise ArgumentError(
            Errors.E152.format(function="nlp_tasks.load", argument="name", rule=rule, kind=kind)
        )
    if precision is not None:
        check_precision(precision)
    path = Path(name)
    if not (path.is_dir() and (path / "config.cfg").exists()):
        if is_package(str(name)) or str(name) in get_installed_models():
            path = package_pipeline_dir(str(name))
        elif not path.exists():
            raise PipelineNotFoundError(Errors.E008.format(name=name))
        else:
            raise PipelineNotFoundError(Errors.E145.format(path=path, hint=_pipelines_hint(path)))
    set_on_load = False
    if path is not None and (path / "config.cfg").is_file():
        config = _read_config(path)
        _read_meta(path)
        _check_components(config, path, _names(kwargs.get("exclude")))
        if precision is not None and _has_setup_callback(config):
            kwargs["config"] = _with_precision(kwargs.get("config"), precision, config)
            set_on_load = True
    try:
        nlp = spacy.load(name, **kwargs)
    except Exception as error:
        where = _failing_file(error.__traceback__)
        if where is None or path is None or not _reads_as_damage(error):
            raise
        file, root = where
        relative = file.relative_to(root) if file.is_relative_to(root) else file
        what = f"the file '{relative.as_posix()}'"
        if file.is_dir():
            # A component that reads its files in compiled code (spaCy's parser and
            # NER) is as far as the traceback names it.
            names = ", ".join(sorted(child.name for child in file.iterdir()))
            what = f"a file in '{relative.as_posix()}/' ({names})"
        raise PipelineLoadError(
            Errors.E010.format(
                path=root,
                what=what,
                component=relative.parts[0] if relative.parts else "?",
                error=f"{type(error).__name__}: {error}",
            )
        ) from error
    from .components.routing import route_docs

    if precision is not None and not set_on_load:
        set_precision(nlp, precision)
    # A pipeline whose config predates the callback that routes docs gets it here.
    return route_docs(nlp)


def _has_setup_callback(config: Any) -> bool:
    from .components.pipeline_setup import SETUP_CALLBACKS

    block = config.get("nlp", {}).get("after_pipeline_creation") or {}
    return block.get("@callbacks") in SETUP_CALLBACKS


def _with_precision(overrides: Any, precision: str, config: Any) -> dict[str, Any]:
    # The core's older callbacks may take no precision: name the current one,
    # which does what they did and sets the precision once the weights are
    # loaded. The block's other settings are kept, so a pipeline saved again
    # trains as before.
    from spacy.util import dict_to_dot

    from .components.pipeline_setup import SETUP_CALLBACK

    block = config["nlp"]["after_pipeline_creation"]
    merged = dict_to_dot(dict(overrides or {}), for_overrides=True)
    merged["nlp.after_pipeline_creation"] = {
        "@callbacks": SETUP_CALLBACK,
        "precision": precision,
        **{key: block[key] for key in ("training_precision", "learn_rate_scales") if key in block},
    }
    return merged


def _reads_as_damage(error: Exception) -> bool:
    # What a truncated or garbled file raises in the readers spaCy, srsly, thinc and
    # torch use. Anything else (out of memory, a version mismatch, a plugin's bug)
    # keeps its own type and traceback.
    import pickle

    if isinstance(error, MemoryError):
        return False
    if isinstance(error, (ValueError, EOFError, OSError, KeyError, pickle.UnpicklingError)):
        return True
    return isinstance(error, RuntimeError) and "PytorchStreamReader" in str(error)


def _pipelines_hint(path: Path) -> str:
    # Giving the training output folder (training/) instead of one of the
    # pipelines spaCy saves in it is the usual slip: name those.
    found = []
    if path.is_dir():
        found = sorted(config.parent for config in path.glob("*/config.cfg") if config.is_file())
    if found:
        return "Pipelines inside it: " + ", ".join(str(folder) for folder in found[:5]) + "."
    return (
        "Give the directory that `spacy train` wrote a pipeline to (e.g. "
        "training/model-best), or the name of an installed pipeline package."
    )


def package_pipeline_dir(name: str) -> Path | None:
    """The pipeline directory inside an installed pipeline package.

    ``spacy package`` puts the pipeline in a ``<name>-<version>`` folder of the package.

    name (str): The package name.
    RETURNS (Path | None): The folder holding config.cfg; None if there is none.
    """
    from spacy.util import get_package_path

    for candidate in sorted(get_package_path(name).iterdir()):
        if candidate.is_dir() and (candidate / "config.cfg").exists():
            return candidate
    return None


def _names(value: Any) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def _read_config(path: Path) -> Any:
    from thinc.api import Config

    try:
        return Config().from_disk(path / "config.cfg", interpolate=False)
    except Exception as error:
        message = f"{type(error).__name__}: {' '.join(str(error).split())}"
        raise PipelineLoadError(
            Errors.E009.format(path=path, file="config.cfg", error=message)
        ) from error


def _read_meta(path: Path) -> None:
    meta = path / "meta.json"
    if not meta.exists():
        # spaCy cannot load a pipeline without one (its raw OSError E053): what an
        # interrupted copy or save leaves.
        error = "it is missing: the directory is incomplete"
        raise PipelineLoadError(Errors.E009.format(path=path, file="meta.json", error=error))
    try:
        value = json.loads(meta.read_text(encoding="utf8"))
    except (ValueError, OSError) as error:
        raise PipelineLoadError(
            Errors.E009.format(path=path, file="meta.json", error=error)
        ) from error
    if not isinstance(value, dict):
        error = f"expected a JSON object, got {type(value).__name__}"
        raise PipelineLoadError(Errors.E009.format(path=path, file="meta.json", error=error))


def _check_components(config: Any, path: Path, exclude: set[str]) -> None:
    import spacy

    lang_cls = None
    for component, block in config.get("components", {}).items():
        factory = block.get("factory")
        if not factory or component in exclude:
            continue
        plugins.require_factory(factory, component, str(path))
        if lang_cls is None:
            try:
                lang_cls = spacy.util.get_lang_class(config["nlp"]["lang"])
            except Exception:  # noqa: BLE001 - spacy.load reports a bad language itself
                return
            # Building a Language imports every factory spaCy knows of, the
            # plugins' (through nlp_tasks.registry.manager) included.
            lang_cls()
        if not lang_cls.has_factory(factory):
            raise plugins.PluginError(
                Errors.E005.format(component=component, factory=factory, path=path)
            )


def _failing_file(tb: TracebackType | None) -> tuple[Path, Path] | None:
    """The file spaCy was reading when it failed, and the pipeline directory.

    spaCy reads a pipeline through ``spacy.util.from_disk``, once for the
    pipeline and once within each component; its innermost call names the file.
    """
    from spacy import util

    calls = []
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is util.from_disk.__code__ and "key" in frame.f_locals:
            calls.append((Path(frame.f_locals["path"]), frame.f_locals["key"]))
        tb = tb.tb_next
    if not calls:
        return None
    (root, _), (inner, key) = calls[0], calls[-1]
    return inner / key, root


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


def output_tasks(nlp: Language) -> dict[str, Task]:
    """The task of each task component, checked for output records.

    nlp (Language): The pipeline.
    RETURNS (dict[str, Task]): As ``pipeline_tasks``. Raises ``ConfigError``
        (E161) for a component named like a record field (``check_component_names``).
    """
    tasks = pipeline_tasks(nlp)
    _check_names(tasks)
    return tasks


def check_component_names(pipeline: "Language | str | Path") -> None:
    """Refuse a pipeline whose output records would lose a field, before it runs.

    An output record holds each task's output under its component's name, next
    to the record's own fields (``RECORD_FIELDS``) and the texts and extras the
    tasks read; a component named like one of those would silently replace it,
    or be replaced.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or
        package name (its config is read, not its weights). Raises
        ``ConfigError`` (E161) for a component named like a record field.
    """
    _check_names(_tasks_of(pipeline))


def _check_names(tasks: dict[str, Task]) -> None:
    fields = [*RECORD_FIELDS]
    for task in tasks.values():
        fields += [field for field in task.inputs.fields if field not in fields]
    for name in tasks:
        if name in fields:
            listed = ", ".join(repr(field) for field in fields)
            raise ConfigError(Errors.E161.format(component=name, fields=listed))


def task_inputs_of(pipeline: "Language | str | Path") -> tuple[TaskInputs, ...]:
    """What the tasks of a pipeline read, without loading its weights.

    pipeline (Language | str | Path): A loaded pipeline, or its directory or
        package name (its config is read).
    RETURNS (tuple[TaskInputs, ...]): Each enabled task component's inputs, in
        pipeline order.
    """
    return tuple(task.inputs for task in _tasks_of(pipeline).values())


def _tasks_of(pipeline: "Language | str | Path") -> dict[str, Task]:
    # The enabled task components, from the pipeline or from its config alone.
    if isinstance(pipeline, Language):
        return pipeline_tasks(pipeline)
    path: Path | None = Path(pipeline)
    if not (path / "config.cfg").is_file():
        path = package_pipeline_dir(str(pipeline))
    if path is None:
        return {}
    config = _read_config(path)
    components = config.get("components", {})
    disabled = set(config.get("nlp", {}).get("disabled", []))
    found = {}
    for name in config.get("nlp", {}).get("pipeline", []):
        factory = components.get(name, {}).get("factory")
        task = plugins.task_for_factory(factory) if factory and name not in disabled else None
        if task is not None:
            found[name] = task
    return found


def doc_to_json(doc: Doc, tasks: dict[str, Task]) -> dict[str, Any]:
    """Every task's output for one processed doc, from the tasks that accept it.

    A task whose head did not run on the doc (a pair doc and a document task,
    say: ``Task.accepts``) has no key.

    doc (Doc): A doc processed by the pipeline.
    tasks (dict[str, Task]): Component name to task, from ``pipeline_tasks``.
    RETURNS (dict[str, Any]): Component name to that task's JSON output, then
        ``"warnings"`` when a head warned about this doc's output
        (``nlp_tasks.doc_warnings``): ``[{"component", "code", "message"}]``.
    """
    output = {name: task.to_json(doc) for name, task in tasks.items() if task.accepts(doc)}
    warned = doc_warnings(doc)
    if warned:
        output[WARNINGS_FIELD] = warned
    return output


def predict(
    nlp: Language,
    texts: "Iterable[str | Mapping[str, Any]]",
    batch_size: int = 32,
    *,
    fields: "Mapping[str, str] | None" = None,
) -> list[dict[str, Any]]:
    """Run a pipeline over texts or records and collect each task's output.

    Each item becomes a doc as its tasks declare (``Task.inputs``): a str is
    one ``text``; a record gives the fields its tasks read, e.g. ``text``,
    ``text`` and ``questions``, or ``text_a`` and ``text_b``. One call may mix
    them; each doc gets the outputs of the tasks that accept it, no others.

    nlp (Language): The pipeline.
    texts (Iterable[str | Mapping[str, Any]]): Texts, or records.
    batch_size (int): Docs per batch.
    fields (Mapping[str, str] | None): Task field name to the records' field
        name, for records whose fields are named otherwise.
    RETURNS (list[dict]): One record per item: its input fields (texts, then
        extras), then each accepting component's output.

    Raises ``PredictInputError`` (a ``ValueError``), naming the item's index,
    for an item that is no text or record (bytes, None, a number), text that
    is not valid Unicode, or a record that lacks its fields or has them wrong;
    ``ArgumentError`` (a ``TypeError``) for a ``nlp``, ``texts`` or ``fields``
    of the wrong type (one str is not a list of texts: ``[text]``);
    ``OptionError`` for a ``batch_size`` that is not an int of 1 or more.
    """
    from .components.routing import route_docs

    _check_pipeline(nlp, "predict")
    check_many_items(texts, "predict", "texts")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise OptionError(
            Errors.E065.format(name="predict: batch_size", rule="an int >= 1", value=batch_size)
        )
    _check_fields(fields, "predict")
    route_docs(nlp)
    tasks = output_tasks(nlp)
    inputs = PipelineInputs([task.inputs for task in tasks.values()], fields)

    def items() -> "Iterable[tuple[Doc, CheckedInput]]":
        for index, item in enumerate(texts):
            checked = check_item(inputs, item, index)
            yield inputs.make_doc(nlp, checked), checked

    results = []
    for doc, checked in nlp.pipe(items(), batch_size=batch_size, as_tuples=True):
        results.append({**checked.to_json(), **doc_to_json(doc, tasks)})
    return results


def make_doc(
    nlp: Language, record: "str | Mapping[str, Any]", *, fields: "Mapping[str, str] | None" = None
) -> Doc:
    """The doc of one text or record, as ``predict`` and ``process`` make it.

    For ``nlp(doc)`` on a record that is not one text: a sentence pair
    (``{"text_a": ..., "text_b": ...}``), or a text with the extra fields a
    task reads (``{"text": ..., "questions": [...]}``).

    nlp (Language): The pipeline, whose tasks say what a record holds.
    record (str | Mapping[str, Any]): A text, or a record.
    fields (Mapping[str, str] | None): Task field name to the record's field name.
    RETURNS (Doc): The unprocessed doc. Raises ``PredictInputError`` for a
        record that lacks its fields or has them wrong.
    """
    _check_pipeline(nlp, "make_doc")
    _check_fields(fields, "make_doc")
    tasks = pipeline_tasks(nlp)
    inputs = PipelineInputs([task.inputs for task in tasks.values()], fields)
    return inputs.make_doc(nlp, check_item(inputs, record, 0))


def check_many_items(items: Any, function: str, argument: str) -> None:
    """Refuse, with ``ArgumentError`` (E152), what is not an iterable of texts or records.

    One str (or bytes, or one record) is refused too, though Python iterates it:
    it would be run one character (or key) at a time.

    items (Any): The argument.
    function (str): The function taking it, for the message.
    argument (str): The argument's name, for the message.
    """
    if isinstance(items, (str, bytes, bytearray, Mapping)) or not isinstance(items, Iterable):
        kind = "one text" if isinstance(items, str) else _kind(items)
        if isinstance(items, Mapping):
            kind = "one record"
        rule = "a list of texts or records (for one, [text] or [record])"
        raise ArgumentError(
            Errors.E152.format(function=function, argument=argument, rule=rule, kind=kind)
        )


def _check_pipeline(nlp: Any, function: str) -> None:
    if not isinstance(nlp, Language):
        rule = "a pipeline, e.g. nlp_tasks.load(path)"
        raise ArgumentError(
            Errors.E152.format(function=function, argument="nlp", rule=rule, kind=_kind(nlp))
        )


def _check_fields(fields: Any, function: str) -> None:
    if fields is None:
        return
    if not isinstance(fields, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in fields.items()
    ):
        rule = "a mapping of a task's field to the records' field, e.g. {'text': 'body'}"
        kind = _kind(fields)
        if isinstance(fields, Mapping):
            key, value = next(
                (k, v) for k, v in fields.items() if not (isinstance(k, str) and isinstance(v, str))
            )
            kind = f"a mapping holding {key!r}: {value!r}"
        raise ArgumentError(
            Errors.E152.format(function=function, argument="fields", rule=rule, kind=kind)
        )


def check_item(inputs: PipelineInputs, item: Any, index: int) -> CheckedInput:
    """One item of ``predict``, checked against the pipeline's inputs.

    inputs (PipelineInputs): What the pipeline's tasks read.
    item (Any): A text, or a record.
    index (int): The item's position, for the message.
    RETURNS (CheckedInput): The item's fields. Raises ``PredictInputError``
        (a ``ValueError``) naming the index and what is wrong.
    """
    if isinstance(item, str):
        if ("text",) not in inputs.shapes:
            shapes = " or ".join("+".join(map(inputs.source, shape)) for shape in inputs.shapes)
            raise PredictInputError(Errors.E085.format(index=index, shapes=shapes))
        item = {inputs.source("text"): item}
    elif not isinstance(item, Mapping):
        raise PredictInputError(Errors.E011.format(index=index, kind=_kind(item)))
    try:
        checked = inputs.check(item)
    except FieldError as error:
        if error.code in ("E050", "E051", "E057"):
            field = error.values["field"]
            if field in item:
                kind = f"a record whose {field!r} is {_kind(item[field])}"
            else:
                keys = sorted(str(key) for key in item)[:20]
                kind = (
                    f"a record with no {field!r} field (its fields: {keys}; the "
                    f"pipeline's tasks read {inputs.describe()})"
                )
            raise PredictInputError(Errors.E011.format(index=index, kind=kind)) from None
        raise PredictInputError(f"[{error.code}] predict: item {index}: {error.problem}") from None
    for text in checked.texts.values():
        _checked_text(text, index)
    return checked


def _kind(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"{type(value).__name__} ({len(value)} bytes)"
    return "None" if value is None else f"of type {type(value).__name__}"


def _checked_text(text: str, index: int) -> str:
    # spaCy and the tokenizers encode texts as UTF-8, which has no lone surrogates.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = f"U+{ord(text[error.start]):04X}"
        raise PredictInputError(
            Errors.E012.format(index=index, char=char, position=error.start)
        ) from None
    return text
