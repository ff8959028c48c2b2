"""Scoring sentence pairs with a pipeline, in batches."""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from nlp_tasks import ConfigError, RecordError

from .errors import Errors

Pair = tuple[str, str] | Mapping[str, Any]


def similarity(nlp: Language, pairs: Iterable[Pair], batch_size: int = 32) -> list[float]:
    """Score pairs of texts: how alike each pair's two texts are, from 0 to 1.

    Each pair becomes the doc the similarity task declares (its ``text_a`` and
    ``text_b`` segments), as ``nlp_tasks.predict`` would build it, and the
    pipeline runs over them with ``nlp.pipe``.

    nlp (Language): A pipeline with a similarity component (factory
        ``nlp_tasks_similarity``), e.g. from ``nlp_tasks.load``.
    pairs (Iterable[tuple[str, str] | Mapping[str, Any]]): ``(text_a, text_b)``
        tuples, or mappings with ``text_a`` and ``text_b`` (other keys ignored).
    batch_size (int): Docs per batch.
    RETURNS (list[float]): One similarity per pair, in order. Raises
        ``RecordError`` (a ``ValueError``) naming the pair's index for a pair
        that is not two non-blank texts, and ``ConfigError`` (also a
        ``ValueError``) for a pipeline without an enabled similarity head.
    """
    from .component import FACTORY, install_extensions
    from .reader import INPUTS

    install_extensions()
    names = [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == FACTORY]
    if not names:
        raise ConfigError(Errors.SIM022.format(components=list(nlp.pipe_names)))

    def docs() -> Iterator[Doc]:
        for index, pair in enumerate(pairs):
            yield _pair_doc(nlp, INPUTS, index, pair)

    scores = []
    for index, doc in enumerate(nlp.pipe(docs(), batch_size=batch_size)):
        if doc._.similarity is None:
            raise ConfigError(Errors.SIM023.format(index=index, component=names[0]))
        scores.append(doc._.similarity)
    return scores


def _pair_doc(nlp: Language, inputs: Any, index: int, pair: Any) -> Doc:
    if isinstance(pair, Mapping):
        record = pair
    elif isinstance(pair, (tuple, list)) and len(pair) == 2:
        record = dict(zip(inputs.segments, pair))
    else:
        kind = (
            f"a {type(pair).__name__} of {len(pair)} items"
            if isinstance(pair, (tuple, list))
            else f"a {type(pair).__name__}"
        )
        raise RecordError(Errors.SIM020.format(index=index, kind=kind))
    for name in inputs.segments:
        text = record.get(name)
        if isinstance(text, str):
            try:
                # The backbone's tokenizer encodes UTF-8, which a lone surrogate cannot be.
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                char = f"U+{ord(text[error.start]):04X}"
                problem = (
                    f"{name!r} holds a lone surrogate {char} at position {error.start}, which "
                    "is not valid Unicode; decode its source with errors='replace'"
                )
                raise RecordError(Errors.SIM021.format(index=index, problem=problem)) from None
    try:
        return inputs.make_doc(nlp, record)
    except RecordError as error:
        problem = getattr(error, "problem", str(error))
        code = getattr(error, "code", None)
        problem = f"[{code}] {problem}" if code else problem
        raise RecordError(Errors.SIM021.format(index=index, problem=problem)) from None
