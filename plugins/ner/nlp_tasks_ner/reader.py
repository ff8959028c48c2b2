"""NER records: CoNLL-style tokens with IOB2 tags, or text with character offsets."""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example, biluo_tags_to_spans, iob_to_biluo

from nlp_tasks import RecordError, require_text


def make_example(nlp: Language, record: dict[str, Any]) -> Example:
    """Turn an NER record into a fully annotated Example.

    Tokens outside the record's entities are "outside" (trained as O), so a
    record with no entities teaches that the text has none.

    nlp (Language): The pipeline, for its vocab and tokenizer.
    record (dict[str, Any]): ``{"tokens", "tags"}`` or ``{"text", "entities"}``.
        A record of tokens may be a whole document with ``"sentences"``, the
        number of tokens of each of its sentences in order (the ``--documents``
        option of the ``conll`` converter, or ``ner-documents``): the docs then
        have those sentence boundaries (``doc.sents``).
    RETURNS (Example): The example.
    """
    if "tokens" in record:
        predicted, reference = _from_tokens(nlp, record)
    elif "text" in record:
        predicted, reference = _from_offsets(nlp, record)
    else:
        raise RecordError("expected 'tokens' and 'tags', or 'text' and 'entities'")
    return Example(predicted, reference)


def _from_tokens(nlp: Language, record: dict[str, Any]) -> tuple[Doc, Doc]:
    tokens, tags = record.get("tokens"), record.get("tags")
    if not isinstance(tokens, list) or not tokens:
        raise RecordError("'tokens' must be a non-empty list of strings")
    if not isinstance(tags, list):
        raise RecordError("'tags' must be a list of IOB2 tags")
    if len(tokens) != len(tags):
        raise RecordError(f"{len(tokens)} tokens but {len(tags)} tags")
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or not token or any(ch.isspace() for ch in token):
            raise RecordError(f"token {i} must be a non-empty string without spaces: {token!r}")
    _check_iob2(tags)
    sent_starts = _sent_starts(record.get("sentences"), len(tokens))
    reference = Doc(nlp.vocab, words=tokens, sent_starts=sent_starts)
    reference.set_ents(biluo_tags_to_spans(reference, iob_to_biluo(tags)), default="outside")
    return Doc(nlp.vocab, words=tokens, sent_starts=sent_starts), reference


def _sent_starts(sentences: Any, n_tokens: int) -> list[bool] | None:
    if sentences is None:
        return None
    if (
        not isinstance(sentences, list)
        or not sentences
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sentences)
    ):
        raise RecordError(
            f"'sentences' must be a list of positive token counts, one a sentence: {sentences!r}"
        )
    if sum(sentences) != n_tokens:
        raise RecordError(
            f"'sentences' counts {sum(sentences)} tokens but the record has {n_tokens}"
        )
    starts = [False] * n_tokens
    position = 0
    for n in sentences:
        starts[position] = True
        position += n
    return starts


def _check_iob2(tags: list[Any]) -> None:
    previous = "O"
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise RecordError(f"tag {i} must be a string, got {tag!r}")
        if tag != "O":
            prefix, sep, label = tag.partition("-")
            if prefix not in ("B", "I") or not sep or not label:
                raise RecordError(f"tag {i} {tag!r} is not IOB2 (O, B-LABEL or I-LABEL)")
            if prefix == "I" and previous[2:] != label:
                raise RecordError(f"tag {i} {tag!r} follows {previous!r}; IOB2 starts with B-")
        previous = tag


def _from_offsets(nlp: Language, record: dict[str, Any]) -> tuple[Doc, Doc]:
    text, entities = require_text(record), record.get("entities")
    if not isinstance(entities, list):
        raise RecordError("'entities' must be a list of [start, end, label]")
    reference = nlp.make_doc(text)
    spans: list[Span] = []
    for entity in entities:
        if (
            not isinstance(entity, (list, tuple))
            or len(entity) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in entity[:2])
            or not isinstance(entity[2], str)
            or not entity[2]
        ):
            raise RecordError(f"entity {entity!r} must be [start, end, label]")
        start, end, label = entity
        if not 0 <= start < end <= len(text):
            raise RecordError(f"entity {entity!r} is outside the text (length {len(text)})")
        span = reference.char_span(start, end, label=label)
        if span is None:
            near = reference.char_span(start, end, label=label, alignment_mode="expand")
            raise RecordError(
                f"entity {entity!r} ({text[start:end]!r}) does not fall on token boundaries; "
                f"the nearest tokens are {near.text if near is not None else '?'!r}"
            )
        spans.append(span)
    try:
        reference.set_ents(spans, default="outside")
    except ValueError as error:
        raise RecordError(f"overlapping entities: {error}") from None
    return nlp.make_doc(text), reference


def labels_of(example: Example) -> list[str]:
    """The entity labels an example uses.

    example (Example): An NER example.
    RETURNS (list[str]): Its entity labels.
    """
    return sorted({ent.label_ for ent in example.reference.ents})


def to_json(doc: Doc) -> dict[str, Any]:
    """The entities of a processed doc, with character offsets.

    doc (Doc): A processed doc.
    RETURNS (dict[str, Any]): ``{"ents": [{"text", "start", "end", "label"}]}``.
    """
    return {
        "ents": [
            {"text": ent.text, "start": ent.start_char, "end": ent.end_char, "label": ent.label_}
            for ent in doc.ents
        ]
    }
