"""Input readers for batch processing: formats, gzip, bad records, resuming, chunking."""

import gzip
import json

import pytest

from nlp_tasks.batch.inputs import (
    InputError,
    InputRecord,
    RecordFields,
    check_input,
    count_records,
    detect_format,
    read_records,
    records_from_python,
)
from nlp_tasks.batch.processor import chunk_records
from nlp_tasks.task_inputs import CheckedInput, ExtraField, TaskInputs

#: What a task that answers questions declares: a text, and questions if any.
WITH_QUESTIONS = (TaskInputs(extras=(ExtraField("questions"),)),)

BAD_JSONL_LINES = [
    (b'{"id": 1, "text": "A good one."}', None),
    (b'{"id": 2, "text": "Broken', "E048"),
    (b'["a", "list"]', "E049"),
    (b'{"id": 4, "body": "no text field"}', "E050"),
    (b'{"id": 5, "text": 42}', "E051"),
    (b'{"id": 6, "text": "' + b"x" * 50 + b'"}', "E052"),
    (b'{"id": 7, "text": "caf\xe9"}', "E053"),
    (b'{"id": 8, "text": "lone \\ud800 surrogate"}', "E053"),
    (b'{"id": 9, "text": "Q?", "questions": [1, 2]}', "E054"),
    (b"   ", "skipped"),
    (b'{"id": 11, "text": "With questions.", "questions": ["Who?", "Where?"]}', None),
    # Valid JSON nested deeper than the decoder's recursion limit.
    (b'{"id": 12, "text": "Deep.", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "E048"),
    (b'{"id": 13, "text": "After the deep one."}', None),
    (b'{"id": 14, "text": "Q?", "questions": ["Who?", " "]}', "E054"),
    (b'{"id": 15, "text": "Q?", "questions": ["\\ud800?"]}', "E054"),
]


def outcome(record: InputRecord) -> str | None:
    return "skipped" if record.skipped else record.code


def test_every_bad_jsonl_record_is_reported_with_line_and_reason(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in BAD_JSONL_LINES) + b"\n")
    records = list(read_records(path, fields=RecordFields(max_chars=40, inputs=WITH_QUESTIONS)))
    assert [outcome(r) for r in records] == [code for _, code in BAD_JSONL_LINES]
    assert [r.line for r in records] == list(range(1, len(BAD_JSONL_LINES) + 1))
    for record in records:
        if record.code:
            assert record.error.startswith(f"[{record.code}] {path}, line {record.line}: ")
    by_line = {r.line: r for r in records}
    assert "'text'" in by_line[4].error and "body" in by_line[4].error
    assert "int" in by_line[5].error
    assert "'questions' must be a list of strings none of which is empty" in by_line[14].error
    assert "'questions' must be valid Unicode" in by_line[15].error
    assert "50 characters > 40" in by_line[6].error
    assert by_line[4].id == 4 and by_line[4].has_id, "a bad record keeps its id when it has one"
    assert by_line[11].input.extras["questions"] == ["Who?", "Where?"]
    assert "questions" not in by_line[1].input.extras
    assert by_line[1].text == "A good one." and by_line[1].id == 1


def test_custom_fields_and_missing_id(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"body": "Hello.", "key": "a"}\n{"body": "No key."}\n', encoding="utf8")
    records = list(read_records(path, fields=RecordFields(text="body", id="key")))
    assert [(r.text, r.id, r.has_id) for r in records] == [
        ("Hello.", "a", True),
        ("No key.", None, False),
    ]


def test_a_huge_line_is_a_bad_record_not_a_memory_spike(tmp_path):
    path = tmp_path / "in.jsonl"
    # max_chars=10 allows lines of 6 * 10 + 1 MiB bytes; this one is longer.
    huge = '{"text": "' + "y" * (1 << 21) + '"}'
    path.write_text(f'{{"text": "ok"}}\n{huge}\n{{"text": "after"}}\n', encoding="utf8")
    records = list(read_records(path, fields=RecordFields(max_chars=10)))
    assert [r.code for r in records] == [None, "E052", None]
    assert "the line (all its fields; the limit is 6 x --max-chars + 1 MiB)" in records[1].error
    assert "bytes" in records[1].error
    assert records[2].text == "after" and records[2].line == 3


def test_plain_text_one_doc_per_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("First doc.\n\nSecond doc.\r\n" + "z" * 30 + "\n", encoding="utf8")
    records = list(read_records(path, fields=RecordFields(max_chars=20)))
    assert [(r.line, r.text, outcome(r)) for r in records] == [
        (1, "First doc.", None),
        (2, None, "skipped"),
        (3, "Second doc.", None),
        (4, None, "E052"),
    ]
    assert not records[0].has_id


def test_csv_and_tsv(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        'id,text,questions\n1,"Line one\nstill one",\n2,Two,"[""Why?""]"\n3\n4,Four,Who?\n',
        encoding="utf8",
    )
    records = list(read_records(path, fields=RecordFields(inputs=WITH_QUESTIONS)))
    assert [(r.line, r.id, r.text, r.code) for r in records] == [
        (2, "1", "Line one\nstill one", None),
        (4, "2", "Two", None),
        (5, "3", None, "E050"),
        (6, "4", "Four", None),
    ]
    assert records[1].input.extras["questions"] == ["Why?"]
    assert records[3].input.extras["questions"] == ["Who?"]
    tsv = tmp_path / "in.tsv"
    tsv.write_text("text\tid\nTabbed text\tt1\n", encoding="utf8")
    assert [(r.text, r.id) for r in read_records(tsv)] == [("Tabbed text", "t1")]


