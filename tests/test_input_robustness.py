"""Batch input that is damaged: broken CSV quotes, byte-order marks, broken gzip, bytes."""

import csv
import gzip
import io
import json
import random
import re
import subprocess
from pathlib import Path

import pytest
import spacy

from nlp_tasks.batch import process_file, process_records
from nlp_tasks.batch.files import checkpoint_path
from nlp_tasks.batch.inputs import (
    InputError,
    RecordFields,
    check_input,
    read_records,
    records_from_python,
)
from nlp_tasks.errors import ArgumentError
from nlp_tasks.task_inputs import ExtraField, TaskInputs

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory) -> Path:
    # Reading is under test, not the heads: a blank pipeline keeps these tests fast.
    path = tmp_path_factory.mktemp("robust") / "pipeline"
    spacy.blank("en").to_disk(path)
    return path


def rows(path: Path, **kwargs) -> list[tuple]:
    return [(r.line, r.id, r.text, r.code) for r in read_records(path, **kwargs)]


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf8"))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


# CSV quotes -------------------------------------------------------------------------


def test_an_unterminated_quote_is_a_bad_record_and_the_rows_after_it_are_read(tmp_path):
    path = write(tmp_path / "b.csv", 'id,text\nx1,"unterminated quote\nx2,ok row\n')
    records = list(read_records(path))
    assert [(r.line, r.id, r.text, r.code) for r in records] == [
        (2, "x1", None, "E056"),
        (3, "x2", "ok row", None),
    ]
    error = records[0].error
    assert error.startswith(f"[E056] {path}, line 2: the quote that opens a field on line 2 ")
    assert "never closed" in error and "after line 2" in error


def test_a_quote_closed_out_of_place_on_a_later_line_swallows_nothing(tmp_path):
    # The quote of line 2 is "closed" by the first quote of line 3, followed by text.
    path = write(tmp_path / "c.csv", 'id,text\nx1,"stray quote\nx2,"ok row"\nx3,fine\n')
    records = list(read_records(path))
    assert [(r.line, r.id, r.text, r.code) for r in records] == [
        (2, "x1", None, "E056"),
        (3, "x2", "ok row", None),
        (4, "x3", "fine", None),
    ]
    assert "closes on line 3" in records[0].error and "'o'" in records[0].error


def test_well_formed_quoted_fields_read_as_before(tmp_path):
    text = (
        "id,text,questions\r\n"
        '1,"two\r\nlines, with ""quotes""",\r\n'
        '2,"a ""quoted"" word",\r\n'
        '3,"lines\n\nand a blank one","[""Why?""]"\r\n'
        '4,"abc"def,\r\n'  # out of place on one line: read leniently, as the csv module does
        '5,ab"c,\r\n'
        '"6","last, without a line end"'
    )
    path = write(tmp_path / "ok.csv", text)
    expected = list(csv.reader(io.StringIO(text, newline="")))[1:]
    fields = RecordFields(inputs=(TaskInputs(extras=(ExtraField("questions"),)),))
    records = list(read_records(path, fields=fields))
    assert [(r.id, r.text, r.code) for r in records] == [(row[0], row[1], None) for row in expected]
    assert [r.line for r in records] == [2, 4, 5, 8, 9, 10]
    assert records[2].input.extras["questions"] == ["Why?"]


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
def test_any_well_formed_csv_reads_as_the_csv_module_reads_it(tmp_path, quoting):
    rng = random.Random(quoting)
    pieces = ["a", "b c", ",", '"', '""', "\n", "\r\n", " ", "x\ty", "é"]
    table = [["id", "text", "other"]] + [
        [str(i)] + ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in "ab"]
        for i in range(300)
    ]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=quoting).writerows(table)
    text = buffer.getvalue()
    path = write(tmp_path / "w.csv", text)
    expected = list(csv.reader(io.StringIO(text, newline="")))[1:]
    records = list(read_records(path))
    assert [(r.id, r.text, r.code) for r in records] == [(row[0], row[1], None) for row in expected]
    lines = [r.line for r in records]
    assert lines == sorted(set(lines))


def test_garbled_csv_gives_records_or_coded_errors_in_line_order(tmp_path):
    rng = random.Random(7)
    pieces = ["a", ",", '"', "\n", '",', ',"', "\r\n"]
    text = "id,text\n" + "".join(rng.choice(pieces) for _ in range(3000))
    path = write(tmp_path / "g.csv", text)
    records = list(read_records(path))
    lines = [r.line for r in records]
    assert lines == sorted(set(lines)) and records
    assert all(r.ok or r.skipped or r.code in ("E048", "E050", "E056") for r in records)
    assert any(r.code == "E056" for r in records), "stray quotes are reported, not merged"


