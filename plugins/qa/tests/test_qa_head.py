"""The QA head on a tiny backbone: overfit, ask, long contexts, round trip. Public API only."""

import json

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import backbone_parameters, make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

BAKERY = "Marta Quell founded the Larkspur Bakery in Dunmore in 1987."
RIVER = "The river Obel flows north past the town of Harwick."
RECORDS = [
    {
        "id": "bakery-who",
        "context": BAKERY,
        "question": "Who founded the Larkspur Bakery?",
        "answers": {"text": ["Marta Quell"], "answer_start": [0]},
    },
    {
        "id": "bakery-when",
        "context": BAKERY,
        "question": "When was the bakery founded?",
        "answers": {"text": ["1987"], "answer_start": [54]},
    },
    {
        "id": "river-town",
        "context": RIVER,
        "question": "Which town does the river pass?",
        "answers": {"text": ["Harwick"], "answer_start": [44]},
    },
    {
        "id": "river-way",
        "context": RIVER,
        "question": "Which way does the river flow?",
        "answers": {"text": ["north"], "answer_start": [21]},
    },
]
FILLER = "Grey gulls circled the quiet harbour while the tide went out slowly. "
#: A context several windows long (max_length 48 below), the answer near its end.
LONG_CONTEXT = FILLER * 12 + BAKERY + " " + FILLER * 2
LONG_RECORD = {
    "id": "long-who",
    "context": LONG_CONTEXT,
    "question": "Who founded the Larkspur Bakery?",
    "answers": {"text": ["Marta Quell"], "answer_start": [LONG_CONTEXT.index("Marta")]},
}
TEXTS = [r["context"] + " " + r["question"] for r in RECORDS] + [FILLER]


def build(tmp_path, *, tasks=("qa",), mode="joint", **settings):
    backbone = make_tiny_backbone(
        tmp_path / "backbone", TEXTS + ["I loved it.", "Awful."], special_tokens=True
    )
    config = make_config(list(tasks), backbone=str(backbone))
    for task in tasks:
        config["corpora"]["train"]["sources"][task] = "unused"
        config["corpora"]["dev"]["sources"][task] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.003
    # The tiny backbone starts untrained: it learns at the heads' rate.
    config["components"]["transformer"]["model"]["learn_rate_scale"] = 1.0
    if mode == "cross":
        from nlp_tasks_qa.component import CROSS_MODEL_CONFIG
        from thinc.api import Config

        config["components"]["qa"]["model"] = Config().from_str(CROSS_MODEL_CONFIG)["model"]
    config["components"]["qa"].update(settings)
    return spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


