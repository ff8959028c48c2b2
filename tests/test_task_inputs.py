"""Tasks declare their inputs: records become docs through the declarations (issue 20)."""

import random

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.util import registry
from spacy_transformers.span_getters import get_strided_spans

from nlp_tasks import ExtraField, TaskInputs, doc_segments, segment_spans, text_list
from nlp_tasks.batch.inputs import RecordFields, read_records, records_from_python
from nlp_tasks.errors import ConfigError, DataError, InputError, PluginError
from nlp_tasks.task_inputs import FieldError, PipelineInputs, build_doc

PAIR = TaskInputs(segments=("text_a", "text_b"))
TEXT = TaskInputs()
QUESTIONS = TaskInputs(extras=(ExtraField("questions"),))


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def test_a_pair_doc_holds_each_side_as_a_labelled_span(nlp):
    doc = PAIR.make_doc(nlp, {"text_a": "  A man plays. ", "text_b": "A woman sings.", "x": 1})
    assert doc.text == "A man plays.\n\nA woman sings."
    spans = segment_spans(doc)
    assert {name: span.text for name, span in spans.items()} == {
        "text_a": "A man plays.",
        "text_b": "A woman sings.",
    }
    assert doc_segments(doc) == ("text_a", "text_b")
    assert PAIR.accepts(doc) and not TEXT.accepts(doc) and not QUESTIONS.accepts(doc)
    restored = list(DocBin(docs=[doc]).get_docs(nlp.vocab))[0]
    assert doc_segments(restored) == ("text_a", "text_b") and PAIR.accepts(restored)


def test_a_plain_doc_is_exactly_make_doc_and_belongs_to_text_tasks(nlp):
    doc = TEXT.make_doc(nlp, {"text": " Some text. "})
    assert doc.text == " Some text. " and not doc.spans
    whole = segment_spans(doc)["text"]
    assert (whole.start, whole.end) == (0, len(doc))
    assert TEXT.accepts(nlp("anything")) and not PAIR.accepts(nlp("anything"))


def test_an_extra_field_is_optional_and_decides_whether_its_task_runs(nlp):
    with_questions = QUESTIONS.make_doc(nlp, {"text": "Jo is in Rome.", "questions": "Where?"})
    assert with_questions._.questions == ["Where?"]
    assert QUESTIONS.accepts(with_questions) and TEXT.accepts(with_questions)
    without = QUESTIONS.make_doc(nlp, {"text": "Jo is in Rome."})
    assert not QUESTIONS.accepts(without) and TEXT.accepts(without)
    empty_list = QUESTIONS.make_doc(nlp, {"text": "Jo.", "questions": []})
    assert not QUESTIONS.accepts(empty_list)


@pytest.mark.parametrize(
    "record,code,words",
    [
        ({"text_a": "One."}, "E050", ["'text_b'", "text_a"]),
        ({"text_a": "One.", "text_b": 3}, "E051", ["'text_b'", "int"]),
        ({"text_a": "One.", "text_b": None}, "E051", ["'text_b'", "null"]),
        ({"text_a": "One.", "text_b": b"x"}, "E057", ["'text_b'", "bytes"]),
        ({"text_a": " \n", "text_b": "Two."}, "E080", ["'text_a'", "empty side of a pair"]),
    ],
)
def test_a_bad_pair_record_names_its_field(nlp, record, code, words):
    with pytest.raises(FieldError) as caught:
        PAIR.make_doc(nlp, record)
    assert caught.value.code == code
    message = caught.value.located("pairs.jsonl", 7)
    assert message.startswith(f"[{code}] pairs.jsonl, line 7: ")
    for word in words:
        assert word in message


def test_text_list_takes_lists_json_cells_and_single_items():
    assert text_list(["a", "b"]) == ["a", "b"]
    assert text_list('["a", "b"]') == ["a", "b"]
    assert text_list("Who?") == ["Who?"]
    with pytest.raises(ValueError, match="a list of strings"):
        text_list([1, 2])


def test_declarations_that_cannot_work_are_refused():
    with pytest.raises(PluginError, match=r"\[E082\].*no segments"):
        TaskInputs(segments=())
    with pytest.raises(PluginError, match=r"\[E082\].*twice"):
        TaskInputs(segments=("text", "text"))
    with pytest.raises(PluginError, match=r"\[E082\].*not identifiers"):
        TaskInputs(segments=("a side",))
    with pytest.raises(PluginError, match=r"\[E082\].*output record's own \(\['warnings'\]\)"):
        TaskInputs(segments=("text",), extras=("warnings",))
    assert TaskInputs(segments="text").segments == ("text",)