def test_a_row_with_more_fields_than_the_header_is_a_bad_record(tmp_path):
    # An unquoted comma in a text: reading the first cells alone cut the text short.
    path = write(tmp_path / "wide.csv", "id,text\n7,too,many,cols\n8,fine\n9,trailing,, \n")
    records = list(read_records(path))
    assert [(r.line, r.text, r.code) for r in records] == [
        (2, None, "E048"),
        (3, "fine", None),
        (4, "trailing", None),  # empty cells past the header lose nothing
    ]
    assert "the row has 4 fields but the header has 2" in records[0].error


def test_an_unterminated_quote_on_the_last_line_is_still_reported(tmp_path):
    path = write(tmp_path / "end.csv", 'text,id\nfine,1\n"never closed,2')
    assert rows(path) == [(2, "1", "fine", None), (3, None, None, "E056")]


def test_a_blank_csv_line_is_counted_as_skipped(tmp_path):
    path = write(tmp_path / "blank.csv", "text\na\n\nb\n")
    records = list(read_records(path))
    assert [(r.line, r.text, r.skipped) for r in records] == [
        (2, "a", False),
        (3, None, True),
        (4, "b", False),
    ]


def test_a_stray_quote_in_a_big_file_loses_no_row(tmp_path):
    # More text after the quote than a record may hold (6 * max_chars + 1 MiB): the
    # reader gives up keeping it, finds that the quote never closes and reads on.
    n = 90_000
    body = "".join(f"r{i},row number {i}\n" for i in range(n))
    path = write(tmp_path / "big.csv", 'id,text\nx,"stray\n' + body)
    assert len(body) > 6 * 20 + (1 << 20)
    records = list(read_records(path, fields=RecordFields(max_chars=20)))
    assert len(records) == n + 1
    assert (records[0].line, records[0].code) == (2, "E056")
    assert all(r.ok for r in records[1:])
    assert (records[-1].line, records[-1].id) == (n + 2, f"r{n - 1}")


def test_a_huge_quoted_field_is_one_bad_record_not_many_fragments(tmp_path):
    document = "".join(f"sentence {i}, of a long document\n" for i in range(40_000))
    path = write(tmp_path / "huge.csv", f'id,text\na,"{document}"\nb,after\n')
    records = list(read_records(path, fields=RecordFields(max_chars=10)))
    assert [(r.line, r.code) for r in records] == [(2, "E052"), (40_003, None)]
    assert "lines 2-40002" in records[0].error and records[1].text == "after"


def test_resuming_a_csv_with_broken_quotes_gives_the_same_records(tmp_path):
    path = write(
        tmp_path / "r.csv",
        'id,text\na,"one\nb,"two\nc,three\nd,"four\nfive"\ne,"six\n',
    )
    everything = list(read_records(path))
    assert [(r.line, r.code) for r in everything] == [
        (2, "E056"),
        (3, "E056"),
        (4, None),
        (5, None),
        (7, "E056"),
    ]
    for cut in range(len(everything) + 1):
        done = everything[cut - 1].line if cut else 0
        assert list(read_records(path, start_after=done)) == everything[cut:]


def test_process_file_reports_the_unterminated_quote_and_processes_the_next_row(
    pipeline_dir, tmp_path
):
    path = write(tmp_path / "b.csv", 'id,text\nx1,"unterminated quote\nx2,ok row\n')
    output = tmp_path / "o.jsonl"
    summary = process_file(pipeline_dir, path, output, include_text=True, progress=False)
    assert (summary.processed, summary.failed) == (1, 1)
    assert read_jsonl(output) == [{"line": 3, "id": "x2", "text": "ok row"}]
    [error] = read_jsonl(tmp_path / "o.errors.jsonl")
    assert error["line"] == 2 and error["code"] == "E056" and error["id"] == "x1"


def test_a_header_with_an_unclosed_quote_is_refused_up_front(tmp_path):
    path = write(tmp_path / "h.csv", 'id,"text\nx,y\n')
    for read in (check_input, lambda p: list(read_records(p))):
        with pytest.raises(InputError, match=r"^\[E056\] .*line 1: .*header cannot be read"):
            read(path)


