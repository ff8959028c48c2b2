"""Running a converter: its inputs and options checked, its records written."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConvertError, Errors, not_a_regular_file, why_not_a_file
from .converter import Converter, Report
from .writer import not_jsonl_ending, write_jsonl

Inputs = str | Path | Sequence[str | Path]


@dataclass
class ConvertResult:
    """What a conversion wrote.

    converter (str): The converter's name.
    task (str | None): The task its records are for (None for a generic one).
    output (Path): The JSONL file written.
    records (int): How many records it holds.
    skipped (dict[str, int]): What was left out on purpose, by reason.
    """

    converter: str
    task: str | None
    output: Path
    records: int
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the command line.

        RETURNS (str): E.g. "Wrote 120 ner records to train.jsonl (skipped: ...)."
        """
        kind = f"{self.task} records" if self.task else "records"
        skipped = Report()
        skipped.skipped.update(self.skipped)
        left_out = f" (skipped: {skipped.describe()})" if self.skipped else ""
        return f"Wrote {self.records} {kind} to {self.output}{left_out}."


def get_converter(converter: str | Converter) -> Converter:
    """The converter of this name, from the plugins' ``register_converters`` hooks.

    converter (str | Converter): A name (``"conll"``), or a converter itself.
    RETURNS (Converter): The converter.
    """
    if isinstance(converter, Converter):
        return converter
    from ..registry.manager import get_converter as registered

    return registered(converter)


def iter_records(
    converter: str | Converter,
    inputs: Inputs,
    *,
    report: Report | None = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """Stream the records a converter makes of its inputs, without writing them.

    converter (str | Converter): The converter, or its name.
    inputs (str | Path | Sequence[str | Path]): The input, or inputs.
    report (Report | None): Receives what the converter skips.
    **options (Any): The converter's options by name (``scheme="iob1"``), as
        values or as the strings the command line gives.
    YIELDS (dict[str, Any]): The records, in the task's record format.
    """
    found = get_converter(converter)
    paths = _check_inputs(found, inputs)
    values = found.parse_options(options)
    report = report if report is not None else Report()
    count = 0
    for record in found.convert(paths, values, report):
        count += 1
        yield record
    if not count:
        skipped = f" ({report.describe()} skipped)" if report.skipped else ""
        raise ConvertError(
            Errors.E115.format(converter=found.name, inputs=", ".join(paths), skipped=skipped)
        )


def convert(
    converter: str | Converter,
    inputs: Inputs,
    output: str | Path,
    *,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> ConvertResult:
    """Convert inputs to one JSONL file of task records, all or nothing.

    The records are written to a temporary file beside ``output`` and renamed to
    it at the end; a conversion that fails leaves ``output`` as it was.

    converter (str | Converter): The converter, or its name (``"conll"``).
    inputs (str | Path | Sequence[str | Path]): The input, or inputs.
    output (str | Path): The JSONL file to write.
    progress (Callable[[int], None] | None): Called with the count of records
        written so far, every 1000 records.
    **options (Any): The converter's options by name, e.g. ``scheme="iob1"``.
    RETURNS (ConvertResult): What was written.
    """
    found = get_converter(converter)
    output = Path(output)
    _check_output(output, _check_inputs(found, inputs))
    report = Report()
    records = iter_records(found, inputs, report=report, **options)
    if progress is not None:
        records = _counted(records, progress)
    count = write_jsonl(records, output)
    return ConvertResult(found.name, found.task, output, count, dict(report.skipped))


def _counted(
    records: Iterator[dict[str, Any]], progress: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    count = 0
    for count, record in enumerate(records, start=1):
        yield record
        if count % 1000 == 0:
            progress(count)
    progress(count)


def _check_inputs(converter: Converter, inputs: Inputs) -> list[str]:
    paths = [str(inputs)] if isinstance(inputs, (str, Path)) else [str(p) for p in inputs]
    low, high = converter.min_inputs, converter.max_inputs
    if len(paths) < low or (high is not None and len(paths) > high):
        if high == low:
            expected = f"{low} input{'s' * (low != 1)}"
        elif high is None:
            expected = f"at least {low} input{'s' * (low != 1)}"
        else:
            expected = f"{low} to {high} inputs"
        raise ConvertError(
            Errors.E103.format(
                converter=converter.name,
                expected=expected,
                usage=converter.inputs,
                count=len(paths),
                inputs=", ".join(paths) or "none",
            )
        )
    if converter.local_inputs:
        for path in paths:
            if not Path(path).is_file():
                problem = why_not_a_file(path)
                raise ConvertError(Errors.E046.format(path=path, option="INPUT", problem=problem))
    return paths


def _check_output(output: Path, inputs: list[str]) -> None:
    problem = not_a_regular_file(output)
    if problem:
        raise ConvertError(Errors.E047.format(path=output, option="--output", problem=problem))
    for path in inputs:
        if Path(path).exists() and output.exists() and output.samefile(path):
            problem = "it is also an input, which writing it would destroy"
            raise ConvertError(Errors.E047.format(path=output, option="--output", problem=problem))
        # A folder input (a dataset saved with save_to_disk) is read from its files:
        # replacing one of them (its state.json) would destroy the dataset.
        if Path(path).is_dir() and output.exists() and _inside(output, Path(path)):
            problem = f"it is a file of the input folder {path}, which writing it would destroy"
            raise ConvertError(Errors.E047.format(path=output, option="--output", problem=problem))
    problem = not_jsonl_ending(output)
    if problem:
        raise ConvertError(Errors.E047.format(path=output, option="--output", problem=problem))


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
