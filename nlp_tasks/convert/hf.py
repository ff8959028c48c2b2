"""The ``hf`` converter: a Hugging Face dataset to records, through a column mapping.

A folder written by ``save_to_disk`` and Parquet files are read with pyarrow alone,
a batch of rows at a time. A Hub name needs the ``datasets`` package, imported
only then, and is streamed.
"""

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConvertError, DataError, Errors
from .columns import check_json_types, import_pyarrow, parquet_records
from .converter import Converter, Option, Report
from .mapping import MAPPING_OPTIONS, ColumnMapping


def convert_hf(
    inputs: list[str], options: Mapping[str, Any], report: Report
) -> Iterator[dict[str, Any]]:
    """Stream the records of Hugging Face datasets, one a row, through a column mapping.

    inputs (list[str]): Folders written by ``Dataset.save_to_disk`` or
        ``DatasetDict.save_to_disk``, Parquet files or folders of them, or Hub
        dataset names (with the ``datasets`` package).
    options (Mapping[str, Any]): The parsed options of ``HF``.
    report (Report): Not used: every row becomes a record.
    YIELDS (dict[str, Any]): One record per row.
    """
    for source in inputs:
        mapping = ColumnMapping.from_options(options, "hf")
        path = Path(source)
        if path.is_dir():
            yield from _folder_records(path, mapping, options)
        elif path.is_file():
            yield from _file_records(path, mapping, options)
        else:
            yield from _hub_records(source, mapping, options)


