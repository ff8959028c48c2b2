"""Records, sentences, labels, length controls and the ROUGE scorer: no model needed."""

import pytest
import spacy
from nlp_tasks_summarization.labels import oracle_labels, sentence_labels
from nlp_tasks_summarization.scorer import score_summarization
from nlp_tasks_summarization.sentences import (
    count_tokens,
    create_rule_sentences,
    select_sentences,
    token_budget,
)
from spacy.training import Example

from nlp_tasks import RecordError
from nlp_tasks.registry import get_task
from nlp_tasks.training.corpus import DataError, MultiTaskCorpus


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def sentences_of(nlp, text):
    doc = nlp.make_doc(text)
    return [doc[s:e].text for s, e in create_rule_sentences()(doc)]


# Records


def test_a_record_becomes_an_example_with_the_summary_on_the_reference(nlp):
    record = {"id": 7, "title": "T", "text": "One. Two.", "summary": "One."}
    example = get_task("summarization").make_example(nlp, record)
    assert example.reference.text == example.predicted.text == "One. Two."
    assert example.reference._.summary == "One."
    assert example.predicted._.summary is None


@pytest.mark.parametrize(
    "record, message",
    [
        ({"summary": "S."}, "'text' must be a string, got NoneType"),
        ({"text": 3, "summary": "S."}, "'text' must be a string, got int"),
        ({"text": "  ", "summary": "S."}, "'text' is empty"),
        ({"text": "T."}, "no 'summary' field"),
        ({"text": "T.", "summary": ["S."]}, "'summary' must be a string, got list"),
        ({"text": "T.", "summary": ""}, "'summary' is empty"),
    ],
)
def test_bad_records_are_refused_with_a_clear_message(nlp, record, message):
    with pytest.raises(RecordError, match=message):
        get_task("summarization").make_example(nlp, record)


def test_bad_record_errors_name_file_and_line(nlp, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "A.", "summary": "A."}\n{"text": "B.", "summary": 5}\n')
    corpus = MultiTaskCorpus({"summarization": path})
    with pytest.raises(DataError, match=r"\[E029\] .*train.jsonl, line 2: 'summary' must be"):
        list(corpus(nlp))


# Sentences


def test_rule_sentences_repair_quotes_and_trim_whitespace(nlp):
    text = 'Talks failed on Monday. "We will strike," he said.\n\nThe vote is on Friday.  '
    assert sentences_of(nlp, text) == [
        "Talks failed on Monday.",
        '"We will strike," he said.',
        "The vote is on Friday.",
    ]
    assert sentences_of(nlp, 'He said: "Go home." Then he left.') == [
        'He said: "Go home."',
        "Then he left.",
    ]
    assert sentences_of(nlp, "") == []
    assert sentences_of(nlp, " \n ") == []
    assert sentences_of(nlp, "No full stop") == ["No full stop"]


def test_existing_sentence_boundaries_are_kept(nlp):
    doc = nlp.make_doc("One two three four")
    for i, token in enumerate(doc):
        token.is_sent_start = i in (0, 2)
    assert create_rule_sentences()(doc).tolist() == [[0, 2], [2, 4]]


def test_custom_punctuation(nlp):
    doc = nlp.make_doc("First part ; second part ; third")
    assert len(create_rule_sentences(punct_chars=[";"])(doc)) == 3


# Length controls


def test_token_budget():
    assert token_budget(100) == 0
    assert token_budget(100, ratio=0.45) == 45
    assert token_budget(100, max_tokens=30, ratio=0.45) == 30
    assert token_budget(100, max_tokens=60, ratio=0.45) == 45
    assert token_budget(3, ratio=0.1) == 1


def test_select_sentences_takes_the_best_in_document_order():
    scores = [0.1, 0.9, 0.5, 0.8]
    lengths = [10, 10, 10, 10]
    assert select_sentences(scores, lengths) == [0, 1, 2, 3]
    assert select_sentences(scores, lengths, max_sentences=2) == [1, 3]
    assert select_sentences(scores, lengths, budget=25) == [1, 3]
    assert select_sentences(scores, lengths, threshold=0.6) == [1, 3]
    # The selection stops at the first sentence that does not fit.
    assert select_sentences([0.9, 0.8, 0.7], [10, 30, 5], budget=20) == [0]
    # The best sentence is always taken, whatever the limits.
    assert select_sentences(scores, lengths, budget=3, threshold=0.95) == [1]
    assert select_sentences([], []) == []


