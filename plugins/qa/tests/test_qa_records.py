"""QA records, the SQuAD scorer, and the plugin through the core's whole-life check."""

import json

import pytest
import spacy
from nlp_tasks_qa.scorer import exact_match, f1_score, normalize_answer, squad_scores

from nlp_tasks.registry import get_task
from nlp_tasks.training.corpus import DataError, MultiTaskCorpus

CONTEXT = "Marta Quell founded the Larkspur Bakery in Dunmore in 1987."
GOOD = {
    "id": "q1",
    "title": "Larkspur",
    "context": CONTEXT,
    "question": "Who founded the bakery?",
    "answers": {"text": ["Marta Quell"], "answer_start": [0]},
}


def record(**changes):
    return {**GOOD, **changes}


def test_a_record_becomes_an_example_with_gold_on_the_reference():
    nlp = spacy.blank("en")
    eg = get_task("qa").make_example(nlp, GOOD)
    assert eg.reference.text == eg.predicted.text == CONTEXT
    assert eg.reference._.qa_gold == {
        "id": "q1",
        "question": "Who founded the bakery?",
        "answers": [["Marta Quell", 0]],
    }
    assert eg.predicted._.questions == ["Who founded the bakery?"]


def test_gold_survives_a_docbin():
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    eg = get_task("qa").make_example(nlp, GOOD)
    data = DocBin(docs=[eg.reference], store_user_data=True).to_bytes()
    (doc,) = DocBin().from_bytes(data).get_docs(nlp.vocab)
    assert doc._.qa_gold["answers"][0][0] == "Marta Quell"