def test_csv_without_the_text_column_is_an_input_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,x\n", encoding="utf8")
    with pytest.raises(InputError, match=r"\[E060\].*'text'.*body"):
        list(read_records(path))


def test_gzip_is_detected_by_content(tmp_path):
    lines = [json.dumps({"text": f"Doc {i}"}) for i in range(5)]
    for name in ("in.jsonl.gz", "in.jsonl"):
        with gzip.open(tmp_path / name, "wt", encoding="utf8") as file:
            file.write("\n".join(lines) + "\n")
        assert [r.text for r in read_records(tmp_path / name)] == [f"Doc {i}" for i in range(5)]
    with gzip.open(tmp_path / "in.csv.gz", "wt", encoding="utf8") as file:
        file.write("text\nA\nB\n")
    assert [r.text for r in read_records(tmp_path / "in.csv.gz")] == ["A", "B"]
    assert count_records(tmp_path / "in.jsonl.gz") is None


def test_parquet_rows_and_resume_across_row_groups(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": list(range(10)),
            "text": [f"Row {i}" if i != 4 else None for i in range(10)],
            "extra": ["e"] * 10,
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=3)
    records = list(read_records(path))
    assert [(r.line, r.id, r.text) for r in records if r.ok] == [
        (i + 1, i, f"Row {i}") for i in range(10) if i != 4
    ]
    assert records[4].code == "E051" and records[4].line == 5
    assert count_records(path) == 10
    for start_after in (0, 2, 3, 7, 10):
        resumed = list(read_records(path, start_after=start_after))
        assert [r.line for r in resumed] == list(range(start_after + 1, 11))


@pytest.mark.parametrize("name", ["in.jsonl", "in.txt", "in.csv"])
def test_start_after_skips_exactly_the_done_records(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("text\n" + "".join(f"doc {i}\n" for i in range(8)), encoding="utf8")
    elif name.endswith(".txt"):
        path.write_text("".join(f"doc {i}\n" for i in range(8)), encoding="utf8")
    else:
        path.write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(8)))
    everything = list(read_records(path))
    for cut in range(len(everything) + 1):
        done = everything[cut - 1].line if cut else 0
        assert list(read_records(path, start_after=done)) == everything[cut:]


def test_formats_from_names_and_counts(tmp_path):
    assert detect_format("a.JSONL.gz") == "jsonl"
    assert detect_format("a.tsv") == "csv"
    assert detect_format("a.data", "txt") == "txt"
    with pytest.raises(InputError, match=r"\[E058\]"):
        detect_format("a.data")
    with pytest.raises(InputError, match=r"\[E065\] --input-format must be one of .*'xml'"):
        detect_format("a.jsonl", "xml")
    with pytest.raises(InputError, match=r"\[E059\] .*missing\.jsonl: it does not exist"):
        list(read_records(tmp_path / "missing.jsonl"))
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(InputError, match=r"\[E059\] .*folder\.jsonl: it is a directory"):
        list(read_records(tmp_path / "folder.jsonl"))
    with pytest.raises(InputError, match=r"\[E059\] .*folder\.jsonl: it is a directory"):
        check_input(tmp_path / "folder.jsonl")
    path = tmp_path / "n.txt"
    path.write_text("a\n\nb", encoding="utf8")
    assert count_records(path) == 3


def test_records_from_python():
    records = list(
        records_from_python(["plain", {"text": "dict", "id": "x"}, 3, {"text": None}, {}])
    )
    assert [(r.line, r.text, r.id, r.code) for r in records] == [
        (1, "plain", None, None),
        (2, "dict", "x", None),
        (3, None, None, "E049"),
        (4, None, None, "E051"),
        (5, None, None, "E050"),
    ]


def good(line: int, words: int) -> InputRecord:
    return InputRecord(line=line, input=CheckedInput({"text": " ".join(["w"] * words)}))


def test_chunks_respect_doc_count_and_word_budget():
    records = [good(1, 5), good(2, 5), good(3, 50), good(4, 1), good(5, 1), good(6, 1)]
    records.insert(3, InputRecord(line=99, error="bad", code="E048"))
    chunks = list(chunk_records(records, batch_size=2, batch_words=20))
    assert [[r.line for r in chunk] for chunk in chunks] == [[1, 2], [3, 99], [4, 5], [6]]
    # No word budget: only the count matters.
    chunks = list(chunk_records(records, batch_size=3, batch_words=0))
    assert [[r.line for r in chunk] for chunk in chunks] == [[1, 2, 3], [99, 4, 5, 6]]


def test_chunking_resumed_at_a_boundary_matches_an_uninterrupted_run():
    records = [good(i, (i * 7) % 13 + 1) for i in range(1, 60)]
    for i in (5, 6, 30):
        records[i] = InputRecord(line=records[i].line, skipped=True)
    chunks = list(chunk_records(records, batch_size=4, batch_words=25))
    for k in range(len(chunks)):
        position = sum(len(chunk) for chunk in chunks[:k])
        resumed = list(chunk_records(records[position:], batch_size=4, batch_words=25))
        assert resumed == chunks[k:]
