"""Converters into NER records: CoNLL column files and spaCy DocBins, and back to CoNLL.

Records are ``{"tokens": [str], "tags": [IOB2 tag], "doc_id": int}``, one a
sentence (or a doc), as ``reader.make_example`` reads them. A document record
joins the sentences of one document and says where each ends, ``"sentences":
[number of tokens, ...]``, so that the backbone reads each sentence with its
neighbours (``--documents``, ``ner-documents``); ``--with-sentences`` writes
each sentence again after its document, for a model that reads both.
"""

import itertools
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from nlp_tasks import RecordError
from nlp_tasks.convert import (
    Converter,
    ConvertError,
    DataError,
    Option,
    Report,
    empty_input,
    read_lines,
    unparsable,
    where,
)

from .errors import Errors

#: The tag schemes ``conll`` reads, and the prefixes each uses besides O.
SCHEMES = {
    "iob1": ("B", "I"),
    "iob2": ("B", "I"),
    "biluo": ("B", "I", "L", "U"),
    "bioes": ("B", "I", "E", "S"),
}
# Columns are separated by spaces or tabs; a token holding other whitespace (a
# no-break space) is refused (NER017).
_COLUMNS = re.compile(r"[ \t]+")
DOCSTART = "-DOCSTART-"


class TagError(ValueError):
    """A tag that its scheme does not allow where it stands.

    index (int): The tag's position in the sentence.
    problem (str): What is wrong, for the message.
    """

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


def to_iob2(tags: list[str], scheme: str) -> list[str]:
    """Check a sentence's tags against their scheme and write them in IOB2.

    IOB1 starts an entity with I- (B- only between two entities of one type);
    BILUO and BIOES end one with L-/E- and tag a one-token entity U-/S-.

    tags (list[str]): The tags, e.g. ``["U-PER", "O"]``.
    scheme (str): One of ``SCHEMES``.
    RETURNS (list[str]): The IOB2 tags (``["B-PER", "O"]``). Raises ``TagError``
        for a tag the scheme does not allow where it stands.
    """
    prefixes = SCHEMES[scheme]
    out: list[str] = []
    previous = "O"
    open_label: str | None = None  # BILUO and BIOES: the entity not yet closed
    for index, tag in enumerate(tags):
        prefix, label = _parse(tag, prefixes, index, scheme)
        after = f"tag {tag!r} follows {previous!r}" if index else f"tag {tag!r} starts the sentence"
        if scheme in ("iob1", "iob2"):
            continues = prefix == "I" and previous != "O" and previous[2:] == label
            if scheme == "iob2" and prefix == "I" and not continues:
                raise TagError(index, f"{after}, but an entity starts with B-{label}")
            out.append("O" if prefix == "O" else f"{'I' if continues else 'B'}-{label}")
        else:
            inside = prefix in ("I", "L", "E")
            if inside and open_label != label:
                raise TagError(index, f"{after}: {prefix}- continues an entity that B- starts")
            if not inside and open_label is not None:
                raise TagError(index, f"{after}, whose entity is not closed by {_end(scheme)}-")
            open_label = label if prefix in ("B", "I") else None
            out.append(
                "O" if prefix == "O" else f"{'B' if prefix in ('B', 'U', 'S') else 'I'}-{label}"
            )
        previous = tag
    if open_label is not None:
        problem = (
            f"the sentence ends after {previous!r}, whose entity is not closed by {_end(scheme)}-"
        )
        raise TagError(len(tags) - 1, problem)
    return out


def _end(scheme: str) -> str:
    return "L" if scheme == "biluo" else "E"


