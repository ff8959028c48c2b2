"""Training examples whose gold lives in ``Doc`` extensions."""

from typing import Any

from spacy.language import Language
from spacy.training import Example


def gold_example(
    nlp: Language,
    text: str,
    gold: dict[str, Any],
    *,
    inputs: dict[str, Any] | None = None,
) -> Example:
    """An Example of one text, with this task's gold in extensions of the reference doc.

    For a ``make_example`` whose gold ``Example.from_dict`` cannot hold (a
    summary, a translation, a set of topics). Only the reference doc carries
    the gold, so the heads of other tasks see a plain document, and a head
    tells this task's examples by the extension being set. Register the
    extensions first (``ensure_doc_extensions``).

    nlp (Language): The pipeline, for its tokenizer.
    text (str): The text; both docs are made from it, with the same tokens.
    gold (dict[str, Any]): Extension name to gold value, set on the reference doc.
    inputs (dict[str, Any] | None): Extension name to value, set on both docs:
        what the component reads at prediction too (the questions to answer, say).
    RETURNS (Example): The example.
    """
    predicted = nlp.make_doc(text)
    for name, value in (inputs or {}).items():
        setattr(predicted._, name, value)
    reference = predicted.copy()
    for name, value in gold.items():
        setattr(reference._, name, value)
    return Example(predicted, reference)
