"""A converter into translation records: line-aligned parallel text files.

Records are ``{"src": str, "tgt": str}``, as ``reader.make_example`` reads them.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from nlp_tasks.convert import Converter, DataError, Option, Report, empty_input, read_lines, where

from .errors import Errors


def convert_parallel(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream translation records of two line-aligned files, a pair of lines at a time.

    Line N of the source file and line N of the target file make a record, each
    stripped of surrounding whitespace. Blank lines at the end of a file are not
    counted (an editor's trailing newline is not a sentence). Files that differ in
    length are an error, found when the shorter one ends; so is an empty line
    before the end, unless ``skip_empty``.

    inputs (list[str]): The source file and the target file (gzip by ``.gz``).
    options (Mapping[str, Any]): ``skip_empty``: leave out pairs with an empty
        side; ``encoding``: the files' text encoding.
    report (Report): Counts the pairs left out.
    YIELDS (dict[str, Any]): ``{"src", "tgt"}``.
    """
    source, target = inputs
    encoding = options.get("encoding") or "utf-8"
    sources = _without_trailing_blanks(read_lines(source, encoding=encoding))
    targets = _without_trailing_blanks(read_lines(target, encoding=encoding))
    count = 0
    for number, (_, src), (_, tgt) in _aligned(sources, targets, source, target):
        count = number
        src, tgt = src.strip(), tgt.strip()
        if src and tgt:
            yield {"src": src, "tgt": tgt}
        elif options.get("skip_empty"):
            report.skip("line pairs with an empty side")
        else:
            empty, other = (source, target) if not src else (target, source)
            raise DataError(
                Errors.TR002.format(
                    where=where(empty, number), other=where(other, number), line=number
                )
            )
    if not count:
        raise empty_input(f"{source} (and {target})", "lines")


def _without_trailing_blanks(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    # Blank lines are held back until a line with text follows them, so only
    # those at the very end of the file are dropped; the rest keep their numbers.
    held: list[tuple[int, str]] = []
    for line in lines:
        if line[1].strip():
            yield from held
            held.clear()
            yield line
        else:
            held.append(line)


def _aligned(
    sources: Iterator[tuple[int, str]], targets: Iterator[tuple[int, str]], source: str, target: str
) -> Iterator[tuple[int, tuple[int, str], tuple[int, str]]]:
    number = 0
    for number, src in enumerate(sources, start=1):
        tgt = next(targets, None)
        if tgt is None:
            # The target ended first: count the rest of the source to name its length.
            rest = sum(1 for _ in sources)
            raise DataError(
                Errors.TR001.format(
                    source=source,
                    source_lines=number + rest,
                    target=target,
                    target_lines=number - 1,
                )
            )
        yield number, src, tgt
    rest = sum(1 for _ in targets)
    if rest:
        raise DataError(
            Errors.TR001.format(
                source=source, source_lines=number, target=target, target_lines=number + rest
            )
        )


PARALLEL = Converter(
    name="parallel",
    task="translation",
    description=(
        "Two line-aligned text files, source and target language (gzip by .gz), to "
        "translation records: line N of one translates line N of the other."
    ),
    convert=convert_parallel,
    options=(
        Option(
            "skip-empty", "Leave out pairs with an empty side; the count is printed.", kind="flag"
        ),
        Option("encoding", "The files' text encoding.", default="utf-8"),
    ),
    inputs="SOURCE_FILE TARGET_FILE",
    min_inputs=2,
    max_inputs=2,
)