def test_a_mixed_stream_matches_each_record_to_its_input():
    inputs = PipelineInputs([TEXT, PAIR, QUESTIONS])
    assert inputs.check({"text": "A."}).segments == ("text",)
    assert inputs.check({"text_a": "A.", "text_b": "B."}).segments == ("text_a", "text_b")
    assert inputs.check({"text": "A.", "questions": ["Q?"]}).extras == {"questions": ["Q?"]}
    # An empty CSV cell does not make a record of two kinds.
    assert inputs.check({"text": "", "text_a": "A.", "text_b": "B."}).segments[0] == "text_a"
    assert inputs.check({"text": "A.", "text_a": " ", "text_b": ""}).segments == ("text",)
    with pytest.raises(FieldError) as caught:
        inputs.check({"text": "A.", "text_a": "A.", "text_b": "B."})
    assert caught.value.code == "E081" and "text and text_a+text_b" in str(caught.value)
    with pytest.raises(FieldError) as caught:
        inputs.check({"body": "A."})
    assert caught.value.code == "E050"


def test_fields_are_read_under_the_records_own_names():
    inputs = PipelineInputs([PAIR, QUESTIONS], {"text_a": "left", "questions": "q"})
    checked = inputs.check({"left": "L.", "text_b": "R."})
    assert checked.texts == {"text_a": "L.", "text_b": "R."}
    assert inputs.check({"text": "T.", "q": "Why?"}).extras == {"questions": ["Why?"]}
    with pytest.raises(FieldError) as caught:
        inputs.check({"left": "L.", "text_b": "   "})
    assert caught.value.code == "E080" and "'text_b'" in str(caught.value)
    with pytest.raises(ConfigError, match=r"\[E083\].*'tex_a'"):
        PipelineInputs([PAIR], {"tex_a": "left"})


def test_a_record_of_no_input_is_told_every_input_the_pipeline_reads():
    # The pair fields are mapped to left/right, but the record kept the task's names:
    # the message says which fields each input is read from.
    inputs = PipelineInputs([TEXT, PAIR], {"text_a": "left", "text_b": "right"})
    with pytest.raises(FieldError) as caught:
        inputs.check({"text_a": "A.", "text_b": "B."})
    message = caught.value.located("in.jsonl", 1)
    assert message.startswith("[E050] in.jsonl, line 1: the record has no 'text' field")
    assert "The pipeline's tasks read 'text', or 'left' (text_a) + 'right' (text_b)." in message
    # One input only: the message stays about its field.
    with pytest.raises(FieldError) as caught:
        PipelineInputs([TEXT]).check({"body": "A."})
    assert "The pipeline's tasks read" not in caught.value.located("in.jsonl", 1)


def test_a_mixed_jsonl_file_reads_with_every_bad_record_named(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"text": "Plain."}\n'
        '{"text_a": "Left.", "text_b": "Right.", "id": 2}\n'
        '{"text_a": "Left.", "text_b": ""}\n'
        '{"text_a": "Left."}\n'
        '{"text": "Plain.", "questions": [1]}\n',
        encoding="utf8",
    )
    fields = RecordFields(inputs=(TEXT, PAIR, QUESTIONS))
    records = list(read_records(path, fields=fields))
    assert [r.code for r in records] == [None, None, "E080", "E050", "E054"]
    assert records[1].input.texts == {"text_a": "Left.", "text_b": "Right."} and records[1].id == 2
    assert f"{path}, line 4: the record has no 'text_b' field" in records[3].error
    assert "field 'questions' must be a list of strings" in records[4].error


