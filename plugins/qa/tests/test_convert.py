"""The QA plugin's converter: SQuAD v1.1 and v2.0 JSON files, to QA records."""

import json

import pytest
import spacy

from nlp_tasks.convert import convert, iter_records
from nlp_tasks.errors import DataError
from nlp_tasks.registry import get_task

CONTEXT = "Marta Quell founded the Larkspur Bakery in Dunmore in 1987."
SQUAD_V1 = {
    "version": "1.1",
    "data": [
        {
            "title": "Larkspur_Bakery",
            "paragraphs": [
                {
                    "context": CONTEXT,
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Who founded the bakery?",
                            "answers": [
                                {"text": "Marta Quell", "answer_start": 0},
                                {"text": "Marta Quell", "answer_start": 0},
                            ],
                        },
                        {
                            "id": "q2",
                            "question": "When was it founded?",
                            "answers": [{"text": "1987", "answer_start": 54}],
                        },
                    ],
                }
            ],
        }
    ],
}


def squad_v2():
    data = json.loads(json.dumps(SQUAD_V1))
    data["version"] = "v2.0"
    qas = data["data"][0]["paragraphs"][0]["qas"]
    for qa in qas:
        qa["is_impossible"] = False
    qas.append(
        {
            "id": "q3",
            "question": "Who closed the bakery?",
            "answers": [],
            "is_impossible": True,
            "plausible_answers": [{"text": "Marta Quell", "answer_start": 0}],
        }
    )
    return data


def write(path, data):
    path.write_text(json.dumps(data), encoding="utf8")
    return path


def test_squad_v1_becomes_qa_records(tmp_path):
    records = list(iter_records("squad", write(tmp_path / "train-v1.1.json", SQUAD_V1)))
    assert records[0] == {
        "id": "q1",
        "title": "Larkspur_Bakery",
        "context": CONTEXT,
        "question": "Who founded the bakery?",
        "answers": {"text": ["Marta Quell", "Marta Quell"], "answer_start": [0, 0]},
    }
    assert records[1]["answers"] == {"text": ["1987"], "answer_start": [54]}
    nlp = spacy.blank("en")
    for record in records:
        get_task("qa").make_example(nlp, record)


def test_squad_v2_unanswerable_questions_keep_empty_answers(tmp_path):
    source = write(tmp_path / "dev-v2.0.json", squad_v2())
    records = list(iter_records("squad", source))
    assert len(records) == 3
    assert records[2]["id"] == "q3"
    assert records[2]["answers"] == {"text": [], "answer_start": []}
    nlp = spacy.blank("en")
    example = get_task("qa").make_example(nlp, records[2])
    assert example.reference._.qa_gold["answers"] == []


def test_a_training_corpus_keeps_no_answer_records(tmp_path):
    from nlp_tasks.training.corpus import MultiTaskCorpus

    output = tmp_path / "qa.jsonl"
    convert("squad", write(tmp_path / "dev-v2.0.json", squad_v2()), output)
    examples = list(MultiTaskCorpus({"qa": output})(spacy.blank("en")))
    assert [len(eg.reference._.qa_gold["answers"]) for eg in examples] == [2, 1, 0]


def test_skip_unanswerable_counts_what_it_leaves_out(tmp_path):
    source = write(tmp_path / "dev-v2.0.json", squad_v2())
    result = convert("squad", source, tmp_path / "qa.jsonl", skip_unanswerable=True)
    assert result.records == 2
    assert result.skipped == {"unanswerable questions": 1}
    assert "skipped: 1 unanswerable questions" in result.summary()
    lines = (tmp_path / "qa.jsonl").read_text(encoding="utf8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q1", "q2"]


def test_an_answer_not_at_its_start_names_the_question(tmp_path):
    data = json.loads(json.dumps(SQUAD_V1))
    data["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = 50
    output = tmp_path / "qa.jsonl"
    with pytest.raises(DataError, match=r"\[QA030\] .*bad.json: question 'q2': answer '1987'"):
        convert("squad", write(tmp_path / "bad.json", data), output)
    assert not output.exists()


def test_a_gzipped_squad_file_is_read_and_a_damaged_one_named(tmp_path):
    import gzip

    plain = list(iter_records("squad", write(tmp_path / "train.json", SQUAD_V1)))
    packed = tmp_path / "train.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(SQUAD_V1).encode("utf8")))
    assert list(iter_records("squad", packed)) == plain
    packed.write_bytes(packed.read_bytes()[:40])
    with pytest.raises(DataError, match=r"\[E104\] .*train.json.gz: .*the gzip stream"):
        list(iter_records("squad", packed))


def test_bad_squad_files_are_named(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n  {"title": }\n]}', encoding="utf8")
    with pytest.raises(DataError, match=r"\[E104\] .*broken.json:2"):
        list(iter_records("squad", broken))
    broken.write_text('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E104\] .*broken.json: .*recursion"):
        list(iter_records("squad", broken))
    data = json.loads(json.dumps(SQUAD_V1))
    del data["data"][0]["paragraphs"][0]["qas"][1]["question"]
    with pytest.raises(
        DataError, match=r"\[QA031\] .*data\[0\].paragraphs\[0\].qas\[1\]: .*'question'"
    ):
        list(iter_records("squad", write(tmp_path / "missing.json", data)))
    with pytest.raises(DataError, match=r"\[QA031\] .*'data' list"):
        list(iter_records("squad", write(tmp_path / "list.json", [1, 2])))
    with pytest.raises(DataError, match=r"\[E105\] .*empty.json holds no questions"):
        list(iter_records("squad", write(tmp_path / "empty.json", {"data": []})))


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda qas: qas[1].update(question="  "), r"qas\[1\]: the question is empty"),
        (lambda qas: qas[1].update(id="q1"), r"qas\[1\]: the id is taken by .*qas\[0\]"),
        (
            lambda qas: qas[1].update(answers=[], is_impossible=False),
            r"qas\[1\]: 'is_impossible' is false, but there is no answer",
        ),
    ],
)
def test_questions_that_cannot_be_right_are_named(tmp_path, change, problem):
    data = squad_v2()
    change(data["data"][0]["paragraphs"][0]["qas"])
    with pytest.raises(
        DataError, match=rf"\[QA031\] .*bad.json: data\[0\].paragraphs\[0\].{problem}"
    ):
        list(iter_records("squad", write(tmp_path / "bad.json", data)))


def test_an_id_used_in_two_files_is_named(tmp_path):
    first = write(tmp_path / "a.json", SQUAD_V1)
    second = write(tmp_path / "b.json", SQUAD_V1)
    with pytest.raises(DataError, match=r"\[QA031\] .*b.json.*the id is taken by .*a.json"):
        list(iter_records("squad", [first, second]))


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", b"\xef\xbb\xbf\n"])
def test_an_empty_squad_file_holds_no_questions(tmp_path, content):
    # Like every converter's empty input: E105, not a JSON parse error.
    empty = tmp_path / "empty.json"
    empty.write_bytes(content)
    output = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"\[E105\] .*empty.json holds no questions"):
        convert("squad", empty, output)
    assert not output.exists()
