"""A converter into sentiment records: the text and top category of spaCy DocBin docs.

Records are ``{"text": str, "label": str}``, as ``reader.make_example`` reads them.
"""

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from nlp_tasks.convert import Converter, ConvertError, DataError, Option, Report, empty_input

from .errors import Errors


def convert_docbin_cats(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream sentiment records of the docs in spaCy DocBin files, from ``doc.cats``.

    A doc's label is its highest-scoring category (of ``labels``, when given);
    a doc with no categories, none of ``labels``, no single top category or no
    text is an error that names its file and index.

    inputs (list[str]): ``.spacy`` files written by ``DocBin.to_disk``.
    options (Mapping[str, Any]): ``labels``: the categories to choose from (a list
        of names, each maybe comma-separated); empty for all.
    report (Report): Not used: every doc becomes a record.
    YIELDS (dict[str, Any]): ``{"text", "label"}``.
    """
    labels = [name.strip() for item in options.get("labels") or () for name in item.split(",")]
    labels = [name for name in labels if name]
    for path in inputs:
        docs = 0
        for index, doc in enumerate(read_docbin(path)):
            docs += 1
            yield {
                "text": _text(doc, path, index),
                "label": top_label(doc.cats, labels, f"{path}, doc {index}"),
            }
        if not docs:
            raise empty_input(path, "docs")


def top_label(cats: Mapping[str, float], labels: list[str], place: str) -> str:
    """The category with the highest score, checked to be the only one.

    cats (Mapping[str, float]): A doc's categories and scores.
    labels (list[str]): The categories to choose from; empty for all.
    place (str): The doc's file and index, for messages.
    RETURNS (str): The label.
    """
    if not cats:
        raise DataError(Errors.SENT001.format(place=place))
    chosen = {k: v for k, v in cats.items() if k in labels} if labels else dict(cats)
    shown = ", ".join(f"{k}={v:g}" for k, v in cats.items())
    if not chosen:
        raise DataError(Errors.SENT002.format(place=place, labels=", ".join(labels), cats=shown))
    best = max(chosen.values())
    top = [k for k, v in chosen.items() if v == best]
    if best <= 0:
        raise DataError(
            Errors.SENT003.format(place=place, problem="no category is above 0", cats=shown)
        )
    if len(top) > 1:
        problem = f"{' and '.join(top)} tie for the top score"
        raise DataError(Errors.SENT003.format(place=place, problem=problem, cats=shown))
    return top[0]


def _text(doc: Any, path: str, index: int) -> str:
    if not doc.text.strip():
        raise DataError(Errors.SENT004.format(place=f"{path}, doc {index}"))
    return doc.text


def read_docbin(path: str) -> Iterator[Any]:
    """The docs of a spaCy DocBin file, with a coded error if it cannot be read.

    path (str): A ``.spacy`` file.
    YIELDS (spacy.tokens.Doc): The docs, in order.
    """
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    try:
        docbin = DocBin(store_user_data=True).from_disk(path)
    except (OSError, ValueError, KeyError, zlib.error) as error:
        raise ConvertError(Errors.SENT005.format(path=path, error=error)) from None
    yield from docbin.get_docs(Vocab())


DOCBIN_CATS = Converter(
    name="docbin-cats",
    task="sentiment",
    description=(
        "spaCy DocBin files (.spacy) to sentiment records: each doc's text and its top "
        "category (doc.cats) as the label."
    ),
    convert=convert_docbin_cats,
    options=(
        Option(
            "labels",
            "The categories to choose the label from (comma-separated, or repeated); "
            "others in doc.cats are ignored. Default: all.",
            kind="list",
            metavar="LABEL[,LABEL...]",
        ),
    ),
)