@pytest.mark.parametrize(
    "changes,pattern",
    [
        ({"question": ""}, r"\[QA002\] record 'q1': 'question' is empty"),
        ({"question": "   "}, r"\[QA002\] record 'q1'"),
        ({"context": 7}, r"\[QA001\] record 'q1': 'context' must be a string, got int"),
        ({"question": ["Who?"]}, r"\[QA001\] record 'q1': 'question' must be a string, got list"),
        ({"id": 3.5}, r"\[QA001\] record 3.5: 'id' must be a string"),
        (
            {"answers": {"text": ["Marta Quell"], "answer_start": [2]}},
            r"\[QA004\] record 'q1': answer 'Marta Quell' at answer_start 2 does not match "
            r"the context, which has 'rta Quell f' there",
        ),
        (
            {"answers": {"text": ["Paris"], "answer_start": [0]}},
            r"\[QA004\] record 'q1': answer 'Paris'",
        ),
        (
            {"answers": {"text": ["Marta"], "answer_start": [900]}},
            r"\[QA005\] record 'q1': answer_start 900 is outside the context",
        ),
        ({"answers": {"text": ["Marta"], "answer_start": ["0"]}}, r"\[QA003\] record 'q1'"),
        ({"answers": {"text": ["Marta"], "answer_start": []}}, r"\[QA003\] record 'q1'"),
        ({"answers": ["Marta"]}, r"\[QA003\] record 'q1'"),
    ],
)
def test_bad_records_name_the_file_line_and_record_id(tmp_path, changes, pattern):
    path = tmp_path / "qa.jsonl"
    lines = [GOOD, record(**changes)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf8")
    corpus = MultiTaskCorpus({"qa": path})
    with pytest.raises(DataError) as error:
        list(corpus(spacy.blank("en")))
    message = str(error.value)
    assert message.startswith(f"[E029] {path}, line 2: ")
    assert __import__("re").search(pattern, message), message


def test_squad_normalisation():
    assert normalize_answer("The  Larkspur, Bakery!") == "larkspur bakery"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("Theatre") == "theatre"  # an article only as a whole word
    assert exact_match("the Larkspur Bakery.", "Larkspur bakery") == 1.0
    assert f1_score("Larkspur Bakery in Dunmore", "the Larkspur Bakery") == pytest.approx(2 / 3)
    assert f1_score("", "Larkspur") == 0.0
    scores = squad_scores(["1987", "Dunmore town"], [["in 1987", "1987"], ["Dunmore"]])
    assert scores["exact"] == 0.5
    assert scores["f1"] == pytest.approx((1.0 + 2 / 3) / 2)
    # As the official v2.0 script: a gold answer that normalizes to nothing is
    # dropped, so "The" does not make an abstention right.
    assert squad_scores([""], [["The", "France"]]) == {"exact": 0.0, "f1": 0.0}
    assert squad_scores([""], [["The"]]) == {"exact": 1.0, "f1": 1.0}


def test_scorer_skips_examples_of_other_tasks():
    from nlp_tasks_qa.scorer import score_qa
    from spacy.training import Example

    nlp = spacy.blank("en")
    qa = get_task("qa").make_example(nlp, GOOD)
    qa.predicted._.qa_output = [{"text": "Marta Quell", "start": 0, "end": 11, "score": 0.9}]
    other = Example(nlp.make_doc("A fine day."), nlp.make_doc("A fine day."))
    assert score_qa([qa, other]) == {
        "qa_exact": 1.0,
        "qa_f1": 1.0,
        "qa_has_answer_f1": 1.0,
        "qa_no_answer_exact": None,
    }
    assert set(score_qa([other]).values()) == {None}
    unanswered = get_task("qa").make_example(nlp, GOOD)
    assert score_qa([unanswered])["qa_f1"] == 0.0


def test_no_answer_is_right_for_a_question_without_gold_answers():
    # SQuAD v2.0 scoring: an empty prediction matches an empty gold answer,
    # and any span for such a question is wrong.
    from nlp_tasks_qa.scorer import score_qa

    assert f1_score("", "") == exact_match("", "") == 1.0
    assert f1_score("Marta", "") == 0.0
    nlp = spacy.blank("en")
    impossible = {**GOOD, "id": "q2", "answers": {"text": [], "answer_start": []}}
    answered = get_task("qa").make_example(nlp, GOOD)
    answered.predicted._.qa_output = [{"text": "Marta Quell", "start": 0, "end": 11, "score": 0.9}]
    abstained = get_task("qa").make_example(nlp, impossible)
    wrong = get_task("qa").make_example(nlp, impossible)
    wrong.predicted._.qa_output = [{"text": "Marta", "start": 0, "end": 5, "score": 0.4}]
    scores = score_qa([answered, abstained, wrong])
    assert scores["qa_exact"] == scores["qa_f1"] == pytest.approx(2 / 3)
    assert scores["qa_has_answer_f1"] == 1.0
    assert scores["qa_no_answer_exact"] == 0.5


@pytest.mark.slow
def test_plugin_check(tmp_path):
    from nlp_tasks.testing import check_task

    records = [
        GOOD,
        record(
            id="q2",
            question="When was it founded?",
            answers={"text": ["1987"], "answer_start": [54]},
        ),
        record(
            id="q3",
            question="Where is the bakery?",
            answers={"text": ["Dunmore"], "answer_start": [43]},
        ),
    ]
    check = check_task("qa", records, tmp_path, steps=20, learn_rate=0.003)
    assert check.loss_after < check.loss_before
    # check_task processes each record's doc as QA's make_example makes it: the
    # record's question is asked.
    questions = [[a["question"] for a in output["answers"]] for output in check.outputs]
    assert questions == [[r["question"]] for r in records]
    assert check.scores["qa_f1"] is not None


@pytest.mark.slow
def test_generated_config_trains_with_spacy_in_a_fresh_interpreter(tmp_path):
    import subprocess
    import sys

    from nlp_tasks.testing import make_tiny_backbone

    data = tmp_path / "data"
    questions = [
        GOOD,
        record(id="q2", question="When?", answers={"text": ["1987"], "answer_start": [54]}),
    ]
    sentiment = [{"text": "I loved it.", "label": "pos"}, {"text": "Awful.", "label": "neg"}]
    ner = [{"text": "Marta Quell lives in Dunmore.", "entities": [[0, 11, "PER"]]}]
    for task, rows in (("qa", questions), ("sentiment", sentiment), ("ner", ner)):
        (data / task).mkdir(parents=True)
        for split in ("train", "dev"):
            lines = "".join(json.dumps(r) + "\n" for r in rows)
            (data / task / f"{split}.jsonl").write_text(lines, encoding="utf8")
    backbone = make_tiny_backbone(
        tmp_path / "bb", [CONTEXT, "I loved it.", "Awful."], special_tokens=True
    )
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1"}
    config = tmp_path / "config.cfg"
    init = [sys.executable, "-c", "from nlp_tasks.cli import main; main()", "init", "config"]
    options = ["--tasks", "sentiment,ner,qa", "--backbone", str(backbone), "--max-steps", "3"]
    result = subprocess.run(
        [*init, str(config), *options, "--eval-frequency", "3"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "train",
            str(config),
            "--output",
            str(tmp_path / "out"),
            "--paths.data",
            str(data),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert train.returncode == 0, train.stdout + train.stderr
    code = (
        "import sys, nlp_tasks\n"
        "nlp = nlp_tasks.load(sys.argv[1])\n"
        "print(nlp.pipe_names, nlp.get_pipe('qa').ask('Marta Quell lives here.', 'Who?'))\n"
    )
    load = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "out" / "model-last")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert load.returncode == 0, load.stderr
    assert "'qa'" in load.stdout
