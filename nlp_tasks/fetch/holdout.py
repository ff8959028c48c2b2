"""Holding out a dev split from a corpus whose source publishes only a training file.

Records are drawn at random (with a seed, so the split is the same every time)
and the input's lines are copied as they are. Sentence-level corpora built from
phrases, as GLUE SST-2 is (every sentence comes with its own sub-phrases), leak
dev into train when rows are drawn at random; ``nested`` draws dev from the
records that occur inside no other and keeps every record inside a dev record out
of train.
"""

import json
import os
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..convert import read_lines, unparsable, where
from ..convert.writer import not_jsonl_ending
from ..errors import (
    ConvertError,
    DataError,
    Errors,
    WriteError,
    not_a_regular_file,
    why_not_a_file,
)


@dataclass
class HoldoutResult:
    """What a hold-out wrote.

    train (Path): The file of records kept for training.
    dev (Path): The file of held-out records.
    train_records (int): How many records went to ``train``.
    dev_records (int): How many went to ``dev``.
    left_out (int): Records in neither: their text occurs inside a dev record's.
    """

    train: Path
    dev: Path
    train_records: int
    dev_records: int
    left_out: int = 0

    def summary(self) -> str:
        """One line for the command line.

        RETURNS (str): E.g. "Wrote 1000 records to dev.jsonl and 55873 to train.jsonl."
        """
        line = (
            f"Wrote {self.dev_records} records to {self.dev} and {self.train_records} to "
            f"{self.train}"
        )
        if self.left_out:
            line += f"; left out {self.left_out} that occur inside a dev record's text"
        return line + "."


def hold_out(
    input: str | Path,
    train: str | Path,
    dev: str | Path,
    *,
    size: int,
    seed: int = 0,
    nested: str | None = None,
    min_words: int | None = None,
) -> HoldoutResult:
    """Split a JSONL file into dev (``size`` records drawn at random) and train (the rest).

    Both files keep the input's order and its lines as they are, and are written
    whole or not at all. The input is read into memory: this is for corpora of
    sentences and short texts, as the built-in tasks' are.

    input (str | Path): JSONL records, one a line (gzip by the ``.gz`` suffix).
    train (str | Path): Where to write the records kept for training.
    dev (str | Path): Where to write the held-out records.
    size (int): How many records go to dev.
    seed (int): Seeds the draw: one seed, one split.
    nested (str | None): A text field whose words may occur inside another record's
        (SST-2's phrases, in ``text``). Dev is drawn from the records whose text
        occurs inside no other's, each text once; train loses every record whose
        text occurs inside a dev record's (whole words, any whitespace).
    min_words (int | None): With ``nested``: dev takes only texts of at least this
        many words.
    RETURNS (HoldoutResult): What was written.
    """
    input, train, dev = Path(input), Path(train), Path(dev)
    if min_words is not None and nested is None:
        raise ConvertError(Errors.E130.format(option="--min-words"))
    _check_paths(input, train, dev)
    lines = [(number, text) for number, text in read_lines(input) if text.strip()]
    if not lines:
        raise ConvertError(Errors.E132.format(path=input))
    records = [_parse(input, number, text) for number, text in lines]
    texts: list[str] = []
    if nested is not None:
        texts = [
            _text(input, number, record, nested) for (number, _), record in zip(lines, records)
        ]
        eligible = _outermost(texts, min_words or 1)
    else:
        eligible = list(range(len(records)))
    most = min(len(eligible), len(records) - 1)
    if not 1 <= size <= most:
        words = f" (at least {min_words} words long)" if min_words else ""
        kind = f" (their {nested!r} occurs inside no other record's{words})" if nested else ""
        raise ConvertError(
            Errors.E129.format(
                size=size, path=input, count=len(eligible), eligible=kind, most=max(most, 0)
            )
        )
    chosen = set(random.Random(seed).sample(eligible, size))
    inside = _spans(texts[i] for i in chosen) if nested is not None else set()
    kept = [
        i for i in range(len(records)) if i not in chosen and (not inside or texts[i] not in inside)
    ]
    if not kept:
        raise ConvertError(
            Errors.E129.format(
                size=size, path=input, count=len(eligible), eligible="", most=max(size - 1, 0)
            )
        )
    _write_pair(
        (train, [lines[i][1] for i in kept]),
        (dev, [lines[i][1] for i in sorted(chosen)]),
    )
    left_out = len(records) - len(kept) - size
    return HoldoutResult(train, dev, len(kept), size, left_out)