# Byte-order marks ---------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "name,data,expected",
    [
        ("in.jsonl", b'{"text": "first", "id": 1}\n{"text": "second"}\n', ["first", "second"]),
        ("in.txt", b"first\nsecond\n", ["first", "second"]),
        ("in.csv", b"text,id\nfirst,1\nsecond,2\n", ["first", "second"]),
        ("in.tsv", b"text\tid\nfirst\t1\n", ["first"]),
    ],
)
def test_a_byte_order_mark_is_dropped(tmp_path, name, data, expected, gz):
    path = tmp_path / (name + ".gz" if gz else name)
    path.write_bytes(gzip.compress(BOM + data) if gz else BOM + data)
    assert check_input(path) in ("jsonl", "txt", "csv")
    records = list(read_records(path))
    assert [(r.text, r.code) for r in records] == [(text, None) for text in expected]
    if not name.endswith(".txt"):
        assert records[0].id in (1, "1")


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "encoding,bom,name",
    [
        ("utf-16-le", b"\xff\xfe", "in.jsonl"),
        ("utf-16-be", b"\xfe\xff", "in.txt"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "in.csv"),
    ],
)
def test_a_utf16_or_utf32_input_is_refused_whole_before_any_output(
    pipeline_dir, tmp_path, encoding, bom, name, gz
):
    # Read as UTF-8, every line of it was a bad record of its own (E053), and
    # nothing was processed.
    data = bom + 'text,id\n{"text": "first"}\nsecond\n'.encode(encoding)
    path = tmp_path / (name + ".gz" if gz else name)
    path.write_bytes(gzip.compress(data) if gz else data)
    family = encoding[:6].upper()
    expected = rf"^\[E170\] .*{path.name} is {family} text .*iconv -f {family} -t UTF-8"
    with pytest.raises(InputError, match=expected):
        check_input(path)
    output = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=r"^\[E170\]") as error:
        process_file(pipeline_dir, path, output, progress=False)
    assert not output.exists() and not checkpoint_path(output).exists()
    run_suggested_command(error.value)
    fixed = tmp_path / name.replace(".", "-utf8.")
    assert check_input(fixed) == name.split(".")[1]


def run_suggested_command(error: InputError) -> None:
    # The message's `command` must work as given (tr, iconv and gunzip are POSIX/glibc).
    command = str(error).split("`")[1]
    subprocess.run(command, shell=True, check=True)


@pytest.mark.parametrize("gz", [False, True])
def test_a_file_with_cr_only_line_endings_is_refused_not_read_as_one_record(
    pipeline_dir, tmp_path, gz
):
    data = b"first text\rsecond text\rthird\r"
    path = tmp_path / ("in.txt.gz" if gz else "in.txt")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(InputError, match=r"^\[E171\] .*in\.txt.* carriage return alone") as error:
        check_input(path)
    output = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=r"^\[E171\]"):
        process_file(pipeline_dir, path, output, progress=False)
    assert not output.exists()
    run_suggested_command(error.value)
    fixed = tmp_path / "in-lf.txt"
    assert check_input(fixed) == "txt"
    assert [r.text for r in read_records(fixed)] == ["first text", "second text", "third"]


def test_a_carriage_return_inside_lines_that_end_in_newlines_is_read_as_before(tmp_path):
    path = write(tmp_path / "in.txt", "a\rb\r\nc\n")
    assert check_input(path) == "txt"
    assert [r.text for r in read_records(path)] == ["a\rb", "c"]


# Broken gzip --------------------------------------------------------------------------