def _parse(tag: str, prefixes: tuple[str, ...], index: int, scheme: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if prefix not in prefixes or not sep or not label:
        shapes = ", ".join(["O", *(f"{p}-LABEL" for p in prefixes)])
        raise TagError(index, f"{tag!r} is not one of the {scheme} tags ({shapes})")
    return prefix, label


def convert_conll(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream NER records from CoNLL column files, one record a sentence.

    A blank line ends a sentence; a ``-DOCSTART-`` line starts a new document, as
    does each new file (``doc_id`` counts documents from 0, across the files).

    inputs (list[str]): CoNLL files (gzip by the ``.gz`` suffix).
    options (Mapping[str, Any]): ``scheme``, ``token_column``, ``tag_column``,
        ``encoding``; ``documents``: a record per document (``join_documents``);
        ``with_sentences``: documents, each followed by its sentences.
    report (Report): Not used: every sentence becomes a record.
    YIELDS (dict[str, Any]): ``{"tokens", "tags", "doc_id"}``, tags in IOB2.
    """
    if options["token_column"] == options["tag_column"]:
        raise ConvertError(Errors.NER012.format(column=options["token_column"]))
    records = _conll_records(inputs, options)
    if options.get("with_sentences"):
        yield from with_sentences(join_documents(records))
    elif options.get("documents"):
        yield from join_documents(records)
    else:
        yield from records


def _conll_records(inputs: list[str], options: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    state = {"doc_id": 0, "sentences": 0}
    for path in inputs:
        if state["sentences"]:
            state["doc_id"] += 1
            state["sentences"] = 0
        count = 0
        for record in _conll_sentences(path, options, state):
            count += 1
            yield record
        if not count:
            raise empty_input(path, "sentences")


def _conll_sentences(
    path: str, options: Mapping[str, Any], state: dict[str, int]
) -> Iterator[dict[str, Any]]:
    scheme = options["scheme"]
    token_column, tag_column = options["token_column"], options["tag_column"]
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    for number, text in read_lines(path, encoding=options.get("encoding") or "utf-8"):
        columns = _COLUMNS.split(text.strip()) if text.strip() else []
        if columns and columns[0] != DOCSTART:
            token, tag = _columns(columns, token_column, tag_column, path, number)
            tokens.append(token)
            tags.append(tag)
            lines.append(number)
            continue
        if tokens:
            yield _sentence(tokens, tags, lines, path, scheme, state)
            tokens, tags, lines = [], [], []
        if columns and state["sentences"]:
            state["doc_id"] += 1
            state["sentences"] = 0
    if tokens:
        yield _sentence(tokens, tags, lines, path, scheme, state)


def _columns(
    columns: list[str], token_column: int, tag_column: int, path: str, number: int
) -> tuple[str, str]:
    size = len(columns)
    token_at = token_column if token_column >= 0 else size + token_column
    tag_at = tag_column if tag_column >= 0 else size + tag_column
    need = max(_needed(token_column), _needed(tag_column))
    if (token_column >= 0) != (tag_column >= 0):
        need = max(need, 2)
    line = {"where": where(path, number), "count": size, "token": token_column, "tag": tag_column}
    if size >= need and token_at == tag_at:
        # One counted from the start, one from the end: this line's width makes them meet.
        raise DataError(Errors.NER019.format(**line, column=token_at))
    if not (0 <= token_at < size and 0 <= tag_at < size) or token_at == tag_at:
        raise DataError(Errors.NER010.format(**line, need=need))
    token = columns[token_at]
    if any(char.isspace() for char in token):
        # Only spaces and tabs separate columns, so other whitespace (a no-break
        # space) stays in the token: refused here, where its line is known, and
        # not at training, where a record's tokens may hold none (spaCy would
        # split the text there at prediction).
        raise DataError(Errors.NER017.format(where=where(path, number), token=token))
    return token, columns[tag_at]


def _needed(column: int) -> int:
    return column + 1 if column >= 0 else -column


def _sentence(
    tokens: list[str],
    tags: list[str],
    lines: list[int],
    path: str,
    scheme: str,
    state: dict[str, int],
) -> dict[str, Any]:
    try:
        iob2 = to_iob2(tags, scheme)
    except TagError as error:
        raise DataError(
            Errors.NER011.format(
                where=where(path, lines[error.index]),
                problem=error.problem,
                scheme=scheme,
                schemes=", ".join(SCHEMES),
            )
        ) from None
    state["sentences"] += 1
    return {"tokens": tokens, "tags": iob2, "doc_id": state["doc_id"]}


def join_documents(records: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Join consecutive records of one ``doc_id`` into one record a document.

    The backbone then reads each sentence with its neighbours, as news NER is
    read best, and each sentence keeps its boundary in ``sentences``, which
    the reader turns into ``doc.sents``. A record without ``doc_id`` stays a
    document of its own; a record that is already a document adds its sentences.

    records (Iterable[Mapping[str, Any]]): NER records of ``tokens`` and ``tags``,
        in document order.
    YIELDS (dict[str, Any]): ``{"tokens", "tags", "sentences", "doc_id"}``.
    """
    document: dict[str, Any] | None = None
    for record in records:
        tokens, tags = list(record["tokens"]), list(record["tags"])
        sentences = list(record.get("sentences") or [len(tokens)])
        doc_id = record.get("doc_id")
        if document is not None and doc_id is not None and doc_id == document.get("doc_id"):
            document["tokens"].extend(tokens)
            document["tags"].extend(tags)
            document["sentences"].extend(sentences)
            continue
        if document is not None:
            yield document
        document = {"tokens": tokens, "tags": tags, "sentences": sentences}
        if doc_id is not None:
            document["doc_id"] = doc_id
    if document is not None:
        yield document


def with_sentences(documents: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each document record, then each of its sentences as a record of its own.

    One training file then teaches a model to read whole texts and single
    sentences alike: on CoNLL-2003 the NER head trained this way beat the one
    trained on sentences when reading documents, and matched it on single
    sentences (bench/RESULTS.md, "Documents and sentences mixed in one training
    file"). Every sentence is written, also the only sentence of a one-sentence
    document.

    documents (Iterable[Mapping[str, Any]]): Document records, as
        ``join_documents`` yields them.
    YIELDS (dict[str, Any]): The document, then ``{"tokens", "tags", "doc_id"}``
        for each sentence (``doc_id`` where the document has one).
    """
    for document in documents:
        yield dict(document)
        start = 0
        for size in document.get("sentences") or [len(document["tokens"])]:
            sentence = {
                "tokens": document["tokens"][start : start + size],
                "tags": document["tags"][start : start + size],
            }
            if "doc_id" in document:
                sentence["doc_id"] = document["doc_id"]
            start += size
            yield sentence


def convert_ner_documents(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream document records from NER records of one sentence each (JSONL).

    inputs (list[str]): JSONL files of NER records with ``doc_id``, in document
        order (as ``conll`` writes them; gzip by the ``.gz`` suffix).
    options (Mapping[str, Any]): ``with_sentences``: each document followed by
        its sentences (``with_sentences``).
    report (Report): Not used.
    YIELDS (dict[str, Any]): ``{"tokens", "tags", "sentences", "doc_id"}``, and
        the sentence records with ``with_sentences``.
    """
    for path in inputs:
        documents = join_documents(_sentence_records(path))
        yield from with_sentences(documents) if options.get("with_sentences") else documents


def _sentence_records(path: str) -> Iterator[dict[str, Any]]:
    import spacy

    from .reader import make_example

    blank = spacy.blank("xx")
    count = 0
    for number, text in read_lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise unparsable(where(path, number), "the JSON", error) from None
        problem = None
        if not isinstance(record, dict):
            problem = f"expected a JSON object, got {type(record).__name__}"
        elif "tokens" not in record:
            problem = "the record needs 'tokens' and 'tags'"
        if problem:
            raise DataError(Errors.NER016.format(where=where(path, number), problem=problem))
        # The reader's own checks: tokens, tags of the same length, valid IOB2.
        try:
            make_example(blank, record)
        except RecordError as error:
            raise DataError(
                Errors.NER016.format(where=where(path, number), problem=error)
            ) from None
        count += 1
        yield record
    if not count:
        raise empty_input(path, "records")


def conll_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The lines of a CoNLL file (``token tag``, IOB2) holding NER records.

    A ``-DOCSTART- O`` line (and a blank line) starts each document, when the
    records carry a ``doc_id``; a blank line ends each sentence (each of a
    document record's ``sentences``). Reading the lines back with the ``conll``
    converter (``--documents`` for document records) gives the records again,
    their ``doc_id`` numbered from 0 in order, as CoNLL files hold no ids.

    records (Iterable[Mapping[str, Any]]): ``{"tokens", "tags"}`` records, tags in
        IOB2, with an optional ``doc_id`` and ``sentences`` (token counts).
    YIELDS (str): The lines, each ending in a newline.
    """
    doc_id: Any = object()
    for number, record in enumerate(records, start=1):
        tokens, tags = record.get("tokens"), record.get("tags")
        _check_record(number, tokens, tags)
        ends = _sentence_ends(number, record.get("sentences"), len(tokens))
        if "doc_id" in record and record["doc_id"] != doc_id:
            doc_id = record["doc_id"]
            yield f"{DOCSTART} O\n"
            yield "\n"
        for index, (token, tag) in enumerate(zip(tokens, tags)):
            yield f"{token} {tag}\n"
            if index + 1 in ends:
                yield "\n"


def _sentence_ends(number: int, sentences: Any, size: int) -> set[int]:
    # The token counts after which a blank line goes: each sentence's end.
    if sentences is None:
        return {size}
    valid = isinstance(sentences, list) and all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sentences
    )
    if not valid or sum(sentences) != size:
        problem = f"'sentences' {sentences!r} are not token counts that add up to {size}"
        raise ConvertError(Errors.NER015.format(number=number, problem=problem))
    return set(itertools.accumulate(sentences))


def _check_record(number: int, tokens: Any, tags: Any) -> None:
    problem = None
    if not isinstance(tokens, list) or not isinstance(tags, list) or not tokens:
        problem = "expected non-empty 'tokens' and 'tags' lists"
    elif len(tokens) != len(tags):
        problem = f"{len(tokens)} tokens but {len(tags)} tags"
    elif any(not isinstance(t, str) or not t or _COLUMNS.search(t) for t in tokens):
        problem = "a token is empty or holds a space or tab, which CoNLL cannot hold"
    else:
        try:
            to_iob2([str(t) for t in tags], "iob2")
        except TagError as error:
            problem = error.problem
    if problem:
        raise ConvertError(Errors.NER015.format(number=number, problem=problem))


def write_conll(records: Iterable[Mapping[str, Any]], output: str | Path | TextIO) -> int:
    """Write NER records to a CoNLL file (``token tag`` lines, IOB2 tags).

    A file named by path is written whole or not at all: the lines go to a
    temporary file beside it, renamed to it once the last record is written.
    A path that is a device or a pipe (``/dev/stdout``) is written to as it is:
    the rename would replace it.

    records (Iterable[Mapping[str, Any]]): ``{"tokens", "tags"}`` records, tags in
        IOB2, with an optional ``doc_id``.
    output (str | Path | TextIO): The file to write, or an open text file.
    RETURNS (int): How many records (sentences) were written.
    """
    if not isinstance(output, (str, Path)):
        return _write_lines(records, output)
    output = Path(output)
    if output.exists() and not output.is_file() and not output.is_dir():
        with output.open("w", encoding="utf8", newline="\n") as file:
            return _write_lines(records, file)
    temp = output.with_name(f".{output.name}.partial")
    try:
        with temp.open("w", encoding="utf8", newline="\n") as file:
            count = _write_lines(records, file)
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)
    return count


def _write_lines(records: Iterable[Mapping[str, Any]], file: TextIO) -> int:
    count = 0

    def counted() -> Iterator[Mapping[str, Any]]:
        nonlocal count
        for count, record in enumerate(records, start=1):  # noqa: B007 - counted for the caller
            yield record

    file.writelines(conll_lines(counted()))
    return count


def convert_docbin_ents(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream NER records of the docs in spaCy DocBin files, from ``doc.ents``.

    Whitespace tokens are left out (a record's tokens hold no space); tokens
    without entity annotation are tagged O, but a file none of whose docs has
    any is refused (a DocBin of text categories, say).

    inputs (list[str]): ``.spacy`` files written by ``DocBin.to_disk``.
    options (Mapping[str, Any]): ``sentences``: a record per sentence of docs that
        have sentence boundaries, rather than per doc.
    report (Report): Counts docs without a token that are left out.
    YIELDS (dict[str, Any]): ``{"tokens", "tags", "doc_id"}``; ``doc_id`` counts the
        docs from 0, across the files.
    """
    doc_id = 0
    for path in inputs:
        docs = annotated = 0
        for index, doc in enumerate(read_docbin(path)):
            docs += 1
            annotated += doc.has_annotation("ENT_IOB")
            spans = [doc[:]]
            if options.get("sentences") and doc.has_annotation("SENT_START"):
                spans = list(doc.sents)
            records = [_span_record(span, f"{path}, doc {index}") for span in spans]
            records = [r for r in records if r["tokens"]]
            if not records:
                report.skip("docs without a token")
            for record in records:
                yield {**record, "doc_id": doc_id}
            doc_id += 1
        if not docs:
            raise empty_input(path, "docs")
        if not annotated:
            # Every token would be written as O: training data that teaches "no entities".
            raise DataError(Errors.NER018.format(path=path, docs=docs))


def read_docbin(path: str) -> Iterator[Any]:
    """The docs of a spaCy DocBin file, with a coded error if it cannot be read.

    path (str): A ``.spacy`` file.
    YIELDS (spacy.tokens.Doc): The docs, in order.
    """
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    try:
        docbin = DocBin().from_disk(path)
    except (OSError, ValueError, KeyError, zlib.error) as error:
        raise ConvertError(Errors.NER014.format(path=path, error=error)) from None
    yield from docbin.get_docs(Vocab())


def _span_record(span: Any, place: str) -> dict[str, Any]:
    tokens: list[str] = []
    tags: list[str] = []
    for token in span:
        # A DocBin's docs come with a bare Vocab, whose lexemes have no is_space.
        if token.text.isspace():
            continue
        if _COLUMNS.search(token.text) or any(ch.isspace() for ch in token.text):
            raise DataError(Errors.NER013.format(place=place, token=token.text, index=token.i))
        iob, label = token.ent_iob_, token.ent_type_
        tag = "O" if iob not in ("B", "I") else f"{iob}-{label}"
        # A left-out space, or a sentence boundary, may come between B- and I-.
        if tag.startswith("I-") and (not tags or tags[-1][2:] != label):
            tag = f"B-{label}"
        tokens.append(token.text)
        tags.append(tag)
    return {"tokens": tokens, "tags": tags}


CONLL = Converter(
    name="conll",
    task="ner",
    description=(
        "CoNLL column files (CoNLL-2003 style: a token a line, blank lines between "
        "sentences, -DOCSTART- between documents) to NER records with IOB2 tags."
    ),
    convert=convert_conll,
    options=(
        Option(
            "scheme",
            "The file's tag scheme. CoNLL-2003's own files are iob1.",
            default="iob2",
            choices=tuple(SCHEMES),
        ),
        Option(
            "token-column",
            "The column of the token, from 0 (negative: from the end).",
            default=0,
            parse=int,
            metavar="N",
        ),
        Option(
            "tag-column",
            "The column of the entity tag, from 0 (negative: from the end; -1 is the last).",
            default=-1,
            parse=int,
            metavar="N",
        ),
        Option("encoding", "The files' text encoding.", default="utf-8"),
        Option(
            "documents",
            "A record per document (between -DOCSTART- lines), its sentences joined, so "
            "that each sentence is read with its neighbours.",
            kind="flag",
        ),
        Option(
            "with-sentences",
            "Each document record followed by its sentences as records of their own "
            "(implies --documents), for a model that reads whole texts and single "
            "sentences alike.",
            kind="flag",
        ),
    ),
)

NER_DOCUMENTS = Converter(
    name="ner-documents",
    task="ner",
    description=(
        "NER records of one sentence each, with doc_id (JSONL), to one record per "
        "document, its sentences joined, so that each sentence is read with its neighbours."
    ),
    convert=convert_ner_documents,
    options=(
        Option(
            "with-sentences",
            "Each document record followed by its sentences as records of their own, "
            "for a model that reads whole texts and single sentences alike.",
            kind="flag",
        ),
    ),
)

DOCBIN_ENTS = Converter(
    name="docbin-ents",
    task="ner",
    description="spaCy DocBin files (.spacy) to NER records of each doc's entities (doc.ents).",
    convert=convert_docbin_ents,
    options=(
        Option(
            "sentences",
            "A record per sentence (for docs with sentence boundaries), not per doc.",
            kind="flag",
        ),
    ),
)