def _check_paths(input: Path, train: Path, dev: Path) -> None:
    if not input.is_file():
        problem = why_not_a_file(input)
        raise ConvertError(Errors.E046.format(path=input, option="INPUT", problem=problem))
    for path, option in ((train, "--train"), (dev, "--dev")):
        if path.is_dir():
            problem = "it is a directory"
        elif path.exists() and path.samefile(input):
            problem = "it is also the input, which writing it would destroy"
        else:
            problem = not_a_regular_file(path) or not_jsonl_ending(path)
        if problem:
            raise ConvertError(Errors.E047.format(path=path, option=option, problem=problem))
    if train.resolve() == dev.resolve():
        problem = "it is also --train: the two splits need two files"
        raise ConvertError(Errors.E047.format(path=dev, option="--dev", problem=problem))


def _parse(path: Path, number: int, text: str) -> object:
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise unparsable(where(path, number), "the line as JSON", error) from None
    # Lines are copied as they are: one that is no record would reach train or dev.
    if not isinstance(record, dict):
        problem = f"expected a JSON object, got {type(record).__name__}"
        raise unparsable(where(path, number), "the record", problem)
    return record


def _text(path: Path, number: int, record: object, field: str) -> str:
    if not isinstance(record, dict):
        problem = f"expected a JSON object, got {type(record).__name__}"
    elif field not in record:
        problem = f"the record has no {field!r} field (its fields: {', '.join(record)})"
    elif not isinstance(record[field], str):
        problem = f"{field!r} is a {type(record[field]).__name__}, not a string"
    else:
        return " ".join(record[field].split())
    raise DataError(Errors.E131.format(path=path, line=number, problem=problem, field=field))


def _outermost(texts: list[str], min_words: int) -> list[int]:
    """The records whose text occurs inside no other record's text, each text once."""
    known = set(texts)
    lengths = {len(text.split()) for text in known}
    inside: set[str] = set()
    for text in known:
        words = text.split()
        for length in lengths:
            if length >= len(words):
                continue
            for start in range(len(words) - length + 1):
                span = " ".join(words[start : start + length])
                if span in known:
                    inside.add(span)
    seen: set[str] = set()
    outermost = []
    for index, text in enumerate(texts):
        if text and text not in inside and text not in seen and len(text.split()) >= min_words:
            seen.add(text)
            outermost.append(index)
    return outermost


def _spans(texts) -> set[str]:
    """Every run of whole words in the texts, the texts themselves included."""
    spans: set[str] = set()
    for text in texts:
        words = text.split()
        for start in range(len(words)):
            for end in range(start + 1, len(words) + 1):
                spans.add(" ".join(words[start:end]))
    return spans


def _write_pair(*outputs: tuple[Path, list[str]]) -> None:
    # Both files are written under temporary names first and renamed together, so a
    # failure leaves neither half-written and never pairs a new dev with an old train.
    temps: list[Path] = []
    try:
        for path, lines in outputs:
            temp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with temp.open("x", encoding="utf8", newline="\n") as file:
                    temps.append(temp)
                    file.writelines(line + "\n" for line in lines)
            except OSError as error:
                raise WriteError(path, error) from None
        for (path, _), temp in zip(outputs, temps):
            try:
                os.replace(temp, path)
            except OSError as error:
                raise WriteError(path, error) from None
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
