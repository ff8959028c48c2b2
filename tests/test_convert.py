"""The core's converters (columns, hf), the converter registry and hook, the atomic
writer and the ``convert`` command. Offline: fixtures are written inside each test."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nlp_tasks import hookimpl
from nlp_tasks.convert import Converter, Option, convert, get_converter, iter_records, write_jsonl
from nlp_tasks.convert.command import (
    CONTEXT_SETTINGS,
    _describe,
    convert_command,
    parse_arguments,
)
from nlp_tasks.errors import ConvertError, DataError, PluginError, PluginWarning
from nlp_tasks.registry import get_task
from nlp_tasks.registry import manager as plugins

GLUE_TSV = (
    "sentence\tlabel\n"
    "it 's a charming and often affecting journey . \t1\n"
    'the "plot" is nothing but boilerplate clichés \t0\n'
)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".partial")]


@pytest.fixture
def blank_nlp():
    import spacy

    return spacy.blank("en")


# -- columns


def test_glue_tsv_becomes_sentiment_records(tmp_path, blank_nlp):
    source = tmp_path / "train.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    result = convert(
        "columns",
        source,
        tmp_path / "out.jsonl",
        map=["text=sentence", "label=label"],
        label_map=["1=positive", "0=negative"],
    )
    records = read_jsonl(tmp_path / "out.jsonl")
    assert result.records == 2 and result.task is None
    # GLUE's TSV is not quoted: the quotes are part of the text.
    assert records == [
        {"text": "it 's a charming and often affecting journey . ", "label": "positive"},
        {"text": 'the "plot" is nothing but boilerplate clichés ', "label": "negative"},
    ]
    for record in records:
        get_task("sentiment").make_example(blank_nlp, record)


def test_csv_sentence_pairs_with_a_number_and_kept_columns(tmp_path, blank_nlp):
    source = tmp_path / "sts.csv"
    source.write_text(
        "genre,sentence1,sentence2,score\n"
        'news,"A man, a plan.",A plan of a man.,3.8\n'
        "forum,Cats sleep.,Dogs bark.,0\n",
        encoding="utf8",
    )
    records = list(
        iter_records(
            "columns",
            source,
            map=["text_a=sentence1", "text_b=sentence2", "score=score"],
            number=["score"],
            keep=["genre"],
        )
    )
    assert records == [
        {"text_a": "A man, a plan.", "text_b": "A plan of a man.", "score": 3.8, "genre": "news"},
        {"text_a": "Cats sleep.", "text_b": "Dogs bark.", "score": 0, "genre": "forum"},
    ]
    for record in records:
        get_task("similarity").make_example(blank_nlp, record)


def test_jsonl_and_gzip_tsv_and_no_mapping(tmp_path):
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text(
        json.dumps({"review": "Great.", "stars": 5, "id": 1})
        + "\n\n"
        + json.dumps({"review": "Bad.", "stars": 1, "id": 2})
        + "\n",
        encoding="utf8",
    )
    records = list(
        iter_records(
            "columns",
            jsonl,
            map=["text=review", "label=stars"],
            label_map=["5=positive", "1=negative"],
            keep=["id"],
        )
    )
    assert records == [
        {"text": "Great.", "label": "positive", "id": 1},
        {"text": "Bad.", "label": "negative", "id": 2},
    ]
    gz = tmp_path / "pairs.tsv.gz"
    with gzip.open(gz, "wt", encoding="utf8") as file:
        file.write("text\tsummary\nLong text here.\tShort.\n")
    # Without --map, every column is written under its own name.
    assert list(iter_records("columns", gz)) == [{"text": "Long text here.", "summary": "Short."}]


def test_gzip_is_told_by_its_content_not_its_name(tmp_path):
    from nlp_tasks.convert import read_lines

    upper = tmp_path / "lines.TXT.GZ"
    with gzip.open(upper, "wt", encoding="utf8") as file:
        file.write("one\ntwo\n")
    plain = tmp_path / "plain.txt.gz"
    plain.write_text("three\n", encoding="utf8")
    assert [text for _, text in read_lines(upper)] == ["one", "two"]
    assert [text for _, text in read_lines(plain)] == ["three"]


def test_no_header_numbers_the_columns(tmp_path):
    source = tmp_path / "cola.tsv"
    source.write_text("gj04\t1\t\tThe book was read.\n", encoding="utf8")
    records = list(iter_records("columns", source, no_header=True, map=["text=3", "label=1"]))
    assert records == [{"text": "The book was read.", "label": "1"}]


def test_parquet_summarization_pairs(tmp_path, blank_nlp):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    source = tmp_path / "news.parquet"
    table = pa.table(
        {
            "article": ["It rained. Roads closed.", "A bakery won."],
            "highlights": ["Roads closed.", "A bakery won."],
        }
    )
    pq.write_table(table, source)
    records = list(iter_records("columns", source, map=["text=article", "summary=highlights"]))
    assert records[0] == {"text": "It rained. Roads closed.", "summary": "Roads closed."}
    for record in records:
        get_task("summarization").make_example(blank_nlp, record)


def test_an_unknown_column_is_named_with_the_columns_the_file_has(tmp_path):
    source = tmp_path / "train.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    with pytest.raises(ConvertError, match=r"\[E106\].*train.tsv.*'text'.*'sentence', 'label'"):
        list(iter_records("columns", source, map=["text=text"]))


def test_an_empty_file_is_an_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E105\].*empty.csv holds no lines"):
        list(iter_records("columns", empty))
    header = tmp_path / "header.csv"
    header.write_text("text,label\n", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E105\].*header.csv holds no rows"):
        list(iter_records("columns", header))


@pytest.mark.parametrize(
    "content,code,where",
    [
        ("text,label\nfine,1\na,b,c\n", "E109", "bad.csv:3"),
        ("text,label\nfine,1\nworse,7\n", "E108", "bad.csv:3"),
        ('text,label\n"multi\nline",1\nx,\n', "E108", "bad.csv:4"),
        # A quote that never closes, or closes before more text, would take the rows
        # after it into its field.
        ('text,label\nfine,1\nsecond,"1\nthird,1\nfourth,1\n', "E104", "bad.csv:3: .*never closes"),
        (
            'text,label\nfine,1\n"x\nfourth,1\n"y" z,1\nlast,1\n',
            "E104",
            "bad.csv:3: .*never closes",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, content, code, where):
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf8")
    with pytest.raises(DataError, match=rf"\[{code}\] .*{where}"):
        list(iter_records("columns", source, label_map=["1=positive"]))


def test_a_bad_jsonl_line_names_file_and_line(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "ok"}\n{"text": \n', encoding="utf8")
    with pytest.raises(DataError, match=r"\[E104\] .*bad.jsonl:2"):
        list(iter_records("columns", source))
    source.write_text('{"text": "ok"}\n{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(DataError, match=r"\[E104\] .*bad.jsonl:2: .*recursion"):
        list(iter_records("columns", source))
    source.write_text('{"text": "ok"}\n{"other": 1}\n', encoding="utf8")
    with pytest.raises(DataError, match=r"\[E107\] .*bad.jsonl:2: column 'text'.*missing"):
        list(iter_records("columns", source, map=["text=text"]))


@pytest.mark.parametrize(
    "converter, name, options",
    [("conll", "train.conll", {}), ("columns", "pairs.tsv", {}), ("columns", "rows.csv", {})],
)
def test_cr_only_and_utf16_files_are_refused_whole(tmp_path, converter, name, options):
    # Lines ending at "\r" alone were one line: four tokens became one wrong record.
    rows = ["EU B-ORG", "rejects O", "", "Bonn B-LOC"] if converter == "conll" else ["text", "a"]
    source = tmp_path / name
    source.write_bytes("\r".join(rows).encode() + b"\r")
    with pytest.raises(ConvertError, match=rf"\[E171\] .*{name} ends its lines with a carriage"):
        list(iter_records(converter, source, **options))
    source.write_bytes(b"\xff\xfe" + "\n".join(rows).encode("utf-16-le"))
    with pytest.raises(ConvertError, match=rf"\[E170\] .*{name} is UTF-16 text .*iconv"):
        list(iter_records(converter, source, encoding="latin-1", **options))


def test_cr_only_parallel_files_are_refused(tmp_path):
    source, target = tmp_path / "train.en", tmp_path / "train.de"
    source.write_bytes(b"a\rb\rc\r")
    target.write_bytes(b"A\nB\nC\n")
    with pytest.raises(ConvertError, match=r"\[E171\] .*train\.en"):
        list(iter_records("parallel", [source, target]))


def test_undecodable_and_truncated_inputs_name_the_place(tmp_path):
    source = tmp_path / "latin1.tsv"
    source.write_bytes("text\nna\xefve\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"\[E116\] .*latin1.tsv:2"):
        list(iter_records("columns", source))
    assert list(iter_records("columns", source, encoding="latin-1")) == [{"text": "naïve"}]
    data = gzip.compress(("text\n" + "".join(f"line {i * i}\n" for i in range(20000))).encode())
    truncated = tmp_path / "cut.tsv.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"\[E117\] .*cut.tsv.gz.*read after line \d+ \("):
        list(iter_records("columns", truncated))
    # Cut before its first line ends: it read "after line 0".
    truncated.write_bytes(data[:12])
    with pytest.raises(DataError, match=r"\[E117\] .*cut.tsv.gz.*read from its first line on"):
        list(iter_records("columns", truncated))


def test_a_name_without_a_known_ending_needs_input_format(tmp_path):
    source = tmp_path / "data.txt"
    source.write_text("text\nhello\n", encoding="utf8")
    with pytest.raises(ConvertError, match=r"\[E119\].*--input-format"):
        list(iter_records("columns", source))
    assert list(iter_records("columns", source, input_format="tsv")) == [{"text": "hello"}]


# -- the hf converter


def write_saved_dataset(folder: Path, rows: dict, features: dict) -> None:
    """A folder as Dataset.save_to_disk writes it: Arrow streaming files and JSON."""
    import pyarrow as pa

    folder.mkdir(parents=True)
    meta = {"huggingface": json.dumps({"info": {"features": features}})}
    table = pa.table(rows).replace_schema_metadata(meta)
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=1):
                writer.write_batch(batch)
    state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": None}
    (folder / "state.json").write_text(json.dumps(state), encoding="utf8")
    (folder / "dataset_info.json").write_text(json.dumps({"features": features}))


SST2_FEATURES = {
    "sentence": {"dtype": "string", "_type": "Value"},
    "label": {"names": ["negative", "positive"], "_type": "ClassLabel"},
    "idx": {"dtype": "int32", "_type": "Value"},
}


def test_hf_reads_a_save_to_disk_folder_without_datasets(tmp_path, blank_nlp):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "sst2"
    rows = {"sentence": ["a gem .", "dull ."], "label": [1, 0], "idx": [0, 1]}
    write_saved_dataset(folder, rows, SST2_FEATURES)
    records = list(
        iter_records("hf", folder, map=["text=sentence", "label=label"], label_names=True)
    )
    assert records == [
        {"text": "a gem .", "label": "positive"},
        {"text": "dull .", "label": "negative"},
    ]
    for record in records:
        get_task("sentiment").make_example(blank_nlp, record)
    # Without --label-names, the ids are written, and --label-map can name them.
    ids = list(iter_records("hf", folder, map=["text=sentence", "label=label"]))
    assert [r["label"] for r in ids] == [1, 0]


def test_hf_class_names_of_a_sequence_make_ner_records(tmp_path, blank_nlp):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "conll2003"
    features = {
        "tokens": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"},
        "ner_tags": {
            "feature": {"names": ["O", "B-PER", "I-PER"], "_type": "ClassLabel"},
            "_type": "Sequence",
        },
    }
    write_saved_dataset(
        folder, {"tokens": [["Ann", "Lee", "ran"]], "ner_tags": [[1, 2, 0]]}, features
    )
    records = list(
        iter_records("hf", folder, map=["tokens=tokens", "tags=ner_tags"], label_names=True)
    )
    assert records == [{"tokens": ["Ann", "Lee", "ran"], "tags": ["B-PER", "I-PER", "O"]}]
    get_task("ner").make_example(blank_nlp, records[0])


def test_hf_dataset_dict_needs_a_split(tmp_path):
    pytest.importorskip("pyarrow")
    root = tmp_path / "glue"
    for split in ("train", "validation"):
        write_saved_dataset(
            root / split, {"sentence": [split], "label": [1], "idx": [0]}, SST2_FEATURES
        )
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "validation"]}))
    with pytest.raises(ConvertError, match=r"\[E113\].*several splits.*train, validation"):
        list(iter_records("hf", root))
    with pytest.raises(ConvertError, match=r"\[E113\].*no split 'test'"):
        list(iter_records("hf", root, split="test"))
    records = list(iter_records("hf", root, split="validation", map=["text=sentence"]))
    assert records == [{"text": "validation"}]


def test_hf_reads_parquet_files_and_folders(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "snapshot" / "data"
    folder.mkdir(parents=True)
    for split in ("train", "test"):
        pq.write_table(
            pa.table({"text": [f"{split} text"]}), folder / f"{split}-00000-of-00001.parquet"
        )
    assert list(iter_records("hf", tmp_path / "snapshot", split="test")) == [{"text": "test text"}]
    assert list(iter_records("hf", folder / "train-00000-of-00001.parquet")) == [
        {"text": "train text"}
    ]
    with pytest.raises(ConvertError, match=r"\[E112\].*no Parquet file of split 'dev'"):
        list(iter_records("hf", tmp_path / "snapshot", split="dev"))
    # Without --split, a snapshot of several splits is refused as a DatasetDict folder
    # is: every split was written into one file.
    with pytest.raises(ConvertError, match=r"\[E113\].*snapshot: .*several splits.*test, train"):
        list(iter_records("hf", tmp_path / "snapshot"))
    (folder / "test-00000-of-00001.parquet").unlink()
    assert list(iter_records("hf", tmp_path / "snapshot")) == [{"text": "train text"}]
    by_folder = tmp_path / "by-folder"
    for split in ("train", "validation"):
        (by_folder / split).mkdir(parents=True)
        pq.write_table(pa.table({"text": [split]}), by_folder / split / "part-0.parquet")
    with pytest.raises(ConvertError, match=r"\[E113\].*several splits.*train, validation"):
        list(iter_records("hf", by_folder))
    assert list(iter_records("hf", by_folder, split="validation")) == [{"text": "validation"}]


def test_hf_hub_names_need_the_datasets_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(ConvertError, match=r"\[E111\].*'glue'.*pip install datasets"):
        list(iter_records("hf", "glue", split="train"))


def test_hf_streams_a_hub_dataset_through_the_datasets_package(monkeypatch):
    calls = []

    class ClassLabel:
        names = ["negative", "positive"]

    class Streamed(list):
        features = {"sentence": object(), "label": ClassLabel()}

    def load_dataset(name, config, split=None, streaming=False):
        calls.append((name, config, split, streaming))
        return Streamed([{"sentence": "fine .", "label": 1}])

    fake = types.ModuleType("datasets")
    fake.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", fake)
    records = list(
        iter_records(
            "hf",
            "nyu-mll/glue",
            config="sst2",
            split="train",
            map=["text=sentence", "label=label"],
            label_names=True,
        )
    )
    assert records == [{"text": "fine .", "label": "positive"}]
    assert calls == [("nyu-mll/glue", "sst2", "train", True)]


# -- running a converter: inputs, options, atomic output


def test_a_failed_conversion_leaves_the_output_as_it_was(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("text,label\n" + "fine,1\n" * 3000 + "a,b,c\n", encoding="utf8")
    output = tmp_path / "out.jsonl"
    output.write_text("old\n", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E109\] .*bad.csv:3002"):
        convert("columns", source, output)
    assert output.read_text(encoding="utf8") == "old\n"
    assert no_leftovers(tmp_path)
    missing = tmp_path / "new" / "out.jsonl"
    with pytest.raises(DataError):
        convert("columns", source, missing)
    assert not missing.exists() and no_leftovers(missing.parent)


def test_write_jsonl_is_all_or_nothing(tmp_path):
    def records():
        yield {"a": 1}
        raise KeyboardInterrupt

    output = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        write_jsonl(records(), output)
    assert not output.exists() and no_leftovers(tmp_path)
    with pytest.raises(ConvertError, match=r"\[E118\] Record 2"):
        write_jsonl([{"a": 1}, {"b": {1, 2}}], output)
    assert not output.exists() and no_leftovers(tmp_path)
    assert write_jsonl([{"text": "é"}], output) == 1
    assert output.read_text(encoding="utf8") == '{"text": "é"}\n'
    # A lone surrogate cannot be UTF-8; JSON's \u escape keeps it.
    assert write_jsonl([{"text": "a \ud800 b"}], output) == 1
    assert json.loads(output.read_text(encoding="utf8")) == {"text": "a \ud800 b"}


def test_a_temporary_file_of_a_run_that_was_killed_outright_is_removed(tmp_path):
    output = tmp_path / "out.jsonl"
    dead = tmp_path / ".out.jsonl.4194305.0badcafe.partial"  # above Linux's largest pid
    running = tmp_path / f".out.jsonl.{os.getpid()}.0000cafe.partial"  # a run still going
    other = tmp_path / ".other.jsonl.4194305.0badcafe.partial"
    for path in (dead, running, other):
        path.write_text('{"half": "a rec', encoding="utf8")
    assert write_jsonl([{"a": 1}], output) == 1
    assert not dead.exists() and running.exists() and other.exists()


@pytest.mark.slow
def test_a_terminated_conversion_leaves_no_temporary_file(tmp_path):
    source = tmp_path / "big.tsv"
    rows = "".join(f"sentence number {i} of a long file\tpositive\n" for i in range(400_000))
    source.write_text("text\tlabel\n" + rows, encoding="utf8")
    output = tmp_path / "out.jsonl"
    command = [sys.executable, "-c", "from nlp_tasks.cli import main; main()", "convert"]
    args = [
        "columns",
        str(source),
        "--output",
        str(output),
        "--map",
        "text=text",
        "--map",
        "label=label",
    ]
    run = subprocess.Popen(command + args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.jsonl.*.partial")) and run.poll() is None:
        assert time.monotonic() < deadline, "the conversion never started writing"
        time.sleep(0.02)
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    if run.returncode == 0:
        pytest.skip("the conversion finished before the signal arrived")
    assert run.returncode == 128 + signal.SIGTERM and "Terminated." in stderr
    assert not output.exists() and no_leftovers(tmp_path)


def test_inputs_and_output_are_checked_first(tmp_path):
    source = tmp_path / "in.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    with pytest.raises(ConvertError, match=r"\[E046\].*missing.tsv.*does not exist"):
        convert("columns", tmp_path / "missing.tsv", tmp_path / "out.jsonl")
    with pytest.raises(ConvertError, match=r"\[E047\].*also an input"):
        convert("columns", source, source)
    with pytest.raises(ConvertError, match=r"\[E047\].*a directory"):
        convert("columns", source, tmp_path)
    for name in ("out.parquet", "out.jsonl.gz"):
        with pytest.raises(ConvertError, match=r"\[E047\].*JSONL is written, not what the ending"):
            convert("columns", source, tmp_path / name, map=["text=sentence"])
        assert not (tmp_path / name).exists()
    with pytest.raises(ConvertError, match=r"\[E103\].*'columns' takes at least 1"):
        convert("columns", [], tmp_path / "out.jsonl")
    assert source.read_text(encoding="utf8") == GLUE_TSV


def test_options_are_checked_against_the_converter(tmp_path):
    source = tmp_path / "in.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    with pytest.raises(ConvertError, match=r"\[E100\].*no option 'shceme'.*--map"):
        list(iter_records("columns", source, shceme="iob1"))
    with pytest.raises(ConvertError, match=r"\[E101\].*--quoting must be one of csv, none"):
        list(iter_records("columns", source, quoting="double"))
    with pytest.raises(ConvertError, match=r"\[E102\] --map: expected TASK_FIELD=COLUMN"):
        list(iter_records("columns", source, map=["text"]))
    with pytest.raises(ConvertError, match=r"\[E101\].*--number names the field 'score'"):
        list(iter_records("columns", source, map=["text=sentence"], number=["score"]))
    with pytest.raises(ConvertError, match=r"\[E099\].*'nope'.*columns"):
        list(iter_records("nope", source))


# -- the hook and the registry


def make_converter(name: str, records=({"text": "x"},)) -> Converter:
    return Converter(
        name=name,
        task="toy",
        description="Toy records.",
        convert=lambda inputs, options, report: iter(
            [{**r, "shout": options["shout"]} for r in records]
        ),
        options=(Option("shout", "Shout.", kind="flag"),),
    )


def test_a_converter_name_two_plugins_register_is_refused(fresh_plugins):
    def plugin(name):
        class Plugin:
            @hookimpl
            def register_converters(self, register):
                register(make_converter("twice"))

        fresh_plugins.register_plugin(Plugin(), name=name)

    plugin("first-plugin")
    plugin("second-plugin")
    try:
        with pytest.raises(PluginError, match=r"\[E097\].*'twice'") as error:
            fresh_plugins.get_converter("twice")
        assert "'first-plugin'" in str(error.value) and "'second-plugin'" in str(error.value)
        assert "twice" not in fresh_plugins.get_converters()
        assert "columns" in fresh_plugins.get_converters()
    finally:
        fresh_plugins.unregister_plugin("first-plugin")
        fresh_plugins.unregister_plugin("second-plugin")


def test_a_plugin_registering_no_converter_is_quarantined(fresh_plugins):
    class Plugin:
        @hookimpl
        def register_converters(self, register):
            register("not a converter")

    fresh_plugins.register_plugin(Plugin(), name="broken-plugin")
    try:
        with pytest.warns(PluginWarning, match=r"\[W003\].*broken-plugin.*\[E098\]"):
            converters = fresh_plugins.get_converters()
        assert "columns" in converters
    finally:
        fresh_plugins.unregister_plugin("broken-plugin")


def test_the_builtin_plugins_register_their_converters():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        registry = plugins.converter_registry()
    expected = {
        "columns": None,
        "hf": None,
        "conll": "ner",
        "docbin-ents": "ner",
        "docbin-cats": "sentiment",
        "squad": "qa",
        "parallel": "translation",
    }
    assert {name: registry.converters[name].task for name in expected} == expected
    assert not registry.conflicts


# -- the command


def app(context_settings=None) -> typer.Typer:
    cli = typer.Typer()
    cli.command("convert", context_settings=context_settings)(convert_command)

    @cli.command("other")
    def other() -> None:  # a second command, so "convert" is a sub-command
        pass

    return cli


def test_command_takes_the_converters_own_options(tmp_path):
    source = tmp_path / "train.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    output = tmp_path / "out.jsonl"
    args = ["convert", "columns", str(source), "-o", str(output), "--map", "text=sentence"]
    args += ["--map=label=label", "--label-map", "1=positive", "--label-map", "0=negative"]
    result = CliRunner().invoke(app(CONTEXT_SETTINGS), args)
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in read_jsonl(output)] == ["positive", "negative"]
    assert "Wrote 2 records" in result.output


def test_command_takes_options_as_name_value_pairs_in_plain_registration(tmp_path):
    source = tmp_path / "train.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    output = tmp_path / "out.jsonl"
    args = ["convert", "columns", str(source), "-o", str(output), "-O", "map=text=sentence", "-q"]
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert read_jsonl(output)[0] == {"text": "it 's a charming and often affecting journey . "}
    assert result.output == ""


def test_command_errors_are_coded(tmp_path):
    source = tmp_path / "train.tsv"
    source.write_text(GLUE_TSV, encoding="utf8")
    runner = CliRunner()
    result = runner.invoke(
        app(CONTEXT_SETTINGS), ["convert", "columns", str(source), "--sceme", "x", "-o", "o.jsonl"]
    )
    assert isinstance(result.exception, ConvertError) and "[E100]" in str(result.exception)
    result = runner.invoke(app(CONTEXT_SETTINGS), ["convert", "columns", str(source)])
    assert "[E103]" in str(result.exception) and "--output" in str(result.exception)
    result = runner.invoke(app(CONTEXT_SETTINGS), ["convert"])
    assert result.exit_code == 2 and "FORMAT" in result.output


def test_parse_arguments_splits_inputs_from_options():
    from nlp_tasks.convert.columns import COLUMNS

    paths, options = parse_arguments(
        COLUMNS,
        ["a.tsv", "--no-header", "--map", "text=0", "b.tsv", "--quoting=csv"],
        ["keep=1"],
    )
    assert paths == ["a.tsv", "b.tsv"]
    assert options == {"keep": ["1"], "no_header": "true", "map": ["text=0"], "quoting": "csv"}
    with pytest.raises(ConvertError, match=r"\[E101\].*--map needs a value"):
        parse_arguments(COLUMNS, ["a.tsv", "--map"], [])


def test_command_lists_converters_tasks_and_options():
    result = CliRunner().invoke(app(), ["convert", "--list"])
    assert result.exit_code == 0, result.output
    for expected in (
        "columns  task: any",
        "conll  task: ner",
        "squad  task: qa",
        "--map TASK_FIELD=COLUMN",
    ):
        assert expected in result.output
    result = CliRunner().invoke(app(), ["convert", "--list", "parallel"])
    assert (
        result.output.startswith("parallel  task: translation") and "columns" not in result.output
    )


def test_a_blank_default_is_listed_so_it_can_be_seen():
    options = (Option("delimiter", "Column separator.", default="\t"), Option("n", "N.", default=3))
    converter = Converter("tabbed", None, "Tab-separated lines.", lambda *a: iter(()), options)
    listing = _describe(converter, "a-plugin")
    assert "Column separator. Default: '\\t'." in listing and "N. Default: 3." in listing


def test_the_command_module_imports_neither_spacy_nor_torch(python):
    code = (
        "import sys; import nlp_tasks.convert.command, nlp_tasks.convert;"
        "print([m for m in ('spacy', 'torch', 'pyarrow') if m in sys.modules])"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- what the prober found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_an_output_that_is_not_a_regular_file_is_refused_before_any_input_is_read(tmp_path):
    import stat

    # Renaming a file onto a pipe or a device (/dev/null) replaces it, for everyone.
    # A pipe stands in for a device here: only its type is looked at, it is never opened.
    source = tmp_path / "bad.csv"
    source.write_text("text,label\na,b,c\n", encoding="utf8")  # E109 if it were read
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "link.jsonl"
    link.symlink_to(pipe)
    refused = r"\[E047\] .*(pipe|link.jsonl)' \(--output\): it is not a regular file"
    for output in (pipe, link):
        with pytest.raises(ConvertError, match=refused):
            convert("columns", source, output)
    with pytest.raises(ConvertError, match=r"\[E047\] .*pipe' \(output\): it is not a regular"):
        write_jsonl([{"text": "x"}], pipe)
    args = ["convert", "columns", str(source), "-o", str(pipe)]
    result = CliRunner().invoke(app(CONTEXT_SETTINGS), args)
    assert isinstance(result.exception, ConvertError) and "[E047]" in str(result.exception)
    assert stat.S_ISFIFO(pipe.stat().st_mode) and link.is_symlink()
    assert no_leftovers(tmp_path)


def test_an_encoding_that_cannot_be_read_line_by_line_is_refused_when_parsed(tmp_path):
    from nlp_tasks.convert import read_lines

    source = tmp_path / "s.txt"
    source.write_text("text\nnaïve\n", encoding="utf-16")
    for encoding, problem in (
        ("nosuch", "is not a text encoding Python knows"),
        ("rot13", "is not a text encoding Python knows"),
        ("utf-16", r"is not ASCII-compatible.*iconv -f UTF-16 -t UTF-8"),
        ("utf-32-le", "is not ASCII-compatible"),
    ):
        # Every converter with an --encoding option: the plugins' get the check too.
        for name in ("columns", "conll", "parallel"):
            with pytest.raises(ConvertError, match=rf"\[E101\].*'{name}': --encoding {problem}"):
                get_converter(name).parse_options({"encoding": encoding})
        with pytest.raises(ConvertError, match=rf"\[E148\] .*s.txt as '{encoding}'.*{problem}"):
            list(read_lines(source, encoding=encoding))
    args = ["convert", "columns", str(source), "--input-format", "tsv", "--encoding", "nosuch"]
    result = CliRunner().invoke(app(CONTEXT_SETTINGS), [*args, "-o", str(tmp_path / "o.jsonl")])
    assert isinstance(result.exception, ConvertError) and "[E101]" in str(result.exception)
    for encoding in ("utf-8-sig", "latin-1", "cp1252", "shift_jis"):
        get_converter("columns").parse_options({"encoding": encoding})
    source.write_text("text\nnaïve\n", encoding="utf-8-sig")
    records = list(iter_records("columns", source, input_format="tsv", encoding="utf-8-sig"))
    assert records == [{"text": "naïve"}]


def write_parquet_with_a_null(path: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sentence": ["a", "b", None], "label": [1, 0, 1]}), path)
    return path


@pytest.mark.parametrize("name", ["columns", "hf"])
def test_a_bad_row_of_a_parquet_file_is_named_as_such(tmp_path, name):
    source = write_parquet_with_a_null(tmp_path / "t.parquet")
    with pytest.raises(DataError) as caught:
        list(iter_records(name, source, map=["text=sentence"]))
    message = str(caught.value)
    assert message.startswith("[E107] ") and "E063" not in message
    assert "t.parquet, row 3: column 'sentence' (--map text=sentence) is null" in message


def test_hf_split_of_an_input_without_splits_is_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    # Converting all of it would write other rows than the split asked for, silently.
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.table({"sentence": ["a", "b"]}), parquet)
    folder = tmp_path / "sst2"
    rows = {"sentence": ["a gem ."], "label": [1], "idx": [0]}
    write_saved_dataset(folder, rows, SST2_FEATURES)
    arrow = folder / "data-00000-of-00001.arrow"
    for source, what in (
        (parquet, "a single Parquet file"),
        (arrow, "a single Arrow file"),
        (folder, "a folder of one Dataset"),
    ):
        with pytest.raises(ConvertError, match=rf"\[E147\] .*{source.name} is {what}.*--split"):
            list(iter_records("hf", source, split="validation", map=["text=sentence"]))
    assert list(iter_records("hf", folder, map=["text=sentence"])) == [{"text": "a gem ."}]
    # A folder that records its split gives it when asked by that name, and names it.
    state = json.loads((folder / "state.json").read_text(encoding="utf8"))
    (folder / "state.json").write_text(json.dumps({**state, "_split": "train"}))
    assert list(iter_records("hf", folder, split="train", map=["text=sentence"])) == [
        {"text": "a gem ."}
    ]
    with pytest.raises(ConvertError, match=r"\[E147\] .*of split 'train'.*--split validation"):
        list(iter_records("hf", folder, split="validation", map=["text=sentence"]))


# -- bad input found by probing: each is refused with its place, nothing is lost


def test_columns_of_one_name_are_refused_not_dropped(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    # A row becomes a dict by column name: the first of two 'text' columns was lost.
    source = tmp_path / "dup.csv"
    source.write_text("text,text,label\na,b,1\n", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E162\] .*dup.csv has 2 columns named 'text'.*lost"):
        list(iter_records("columns", source))
    with pytest.raises(DataError, match=r"\[E162\] .*--map x=text cannot tell which"):
        list(iter_records("columns", source, map=["x=text"]))
    # Columns not read may share a name.
    assert list(iter_records("columns", source, map=["y=label"])) == [{"y": "1"}]
    parquet = tmp_path / "dup.parquet"
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["text", "text"])
    pq.write_table(table, parquet)
    with pytest.raises(DataError, match=r"\[E162\] .*dup.parquet has 2 columns named 'text'"):
        list(iter_records("columns", parquet))


def test_a_non_finite_number_is_refused_from_parquet_as_from_text(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    # A NaN score was written as a bare NaN, which is not JSON.
    source = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "score": [1.5, float("nan")]}), source)
    with pytest.raises(DataError, match=r"\[E107\] .*scores.parquet, row 2: column 'score'"):
        list(iter_records("columns", source, map=["text=text", "score=score"], number=["score"]))
    records = iter_records("columns", source, map=["text=text"], number=["text"])
    with pytest.raises(DataError, match=r"\[E107\] .*row 1: column 'text'.*not a number"):
        list(records)
    # Without --number too: as it is, under its own name, or kept.
    nan = r"\[E107\] .*scores.parquet, row 2: column 'score' \({}\) is nan, which JSON"
    with pytest.raises(DataError, match=nan.format("--map score=score")):
        list(iter_records("columns", source, map=["text=text", "score=score"]))
    with pytest.raises(DataError, match=nan.format("--map score=score")):
        list(iter_records("columns", source))
    with pytest.raises(DataError, match=nan.format("--keep score")):
        list(iter_records("columns", source, map=["text=text"], keep=["score"]))


def test_a_column_json_cannot_hold_is_named_with_its_type(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import datetime

    import pyarrow.parquet as pq

    # Such values were reported as a converter bug (E118), naming neither file nor column.
    source = tmp_path / "typed.parquet"
    image = pa.array([{"bytes": b"\x89PNG", "path": "a.png"}])
    day = pa.array([datetime.date(2020, 1, 2)])
    table = pa.table({"text": ["a"], "image": image, "day": day})
    pq.write_table(table, source)
    with pytest.raises(DataError, match=r"\[E163\] .*typed.parquet: column 'image' holds binary"):
        list(iter_records("columns", source))
    with pytest.raises(DataError, match=r"\[E163\] .*column 'day' holds date32.*--map and --keep"):
        list(iter_records("columns", source, map=["text=text"], keep=["day"]))
    assert list(iter_records("columns", source, map=["text=text"])) == [{"text": "a"}]
    folder = tmp_path / "saved"
    write_saved_dataset(folder, {"text": ["a"], "day": [datetime.date(2020, 1, 2)]}, {})
    with pytest.raises(DataError, match=r"\[E163\] .*saved: column 'day'"):
        list(iter_records("hf", folder))


def test_hf_a_truncated_arrow_file_is_named_without_a_traceback(tmp_path):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "sst2"
    rows = {"sentence": ["a", "b", "c", "d"], "label": [1, 0, 1, 0], "idx": [0, 1, 2, 3]}
    write_saved_dataset(folder, rows, SST2_FEATURES)
    arrow = folder / "data-00000-of-00001.arrow"
    data = arrow.read_bytes()
    arrow.write_bytes(data[: len(data) - 200])  # cut inside its last batches
    output = tmp_path / "out.jsonl"
    cut = r"\[E112\] .*sst2.*data-00000-of-00001.arrow cannot be read after row \d.*truncated"
    with pytest.raises(ConvertError, match=cut):
        convert("hf", [folder], output, map=["text=sentence"])
    assert not output.exists() and no_leftovers(tmp_path)


@pytest.mark.parametrize(
    "name,content,problem",
    [
        ("state.json", {"_data_files": [{"name": "x.arrow"}]}, "'_data_files' of its state"),
        ("state.json", {"_data_files": "data.arrow"}, "'_data_files' of its state"),
        ("state.json", {"_data_files": 3}, "'_data_files' of its state"),
        ("dataset_dict.json", {"splits": 3}, "'splits' of its dataset_dict"),
        ("dataset_dict.json", {"splits": [None]}, "'splits' of its dataset_dict"),
    ],
)
def test_hf_a_malformed_folder_description_is_a_coded_error(tmp_path, name, content, problem):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "saved"
    write_saved_dataset(folder, {"sentence": ["a"]}, {})
    (folder / name).write_text(json.dumps(content), encoding="utf8")
    with pytest.raises(ConvertError, match=rf"\[E112\] .*saved.*{problem}"):
        list(iter_records("hf", folder))


def test_the_output_may_not_replace_a_file_of_an_input_folder(tmp_path):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "sst2"
    write_saved_dataset(folder, {"sentence": ["a"]}, {})
    state = (folder / "state.json").read_bytes()
    # The dataset's own state.json was replaced by the records, destroying the dataset.
    with pytest.raises(ConvertError, match=r"\[E047\] .*state.json.*a file of the input folder"):
        convert("hf", [folder], folder / "state.json", map=["text=sentence"])
    assert (folder / "state.json").read_bytes() == state
    # A new file in the folder destroys nothing.
    result = convert("hf", [folder], folder / "records.jsonl", map=["text=sentence"])
    assert result.records == 1


def test_a_number_option_that_is_not_one_says_what_it_takes():
    # Python's "invalid literal for int() with base 10" named neither the option nor its kind.
    for value in ("abc", "1.5"):
        with pytest.raises(ConvertError, match=r"\[E101\].*--tag-column must be a whole number"):
            get_converter("conll").parse_options({"tag_column": value})
    assert get_converter("conll").parse_options({"tag_column": "2"})["tag_column"] == 2