def _folder_records(
    path: Path, mapping: ColumnMapping, options: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    split = options.get("split")
    if (path / "dataset_dict.json").is_file():
        splits = _json(path / "dataset_dict.json").get("splits") or []
        if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
            problem = "the 'splits' of its dataset_dict.json is not a list of names"
            raise ConvertError(Errors.E112.format(path=path, problem=problem))
        path = path / _choose_split(str(path), splits, split)
        split = None
    if (path / "state.json").is_file():
        state = _json(path / "state.json")
        # save_to_disk records the split a Dataset was loaded as: asking for it is fine.
        if split and state.get("_split") != split:
            what = "a folder of one Dataset written by save_to_disk"
            if state.get("_split"):
                what += f" (of split {state['_split']!r})"
            _no_split(path, what, split)
        arrow = [path / name for name in _data_files(path, state)] or sorted(path.glob("*.arrow"))
        yield from _arrow_records(path, arrow, mapping, options)
        return
    parquet = sorted(path.rglob("*.parquet"))
    if split:
        parquet = [p for p in parquet if _in_split(p.relative_to(path), split)]
    else:
        # Train, validation and test in one output, silently, is never what was meant.
        named = [_split_of(file.relative_to(path)) for file in parquet]
        splits = list(dict.fromkeys(name for name in named if name))
        if len(splits) > 1:
            _choose_split(str(path), splits, None)
    if not parquet:
        problem = (
            f"it has no Parquet file of split {split!r}"
            if split
            else "it has no state.json or dataset_dict.json (save_to_disk) and no Parquet file"
        )
        raise ConvertError(Errors.E112.format(path=path, problem=problem))
    for file in parquet:
        yield from parquet_records(str(file), mapping, bool(options.get("label_names")))


def _in_split(relative: Path, split: str) -> bool:
    # Hub snapshots name split files "train-00000-of-00001.parquet" or put them in
    # a folder named after the split.
    name = relative.name
    return split in relative.parts[:-1] or name.startswith((f"{split}-", f"{split}."))


#: The names of splits that Hub snapshots give folders.
_SPLIT_FOLDERS = ("train", "validation", "valid", "dev", "test")
# A Hub snapshot's file of one split: "train-00000-of-00001.parquet".
_SPLIT_FILE = re.compile(r"^(?P<split>.+?)-\d+-of-\d+\.parquet$")


def _split_of(relative: Path) -> str | None:
    # The split a Parquet file of a snapshot holds, by its name or folder; None if
    # neither says.
    named = _SPLIT_FILE.match(relative.name)
    if named:
        return named.group("split")
    folders = [part for part in relative.parts[:-1] if part in _SPLIT_FOLDERS]
    return folders[-1] if folders else None


def _file_records(
    path: Path, mapping: ColumnMapping, options: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    arrow = path.suffix == ".arrow"
    _no_split(path, f"a single {'Arrow' if arrow else 'Parquet'} file", options.get("split"))
    if arrow:
        yield from _arrow_records(path.parent, [path], mapping, options)
    else:
        yield from parquet_records(str(path), mapping, bool(options.get("label_names")))


def _no_split(path: Path, what: str, split: str | None) -> None:
    # Converting the whole input when a split was asked for would write the wrong
    # rows (train for validation) without a word.
    if split:
        raise ConvertError(Errors.E147.format(path=path, what=what, split=split))


def _arrow_records(
    folder: Path, files: list[Path], mapping: ColumnMapping, options: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    pyarrow = import_pyarrow("Reading a dataset saved with save_to_disk")
    if not files:
        raise ConvertError(Errors.E112.format(path=folder, problem="it has no .arrow file"))
    rows = 0
    for file in files:
        try:
            reader = _open_arrow(pyarrow, file)
        except (OSError, pyarrow.ArrowInvalid) as error:
            problem = f"{file.name} cannot be read as Arrow ({error})"
            raise ConvertError(Errors.E112.format(path=folder, problem=problem)) from None
        schema = reader.schema
        if file == files[0]:
            mapping.check_columns(str(folder), schema.names)
            check_json_types(str(folder), schema, mapping)
            if options.get("label_names"):
                info = folder / "dataset_info.json"
                features = _json(info).get("features") if info.is_file() else None
                mapping.class_names = schema_class_names(schema) or features_class_names(features)
        wanted = mapping.columns(schema.names)
        for batch in _arrow_batches(pyarrow, reader, folder, file, rows):
            for row in batch.select(wanted).to_pylist():
                rows += 1
                yield mapping.apply(row, f"{folder}, row {rows}")
    if not rows:
        raise DataError(Errors.E105.format(path=folder, what="rows"))


def _data_files(path: Path, state: Mapping[str, Any]) -> list[str]:
    files = state.get("_data_files") or []
    names: list[Any] = [None]  # what is not a list is refused like a bad entry
    if isinstance(files, list):
        names = [f.get("filename") if isinstance(f, Mapping) else None for f in files]
    if not all(isinstance(n, str) and n for n in names):
        problem = "the '_data_files' of its state.json is not a list of {\"filename\": NAME}"
        raise ConvertError(Errors.E112.format(path=path, problem=problem))
    return names


def _arrow_batches(pyarrow: Any, reader: Any, folder: Path, file: Path, rows: int) -> Iterator[Any]:
    # A file cut short (a copy or download that stopped) fails only when its last
    # batches are read: reported as the damaged file, after the rows read so far.
    batches = iter(reader)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, pyarrow.ArrowException) as error:
            problem = (
                f"{file.name} cannot be read after row {rows} ({error}): it is truncated or damaged"
            )
            raise ConvertError(Errors.E112.format(path=folder, problem=problem)) from None
        if batch is None:
            return
        rows += batch.num_rows
        yield batch


def _open_arrow(pyarrow: Any, file: Path) -> Any:
    source = pyarrow.memory_map(str(file))
    # save_to_disk writes the Arrow streaming format; pyarrow's own files use the
    # file format.
    try:
        return pyarrow.ipc.open_stream(source)
    except pyarrow.ArrowInvalid:
        return pyarrow.ipc.open_file(source)


def _hub_records(
    name: str, mapping: ColumnMapping, options: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise ConvertError(Errors.E111.format(name=name)) from None
    split = options.get("split")
    try:
        dataset = datasets.load_dataset(name, options.get("config"), split=split, streaming=True)
    except Exception as error:  # noqa: BLE001 - the Hub's errors are many; each is reported
        raise ConvertError(Errors.E114.format(name=name, error=error)) from None
    if split is None and hasattr(dataset, "keys"):
        dataset = dataset[_choose_split(name, [str(s) for s in dataset.keys()], None)]
    features = getattr(dataset, "features", None)
    if features:
        mapping.check_columns(name, list(features))
        if options.get("label_names"):
            mapping.class_names = features_class_names(features)
    rows = iter(dataset)
    count = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except Exception as error:  # noqa: BLE001 - a download failing mid-way, say
            raise ConvertError(Errors.E114.format(name=name, error=error)) from None
        count += 1
        yield mapping.apply(row, f"{name}, row {count}")
    if not count:
        raise DataError(Errors.E105.format(path=name, what="rows"))


def _choose_split(source: str, splits: list[str], split: str | None) -> str:
    if split in splits or (split is None and len(splits) == 1):
        return split or splits[0]
    problem = f"it has no split {split!r}" if split else "it holds several splits"
    raise ConvertError(
        Errors.E113.format(source=source, problem=problem, splits=", ".join(splits) or "none")
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError) as error:
        problem = f"{path.name} cannot be read ({error})"
        raise ConvertError(Errors.E112.format(path=path.parent, problem=problem)) from None
    return data if isinstance(data, dict) else {}


def schema_class_names(schema: Any) -> dict[str, list[str]]:
    """The class names of each ``ClassLabel`` column, from an Arrow schema's metadata.

    ``datasets`` keeps a dataset's features in the ``huggingface`` key of the
    metadata of the Arrow and Parquet files it writes.

    schema (pyarrow.Schema): The schema.
    RETURNS (dict[str, list[str]]): Column to class names; empty when none are known.
    """
    metadata = schema.metadata or {}
    raw = metadata.get(b"huggingface")
    if not raw:
        return {}
    try:
        info = json.loads(raw)
    except ValueError:
        return {}
    return features_class_names((info.get("info") or {}).get("features"))


def features_class_names(features: Any) -> dict[str, list[str]]:
    """The class names of each ``ClassLabel`` column (or sequence of them).

    features (Any): ``datasets.Features``, or their JSON form (``dataset_info.json``).
    RETURNS (dict[str, list[str]]): Column to class names.
    """
    if not isinstance(features, Mapping):
        return {}
    found = {}
    for column, feature in features.items():
        names = _names_of(feature)
        if names is not None:
            found[str(column)] = names
    return found


def _names_of(feature: Any) -> list[str] | None:
    if isinstance(feature, list) and len(feature) == 1:
        return _names_of(feature[0])  # the old JSON form of a sequence
    if isinstance(feature, Mapping):
        names, inner = feature.get("names"), feature.get("feature")
    else:
        names, inner = getattr(feature, "names", None), getattr(feature, "feature", None)
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return None if inner is None else _names_of(inner)


HF = Converter(
    name="hf",
    task=None,
    description=(
        "A Hugging Face dataset (a save_to_disk folder, Parquet files, or a Hub name with "
        "the datasets package) to records, one a row, named by --map TASK_FIELD=COLUMN."
    ),
    convert=convert_hf,
    options=(
        *MAPPING_OPTIONS,
        Option("split", "The split to read (train, validation, ...).", metavar="NAME"),
        Option(
            "config", "The dataset's configuration, for a Hub name (e.g. sst2).", metavar="NAME"
        ),
        Option(
            "label-names",
            "Write the names of ClassLabel columns' class ids (e.g. negative, positive).",
            kind="flag",
        ),
    ),
    inputs="FOLDER|FILE|HUB_NAME...",
    local_inputs=False,
)