def examples_of(nlp, records):
    task = get_task("qa")
    return [task.make_example(nlp, record) for record in records]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A joint-mode head overfit on four questions, with windows of 48 wordpieces."""
    nlp = build(tmp_path_factory.mktemp("joint"), max_length=48, stride=16, max_question_length=16)
    examples = examples_of(nlp, RECORDS + [LONG_RECORD])
    optimizer = nlp.initialize(lambda: examples)
    history = train_steps(nlp, optimizer, examples, steps=100, batch_size=5)
    return nlp, history


def test_loss_falls_and_the_head_overfits(trained):
    nlp, history = trained
    assert history[-1]["qa"] < history[0]["qa"] / 5
    qa = nlp.get_pipe("qa")
    for record in RECORDS:
        (answer,) = qa.ask(record["context"], record["question"])
        assert answer.text == record["answers"]["text"][0]


def test_answer_is_the_text_at_its_offsets_and_its_span(trained):
    nlp, _ = trained
    doc = nlp.make_doc(BAKERY)
    for answer in nlp.get_pipe("qa").ask(doc, "When was the bakery founded?", top_k=5):
        assert answer.text == doc.text[answer.start : answer.end] == answer.span.text
        assert answer.span.doc is doc
        assert (answer.span.start_char, answer.span.end_char) == (answer.start, answer.end)


def test_a_long_context_is_read_in_windows_and_a_late_answer_found(trained):
    nlp, _ = trained
    qa = nlp.get_pipe("qa")
    tokenizer = nlp.get_pipe("transformer").model.tokenizer
    assert len(tokenizer(LONG_CONTEXT)["input_ids"]) > 4 * qa.cfg["max_length"]
    (answer,) = qa.ask(LONG_CONTEXT, "Who founded the Larkspur Bakery?")
    assert answer.text == "Marta Quell"
    assert answer.start == LONG_CONTEXT.index("Marta Quell")


def test_top_k_is_ranked_and_the_threshold_gives_no_answer(trained):
    nlp, _ = trained
    qa = nlp.get_pipe("qa")
    answers = qa.ask(RIVER, "Which way does the river flow?", top_k=4)
    assert len(answers) == 4
    assert len({(a.start, a.end) for a in answers}) == 4
    scores = [a.score for a in answers]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    # The best score is below 1 (a product of two softmax probabilities), so a
    # threshold of 1 leaves no answer.
    assert scores[0] < 1.0
    assert qa.ask(RIVER, "Which way does the river flow?", threshold=1.0) == []
    doc = nlp.make_doc(RIVER)
    doc._.questions = ["Which way does the river flow?"]
    qa.cfg["threshold"] = 1.0
    try:
        doc = qa(doc)
    finally:
        qa.cfg["threshold"] = 0.0
    assert doc._.answers == [None]
    assert get_task("qa").to_json(doc)["answers"][0]["text"] is None


def test_batched_ask_equals_one_by_one(trained):
    nlp, _ = trained
    qa = nlp.get_pipe("qa")
    pairs = [(r["context"], r["question"]) for r in RECORDS] + [
        (LONG_CONTEXT, "Who founded the Larkspur Bakery?")
    ]
    batched = qa.ask_many(pairs, top_k=2)
    for (context, question), answers in zip(pairs, batched):
        alone = qa.ask(context, question, top_k=2)
        assert [(a.start, a.end) for a in answers] == [(a.start, a.end) for a in alone]
        assert [a.score for a in answers] == pytest.approx([a.score for a in alone], abs=1e-5)


def test_docs_without_questions_are_left_alone(trained):
    nlp, _ = trained
    doc = nlp(BAKERY)
    assert doc._.answers == [] and get_task("qa").to_json(doc) == {"answers": []}
    assert get_task("qa").to_json(nlp("")) == {"answers": []}


def test_questions_on_the_doc_are_answered_in_order(trained):
    nlp, _ = trained
    doc = nlp.make_doc(BAKERY)
    doc._.questions = ["When was the bakery founded?", "Who founded the Larkspur Bakery?"]
    doc = nlp(doc)
    assert [a.text for a in doc._.answers] == ["1987", "Marta Quell"]
    output = get_task("qa").to_json(doc)
    assert [a["question"] for a in output["answers"]] == doc._.questions
    assert output["answers"][1]["start"] == 0 and output["answers"][1]["text"] == "Marta Quell"
    assert json.loads(json.dumps(output)) == output


def test_process_records_answers_each_question(trained):
    from nlp_tasks.batch import process_records

    nlp, _ = trained
    records = [
        {"id": 1, "text": BAKERY, "questions": ["Who founded the Larkspur Bakery?", "When?"]},
        {"id": 2, "text": RIVER},
        {"id": 3, "text": RIVER, "questions": ["Which way does the river flow?"]},
    ]
    results = list(process_records(nlp, records))
    assert all(r.ok for r in results)
    # A text without questions is not QA's to answer: no "qa" key at all.
    assert "qa" not in results[1].output and "qa" in results[0].output
    answers = {i: [a["text"] for a in results[i].output["qa"]["answers"]] for i in (0, 2)}
    assert answers[0][0] == "Marta Quell" and len(answers[0]) == 2
    assert answers[2] == ["north"]
    assert [a["question"] for a in results[0].output["qa"]["answers"]] == records[0]["questions"]


def test_an_empty_question_is_a_clear_error(trained):
    nlp, _ = trained
    qa = nlp.get_pipe("qa")
    with pytest.raises(ValueError, match=r"\[QA010\]"):
        qa.ask(BAKERY, "  ")
    with pytest.raises(ValueError, match=r"\[QA010\]"):
        qa.ask(BAKERY, None)
    with pytest.raises(TypeError, match=r"\[QA011\]"):
        qa.ask(42, "Who?")
    with pytest.raises(TypeError, match=r"\[QA015\] Item 1 .*'abc'"):
        qa.ask_many([(BAKERY, "Who?"), "abc"])


def test_a_question_longer_than_allowed_is_truncated_with_a_warning(trained):
    nlp, _ = trained
    qa = nlp.get_pipe("qa")
    question = "Who founded the Larkspur Bakery " + "in the town of Dunmore " * 30 + "?"
    with pytest.warns(UserWarning, match=r"\[QA101\] 1 question"):
        answers = qa.ask(BAKERY, question)
    assert len(answers) == 1


@pytest.mark.slow
def test_round_trip_in_a_fresh_interpreter_gives_the_same_answers(trained, tmp_path):
    import subprocess
    import sys

    nlp, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    qa = nlp.get_pipe("qa")
    pairs = [(r["context"], r["question"]) for r in RECORDS]
    expected = [[a.to_dict() for a in found] for found in qa.ask_many(pairs, top_k=2)]
    code = (
        "import json, sys, nlp_tasks, spacy\n"
        "pairs = json.loads(sys.argv[2])\n"
        "for nlp in (nlp_tasks.load(sys.argv[1]), spacy.load(sys.argv[1])):\n"
        "    found = nlp.get_pipe('qa').ask_many([tuple(p) for p in pairs], top_k=2)\n"
        "    print(json.dumps([[a.to_dict() for a in f] for f in found]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pipeline"), json.dumps(pairs)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    for line in result.stdout.strip().splitlines():
        loaded = json.loads(line)
        for got, want in zip(loaded, expected):
            assert [(a["text"], a["start"], a["end"]) for a in got] == [
                (a["text"], a["start"], a["end"]) for a in want
            ]
            assert [a["score"] for a in got] == pytest.approx([a["score"] for a in want], abs=1e-5)


def test_settings_of_the_config_win_over_the_saved_ones(trained, tmp_path):
    import nlp_tasks

    nlp, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    question = "Which way does the river flow?"
    assert nlp_tasks.load(tmp_path / "pipeline").get_pipe("qa").ask(RIVER, question)
    overrides = {"components": {"qa": {"threshold": 1.0, "handle_impossible_answer": True}}}
    loaded = nlp_tasks.load(tmp_path / "pipeline", config=overrides)
    qa = loaded.get_pipe("qa")
    assert qa.cfg["threshold"] == 1.0 and qa.cfg["handle_impossible_answer"] is True
    assert qa.ask(RIVER, question) == []
    again = type(qa)(loaded, qa.model, name="qa", threshold=0.5).from_bytes(qa.to_bytes())
    assert again.cfg["threshold"] == 0.5


def test_evaluate_reports_squad_metrics(trained):
    nlp, _ = trained
    scores = nlp.evaluate(examples_of(nlp, RECORDS))
    assert scores["qa_exact"] == 1.0 and scores["qa_f1"] == 1.0


#: Questions the contexts do not answer (SQuAD v2.0 style: empty answers).
IMPOSSIBLE = [
    {
        "id": "bakery-river",
        "context": BAKERY,
        "question": "Which way does the river flow?",
        "answers": {"text": [], "answer_start": []},
    },
    {
        "id": "river-founder",
        "context": RIVER,
        "question": "Who founded the Larkspur Bakery?",
        "answers": {"text": [], "answer_start": []},
    },
]


def test_a_head_trained_on_no_answer_questions_learns_to_abstain(tmp_path):
    nlp = build(tmp_path, handle_impossible_answer=True)
    examples = examples_of(nlp, RECORDS + IMPOSSIBLE)
    optimizer = nlp.initialize(lambda: examples)
    history = train_steps(nlp, optimizer, examples, steps=100, batch_size=6)
    assert history[-1]["qa"] < history[0]["qa"] / 5
    qa = nlp.get_pipe("qa")
    asked = [(r["context"], r["question"]) for r in RECORDS + IMPOSSIBLE]
    found = [[a.text for a in answers] for answers in qa.ask_many(asked)]
    assert found == [r["answers"]["text"] for r in RECORDS + IMPOSSIBLE]
    scores = nlp.evaluate(examples_of(nlp, RECORDS + IMPOSSIBLE))
    assert scores["qa_f1"] == scores["qa_no_answer_exact"] == scores["qa_has_answer_f1"] == 1.0
    # The setting decides: without it the best span is given, however unlikely.
    qa.cfg["handle_impossible_answer"] = False
    assert all(qa.ask_many(asked[len(RECORDS) :]))


def test_the_cross_mode_learns_from_answerable_questions_only(tmp_path):
    nlp = build(tmp_path, mode="cross")
    examples = examples_of(nlp, RECORDS + IMPOSSIBLE)
    optimizer = nlp.initialize(lambda: examples)
    losses = nlp.update(examples_of(nlp, IMPOSSIBLE), sgd=optimizer)
    assert losses["qa"] == 0.0
    history = train_steps(nlp, optimizer, examples, steps=3, batch_size=6)
    assert all(step["qa"] > 0 for step in history)


def test_cross_attention_mode_trains_and_round_trips(tmp_path):
    nlp = build(tmp_path, mode="cross")
    examples = examples_of(nlp, RECORDS)
    optimizer = nlp.initialize(lambda: examples)
    before = backbone_parameters(nlp)
    history = train_steps(nlp, optimizer, examples, steps=25, batch_size=4)
    assert history[-1]["qa"] < history[0]["qa"] / 5
    after = backbone_parameters(nlp)
    assert any(not (before[k] == after[k]).all() for k in before)
    qa = nlp.get_pipe("qa")
    assert qa.mode == "cross"
    pairs = [(r["context"], r["question"]) for r in RECORDS]
    found = [a[0].text for a in qa.ask_many(pairs)]
    assert found == [r["answers"]["text"][0] for r in RECORDS]
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [a[0].text for a in loaded.get_pipe("qa").ask_many(pairs)] == found


def test_training_with_sentiment_moves_the_backbone_and_both_losses_fall(tmp_path):
    from spacy.training import Example

    nlp = build(tmp_path, tasks=("sentiment", "qa"))
    sentiment = [
        Example.from_dict(nlp.make_doc(text), {"cats": {label: 1.0}})
        for text, label in [("I loved it.", "positive"), ("Awful.", "negative")]
    ]
    examples = []
    for qa_example, sentiment_example in zip(examples_of(nlp, RECORDS), sentiment * 2):
        examples += [qa_example, sentiment_example]
    optimizer = nlp.initialize(lambda: examples)
    before = backbone_parameters(nlp)
    history = train_steps(nlp, optimizer, examples, steps=25, batch_size=4)
    for head in ("sentiment", "qa"):
        first = sum(h[head] for h in history[:3])
        last = sum(h[head] for h in history[-3:])
        assert last < first / 2, (head, first, last)
    after = backbone_parameters(nlp)
    assert any(not (before[k] == after[k]).all() for k in before)
    qa_only = [eg for eg in examples if eg.reference._.qa_gold]
    before = backbone_parameters(nlp)
    train_steps(nlp, optimizer, qa_only, steps=1, batch_size=4)
    after = backbone_parameters(nlp)
    assert any(not (before[k] == after[k]).all() for k in before), "QA alone moves it too"


def test_task_is_registered_by_the_plugin():
    task = get_task("qa")
    assert task.factory == "nlp_tasks_qa"
    assert task.supports_api()


def test_predict_takes_records_with_questions(trained):
    import nlp_tasks

    nlp, _ = trained
    records = [{"text": RIVER, "questions": ["Which way does the river flow?"]}, BAKERY]
    output = nlp_tasks.predict(nlp, records)
    assert output[0]["questions"] == ["Which way does the river flow?"]
    assert output[0]["qa"]["answers"][0]["text"] == "north"
    assert "qa" not in output[1] and "questions" not in output[1]