def big_gzip(path: Path, fmt: str = "jsonl", lines: int = 60_000) -> bytes:
    # Random words compress poorly, so the stream spans many blocks.
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(500)]
    texts = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(lines)]
    if fmt == "csv":
        text = "id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))
    else:
        text = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts))
    data = gzip.compress(text.encode("utf8"))
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("damage", ["truncate", "flip"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_broken_gzip_stream_is_a_coded_error_naming_the_file_and_line(tmp_path, damage, fmt):
    path = tmp_path / f"in.{fmt}.gz"
    broken = bytearray(big_gzip(path, fmt))
    if damage == "truncate":
        broken = broken[: len(broken) // 2]
    else:
        broken[len(broken) // 2] ^= 0xFF
    path.write_bytes(bytes(broken))
    check_input(path)  # the first block is fine: the damage shows only on reading
    seen = []
    with pytest.raises(InputError) as caught:
        for record in read_records(path):
            seen.append(record)
    message = str(caught.value)
    assert message.startswith(f"[E061] {path}: ")
    assert "--overwrite" in message and "gzip -t" in message
    last = int(message.split("after line ")[1].split()[0])
    assert seen and 1000 < seen[-1].line <= last
    assert [r.line for r in seen] == list(range(seen[0].line, seen[-1].line + 1))
    if damage == "truncate":
        assert all(r.ok for r in seen) and seen[-1].line == last


@pytest.mark.parametrize("damage", ["truncate", "crc"])
def test_a_small_broken_gzip_is_read_up_to_the_break(tmp_path, damage):
    # Under the 1 MiB that the line-ending check reads first: that read met the
    # break and escaped as a bare EOFError ("Aborted!") or BadGzipFile traceback.
    path = tmp_path / "in.jsonl.gz"
    data = bytearray(big_gzip(path, lines=3000))
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[-8] ^= 1  # the CRC in the trailer: every line reads, then the check fails
    path.write_bytes(bytes(data))
    assert check_input(path) == "jsonl"
    seen = []
    with pytest.raises(InputError, match=rf"^\[E061\] {re.escape(str(path))}: ") as caught:
        for record in read_records(path):
            seen.append(record)
    last = int(str(caught.value).split("after line ")[1].split()[0])
    assert [r.line for r in seen] == list(range(1, last + 1)) and all(r.ok for r in seen)
    assert last == 3000 if damage == "crc" else 0 < last < 3000


def test_an_unreadable_gzip_is_refused_before_any_output(pipeline_dir, tmp_path):
    path = tmp_path / "in.jsonl.gz"
    good = gzip.compress(b'{"text": "a"}\n' * 10)
    path.write_bytes(good[:10] + b"\xff" * 20)  # header, then garbage
    with pytest.raises(InputError, match=r"^\[E062\] .*in\.jsonl\.gz.*gzip -t"):
        check_input(path)
    with pytest.raises(InputError, match=r"^\[E062\]"):
        list(read_records(path))
    output = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=r"^\[E062\]"):
        process_file(pipeline_dir, path, output, progress=False)
    assert not output.exists() and not checkpoint_path(output).exists()


def test_cli_on_a_truncated_gzip_says_which_file_and_line_without_a_traceback(
    cli, pipeline_dir, tmp_path
):
    path = tmp_path / "corpus.jsonl.gz"
    data = big_gzip(path)
    path.write_bytes(data[: len(data) // 2])
    output = tmp_path / "out.jsonl"
    result = cli("process", str(pipeline_dir), str(path), str(output), "--batch-size", "64")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Error: [E061]" in result.stderr and str(path) in result.stderr
    state = json.loads(checkpoint_path(output).read_text())
    kept = read_jsonl(output)
    assert len(kept) == state["done"] > 0 and not state["complete"]


def test_a_damaged_parquet_file_is_a_coded_error(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "in.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    for read in (check_input, lambda p: list(read_records(p))):
        with pytest.raises(InputError, match=r"^\[E063\] .*in\.parquet cannot be read"):
            read(path)


# Records from Python ------------------------------------------------------------------


def test_bytes_records_are_bad_records_that_say_to_decode():
    given = [b"abc", {"text": b"x", "id": 7}, bytearray(b"y"), "fine", memoryview(b"z")]
    records = list(records_from_python(given))
    assert [(r.line, r.code) for r in records] == [
        (1, "E057"),
        (2, "E057"),
        (3, "E057"),
        (4, None),
        (5, "E057"),
    ]
    assert "must be str" in records[0].error and "decode" in records[0].error
    assert "'text'" in records[1].error and records[1].id == 7


@pytest.mark.parametrize(
    "records, kind",
    [("a text", "one text"), (b"abc", "bytes"), ({"text": "a"}, "one record"), (None, "None")],
)
def test_process_records_refuses_records_that_are_no_iterable_of_records(records, kind):
    # One str was processed as one record per character, with no error.
    with pytest.raises(ArgumentError, match=rf"\[E152\] process_records: records .*not {kind}"):
        list(process_records(spacy.blank("en"), records))


def test_process_records_with_bytes_goes_on():
    results = list(process_records(spacy.blank("en"), [b"abc", "A text."]))
    assert [(r.code, r.ok) for r in results] == [("E057", False), (None, True)]