def test_a_mixed_csv_file_tells_pairs_from_texts_by_their_filled_cells(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("text,text_a,text_b\nPlain.,,\n,Left.,Right.\n,Left.,\n", encoding="utf8")
    records = list(read_records(path, fields=RecordFields(inputs=(TEXT, PAIR))))
    assert [r.input.segments if r.ok else r.code for r in records] == [
        ("text",),
        ("text_a", "text_b"),
        "E080",
    ]
    pairs_only = tmp_path / "pairs.csv"
    pairs_only.write_text("left,right\nL.,R.\n", encoding="utf8")
    with pytest.raises(InputError, match=r"\[E060\].*'text_a'.*--field text_a=COLUMN"):
        list(read_records(pairs_only, fields=RecordFields(inputs=(PAIR,))))
    mapped = RecordFields(inputs=(PAIR,), fields={"text_a": "left", "text_b": "right"})
    assert [r.input.texts for r in read_records(pairs_only, fields=mapped)] == [
        {"text_a": "L.", "text_b": "R."}
    ]


def test_plain_text_input_needs_a_task_that_reads_one_text(tmp_path):
    from nlp_tasks.batch.inputs import check_input

    path = tmp_path / "in.txt"
    path.write_text("one\n", encoding="utf8")
    with pytest.raises(InputError, match=r"\[E084\].*text_a\+text_b"):
        check_input(path, fields=RecordFields(inputs=(PAIR,)))
    assert check_input(path, fields=RecordFields(inputs=(PAIR, TEXT))) == "txt"


def test_the_length_limit_counts_every_side_of_a_record():
    fields = RecordFields(inputs=(PAIR,), max_chars=10)
    records = list(records_from_python([{"text_a": "123456", "text_b": "123456"}], fields=fields))
    assert records[0].code == "E052"


def test_segmented_spans_equal_strided_spans_on_plain_docs(nlp):
    rng = random.Random(0)
    for length in range(0, 60):
        doc = nlp.make_doc(" ".join(rng.choice(["a", "b.", "c,"]) for _ in range(length)))
        for window, stride in [(5, 3), (4, 4), (128, 96), (3, 1)]:
            segmented = registry.span_getters.get("nlp_tasks.segmented_spans.v1")(window, stride)
            expected = [(s.start, s.end) for s in get_strided_spans([doc], window, stride)[0]]
            assert [(s.start, s.end) for s in segmented([doc])[0]] == expected


def test_segmented_spans_never_cross_a_segment_boundary(nlp):
    doc = build_doc(nlp, {"text_a": "one two three four five", "text_b": "six seven eight"})
    get_spans = registry.span_getters.get("nlp_tasks.segmented_spans.v1")(3, 2)
    windows = get_spans([doc])[0]
    sides = list(segment_spans(doc).values())
    for window in windows:
        assert any(side.start <= window.start and window.end <= side.end for side in sides)
    covered = {i for window in windows for i in range(window.start, window.end)}
    assert covered == {i for side in sides for i in range(side.start, side.end)}


def test_build_doc_registers_extra_extensions(nlp):
    name = "test_task_inputs_hint"
    try:
        doc = build_doc(nlp, {"text": "Hi."}, {name: ["x"]})
        assert getattr(doc._, name) == ["x"] and Doc.has_extension(name)
    finally:
        if Doc.has_extension(name):
            Doc.remove_extension(name)


def test_task_docs_takes_a_task_or_its_name_as_check_task_does(nlp):
    from nlp_tasks.registry import get_task
    from nlp_tasks.testing import task_docs

    records = [{"text_a": "A man plays.", "text_b": "A woman sings.", "score": 2.5}]
    by_name = task_docs("similarity", nlp, records, "pairs.jsonl")
    by_task = task_docs(get_task("similarity"), nlp, records, "pairs.jsonl")
    assert [doc.text for doc in by_name] == [doc.text for doc in by_task]
    assert doc_segments(by_name[0]) == ("text_a", "text_b")
    with pytest.raises(DataError, match=r"\[E050\] pairs.jsonl, line 1"):
        task_docs("similarity", nlp, [{"text_a": "A man plays."}], "pairs.jsonl")


def test_a_task_field_mapped_twice_is_refused_not_settled_by_order():
    from nlp_tasks.errors import OptionError, RequestError
    from nlp_tasks.serve.limits import field_pairs

    assert field_pairs(["text=body", "text=body"]) == {"text": "body"}
    with pytest.raises(
        RequestError, match=r"\[E153\] --field map .*'text' twice.*text=id and text=body"
    ):
        field_pairs(["text=id", "text=body"])
    with pytest.raises(
        RequestError, match=r"\[E153\] the field= parameter map .*text=a and text=b"
    ):
        field_pairs(["text=a", "text=b"], option="the field= parameter")
    with pytest.raises(OptionError, match=r"\[E153\] The text field .*text=body and text=id"):
        RecordFields(text="body", fields={"text": "id"})
    assert RecordFields(text="body", fields={"text": "body"}).text_column == "body"


@pytest.mark.parametrize(
    "questions, rule",
    [
        (["Who?", " "], "a list of strings none of which is empty or blank"),
        ([""], "a list of strings none of which is empty or blank"),
        ('["Who?", "\\n"]', "a list of strings none of which is empty or blank"),
        (["Who is \ud800?"], r"valid Unicode text \(it holds a lone surrogate\)"),
    ],
)
def test_a_blank_or_undecodable_question_is_the_records_error_not_a_heads(questions, rule):
    # The QA head fails on these as if it had a bug (process: E055, serve: a 500).
    from nlp_tasks.inference import check_item

    inputs = PipelineInputs([TEXT, QUESTIONS])
    with pytest.raises(FieldError, match=rf"\[E054\] .*field 'questions' must be {rule}"):
        inputs.check({"text": "Jo is here.", "questions": questions})
    with pytest.raises(
        ValueError, match=rf"\[E054\] predict: item 3: field 'questions' must be {rule}"
    ):
        check_item(inputs, {"text": "Jo is here.", "questions": questions}, 3)
    assert text_list("") == [] and text_list(["Who?"]) == ["Who?"]
