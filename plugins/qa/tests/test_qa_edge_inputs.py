"""Blank contexts, bad ask() arguments and doc._.questions: QA's edges. Public API only."""

import math

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone
from nlp_tasks.training.config import make_config

BAKERY = "Marta Quell founded the Larkspur Bakery in Dunmore in 1987."
RIVER = "The river Obel flows north past the town of Harwick."
QUESTION = "Who founded the Larkspur Bakery?"
BLANK = ["", " ", "   ", "\n\t ", " \n"]
NO_ANSWER = {"text": None, "start": None, "end": None, "score": None}


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    """An initialized (untrained) joint-mode QA pipeline: scores are arbitrary but fixed."""
    texts = [BAKERY, RIVER, QUESTION, "Which way does the river flow?"]
    backbone = make_tiny_backbone(tmp_path_factory.mktemp("bb"), texts, special_tokens=True)
    config = make_config(["qa"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["qa"] = "unused"
    config["corpora"]["dev"]["sources"]["qa"] = "unused"
    config["components"]["qa"].update({"max_length": 48, "stride": 16, "max_question_length": 16})
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    record = {
        "id": "a",
        "context": BAKERY,
        "question": QUESTION,
        "answers": {"text": ["Marta Quell"], "answer_start": [0]},
    }
    examples = [get_task("qa").make_example(nlp, record)]
    nlp.initialize(lambda: examples)
    return nlp


@pytest.mark.parametrize("text", BLANK)
def test_a_blank_context_has_no_answer(nlp, text):
    qa = nlp.get_pipe("qa")
    assert qa.ask(text, QUESTION, top_k=3) == []
    assert qa.ask(nlp.make_doc(text), QUESTION) == []
    doc = nlp.make_doc(text)
    doc._.questions = [QUESTION, "Where?"]
    doc = nlp(doc)
    assert doc._.answers == [None, None]
    assert get_task("qa").to_json(doc) == {
        "answers": [{"question": QUESTION, **NO_ANSWER}, {"question": "Where?", **NO_ANSWER}]
    }


def test_blank_contexts_are_not_read(nlp, monkeypatch):
    qa = nlp.get_pipe("qa")

    def fail(*args, **kwargs):
        raise AssertionError("the model ran on a blank context")

    monkeypatch.setattr(qa, "_score_spans", fail)
    assert qa.ask_many([("", QUESTION), ("  ", QUESTION)], top_k=2) == [[], []]


def test_blank_contexts_in_a_batch_do_not_shift_the_others(nlp):
    qa = nlp.get_pipe("qa")
    pairs = [(BAKERY, QUESTION), ("", QUESTION), (RIVER, "Which way?"), ("  ", "Where?")]
    batched = qa.ask_many(pairs, top_k=2)
    assert batched[1] == batched[3] == []
    for i in (0, 2):
        alone = qa.ask(*pairs[i], top_k=2)
        assert [(a.start, a.end) for a in batched[i]] == [(a.start, a.end) for a in alone]
        assert [a.score for a in batched[i]] == pytest.approx([a.score for a in alone], abs=1e-5)
    docs = [nlp.make_doc(text) for text in (BAKERY, "", RIVER, "   ")]
    for doc in docs:
        doc._.questions = [QUESTION]
    outputs = [get_task("qa").to_json(doc) for doc in nlp.pipe(docs)]
    assert outputs[1]["answers"] == outputs[3]["answers"] == [{"question": QUESTION, **NO_ANSWER}]
    doc = nlp.make_doc(BAKERY)
    doc._.questions = [QUESTION]
    alone = get_task("qa").to_json(nlp(doc))
    assert outputs[0]["answers"][0]["start"] == alone["answers"][0]["start"]
    assert outputs[0]["answers"][0]["score"] == pytest.approx(alone["answers"][0]["score"])


@pytest.mark.parametrize("top_k", [-1, 0, 2.5, True, "2", None, math.nan])
def test_a_bad_top_k_is_a_coded_error(nlp, top_k):
    qa = nlp.get_pipe("qa")
    with pytest.raises(ValueError, match=r"\[QA012\] top_k must be an integer >= 1"):
        qa.ask(BAKERY, QUESTION, top_k=top_k)
    with pytest.raises(ValueError, match=r"\[QA012\]"):
        qa.ask_many([(BAKERY, QUESTION)], top_k=top_k)


@pytest.mark.parametrize("threshold", [1.5, -0.1, math.nan, math.inf, "0.5", True])
def test_a_bad_threshold_is_a_coded_error(nlp, threshold):
    qa = nlp.get_pipe("qa")
    with pytest.raises(ValueError, match=r"\[QA013\] threshold must be a number from 0 to 1"):
        qa.ask(BAKERY, QUESTION, threshold=threshold)
    with pytest.raises(ValueError, match=r"\[QA013\]"):
        qa.ask_many([(BAKERY, QUESTION)], threshold=threshold)


def test_good_top_k_and_threshold_values_are_taken(nlp):
    import numpy

    qa = nlp.get_pipe("qa")
    assert len(qa.ask(BAKERY, QUESTION, top_k=numpy.int64(2))) == 2
    assert qa.ask(BAKERY, QUESTION, threshold=1) == []
    assert len(qa.ask(BAKERY, QUESTION, threshold=numpy.float32(0.0))) == 1


def test_a_bad_threshold_setting_is_refused_when_the_pipeline_is_built(tmp_path):
    config = make_config(["qa"], backbone="unused")
    config["components"]["qa"]["threshold"] = 1.5
    with pytest.raises(ValueError, match=r"\[QA013\] \[components.qa\] threshold"):
        spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


def test_one_string_on_doc_questions_is_one_question(nlp):
    doc = nlp.make_doc(BAKERY)
    doc._.questions = QUESTION
    doc = nlp(doc)
    (answer,) = doc._.answers
    assert answer is not None and answer.question == QUESTION
    (output,) = get_task("qa").to_json(doc)["answers"]
    assert output["question"] == QUESTION and output["text"] == answer.text
    expected = nlp.get_pipe("qa").ask(BAKERY, QUESTION)[0]
    assert (answer.start, answer.end) == (expected.start, expected.end)


@pytest.mark.parametrize("value", [42, {"q": QUESTION}, [QUESTION, 3], b"Who?"])
def test_questions_that_are_not_strings_are_a_coded_error(nlp, value):
    doc = nlp.make_doc(BAKERY)
    doc._.questions = value
    with pytest.raises(ValueError, match=r"\[QA014\] doc._.questions must be a list of strings"):
        nlp(doc)


@pytest.mark.parametrize("question", ["", "  ", "\n", "Who is \ud800?"])
def test_an_empty_question_is_a_coded_error_everywhere(nlp, question):
    qa = nlp.get_pipe("qa")
    with pytest.raises(ValueError, match=r"\[QA010\]"):
        qa.ask(BAKERY, question)
    with pytest.raises(ValueError, match=r"\[QA010\]"):
        qa.ask("", question)
    doc = nlp.make_doc(BAKERY)
    doc._.questions = [QUESTION, question]
    with pytest.raises(ValueError, match=r"\[QA010\]"):
        nlp(doc)