def test_lead_is_selection_by_position(nlp):
    doc = nlp.make_doc("Sun shone all day. Birds sang all day. Rain fell at night. We slept.")
    bounds = create_rule_sentences()(doc)
    lengths = [count_tokens(doc, s, e) for s, e in bounds]
    position = [-float(i) for i in range(len(bounds))]
    budget = token_budget(count_tokens(doc), ratio=0.5)
    assert lengths == [5, 5, 5, 3]
    assert budget == 9
    assert select_sentences(position, lengths, budget=budget) == [0]
    assert select_sentences(position, lengths, budget=10) == [0, 1]
    assert count_tokens(nlp.make_doc("a  \n b")) == 2


# Labels


def test_sentences_found_in_the_reference_are_positive():
    sentences = ["The bridge opens today.", "It cost a lot.", "Locals are happy."]
    summary = "The bridge  opens today.\nLocals are happy."
    assert sentence_labels(sentences, summary) == [1.0, 0.0, 1.0]
    # A sentence is matched on whole words only.
    assert sentence_labels(["cost a lot."], "It cost a lot.") == [1.0]
    both = ["The bridge opens today.", "ridge opens today."]
    assert sentence_labels(both, "The bridge opens today.") == [1.0, 0.0]


def test_an_abstractive_reference_is_labelled_by_the_rouge_oracle():
    from rouge_score.rouge_scorer import RougeScorer

    sentences = [
        "The weather was mild on Sunday.",
        "The city council voted to close the central library next year.",
        "Protesters gathered outside the town hall after the vote.",
        "A football match ended in a draw.",
    ]
    summary = "Council votes to close library; protests follow at town hall."
    labels = sentence_labels(sentences, summary)
    assert labels == oracle_labels(sentences, summary)
    assert labels[1] == 1.0 and labels[3] == 0.0
    # Greedy: the chosen set scores at least as well as any single sentence.
    scorer = RougeScorer(["rouge1", "rouge2"], use_stemmer=True)

    def gain(text):
        scores = scorer.score(summary, text)
        return scores["rouge1"].fmeasure + scores["rouge2"].fmeasure

    chosen = " ".join(s for s, label in zip(sentences, labels) if label)
    assert all(gain(chosen) >= gain(s) - 1e-9 for s in sentences)
    assert oracle_labels([], summary) == []


# Scorer


def test_scorer_matches_rouge_score_and_skips_other_tasks(nlp):
    from rouge_score.rouge_scorer import RougeScorer

    pairs = [
        ("The cat sat on the mat. It was happy.", "The cat was sitting on a mat."),
        ("Prices rose sharply in May.", "Prices rose in May, sharply."),
    ]
    examples = []
    for reference, prediction in pairs:
        predicted, gold = nlp.make_doc("text"), nlp.make_doc("text")
        gold._.summary, predicted._.summary = reference, prediction
        examples.append(Example(predicted, gold))
    other = nlp.make_doc("A sentiment example.")
    examples.append(Example(other, nlp.make_doc("A sentiment example.")))
    scores = score_summarization(examples)
    rouge = RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = [rouge.score(reference, prediction) for reference, prediction in pairs]
    for name in ("rouge1", "rouge2", "rougeL"):
        for suffix, field in (("", "fmeasure"), ("_p", "precision"), ("_r", "recall")):
            want = sum(getattr(e[name], field) for e in expected) / 2
            assert scores[f"summarization_{name}{suffix}"] == pytest.approx(want)


def test_scorer_without_summaries_gives_none(nlp):
    doc = nlp.make_doc("Nothing to summarize.")
    scores = score_summarization([Example(doc, doc.copy())])
    assert scores["summarization_rouge1"] is None and scores["summarization_rougeL_r"] is None


def test_a_missing_prediction_scores_zero(nlp):
    predicted, gold = nlp.make_doc("text"), nlp.make_doc("text")
    gold._.summary = "Something happened."
    scores = score_summarization([Example(predicted, gold)])
    assert scores["summarization_rouge1"] == 0.0
