"""Similarity records: ``{"text_a": str, "text_b": str, "score": number}``."""

import math
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from nlp_tasks import RecordError, TaskInputs

from .errors import Errors

#: What the task reads: two texts, made into one doc with a span per side.
INPUTS = TaskInputs(segments=("text_a", "text_b"))


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn a similarity record into an Example whose reference carries the gold score.

    Both docs are the pair doc ``INPUTS.make_doc`` builds, as prediction
    builds it. The reference holds the score, mapped from the pipeline's
    ``score_range`` to [0, 1], in ``doc._.similarity_gold``; the other heads
    see no gold of theirs. Other fields (``genre``, say) are ignored.

    nlp (Language): The pipeline, for its tokenizer and its similarity
        component's ``score_range`` ([0, 5] if it has none).
    record (dict[str, Any]): ``{"text_a": str, "text_b": str, "score": number}``.
    RETURNS (Example): The example. Raises ``RecordError`` for a bad record:
        the core's [E050]/[E051]/[E080] for a text, [SIM001]-[SIM004] for the score.
    """
    from .component import install_extensions

    install_extensions()
    predicted = INPUTS.make_doc(nlp, record)
    component, (low, high) = score_range_of(nlp)
    score = check_score(record.get("score"), low, high, component=component)
    reference = predicted.copy()
    reference._.similarity_gold = (score - low) / (high - low)
    return Example(predicted, reference)


def check_score(value: Any, low: float, high: float, *, component: str = "similarity") -> float:
    """A record's gold score, checked: a finite number from ``low`` to ``high``.

    value (Any): The record's ``score``.
    low (float): The lowest score of the declared range.
    high (float): The highest.
    component (str): The similarity component, named in the out-of-range message.
    RETURNS (float): The score. Raises ``RecordError`` otherwise.
    """
    bounds = {"low": _number(low), "high": _number(high)}
    if value is None:
        raise RecordError(Errors.SIM001.format(**bounds))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(
            Errors.SIM002.format(type=type(value).__name__, value=_clip(value), **bounds)
        )
    if not math.isfinite(value):
        raise RecordError(Errors.SIM003.format(value=value, **bounds))
    if not low <= value <= high:
        raise RecordError(Errors.SIM004.format(value=value, component=component, **bounds))
    return float(value)


def score_range_of(nlp: Language) -> tuple[str, tuple[float, float]]:
    """The similarity component of a pipeline and the score range it declares.

    nlp (Language): The pipeline.
    RETURNS (tuple[str, tuple[float, float]]): The name of the first component
        made by factory ``nlp_tasks_similarity`` and its ``score_range``; with
        none, ``("similarity", (0.0, 5.0))``.
    """
    from .component import DEFAULT_SCORE_RANGE, FACTORY, check_score_range

    for name in nlp.component_names:
        if nlp.get_pipe_meta(name).factory == FACTORY:
            value = nlp.get_pipe_config(name).get("score_range", DEFAULT_SCORE_RANGE)
            return name, check_score_range(value, component=name)
    return "similarity", DEFAULT_SCORE_RANGE


def to_json(doc: Doc) -> dict[str, Any]:
    """The similarity output of a processed doc.

    doc (Doc): A pair doc processed by a pipeline with a similarity component.
    RETURNS (dict[str, Any]): ``{"score": float | None}``, the similarity in
        [0, 1]; None for a doc the head did not score.
    """
    from .component import install_extensions

    install_extensions()
    return {"score": doc._.similarity}


def _number(value: float) -> int | float:
    # [0, 5] reads better than [0.0, 5.0] in a message.
    return int(value) if float(value).is_integer() else value


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
