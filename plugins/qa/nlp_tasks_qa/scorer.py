"""SQuAD v1.1 exact match and F1, on the examples that have QA gold only."""

import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from nlp_tasks import examples_with_gold

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Normalise an answer as the SQuAD v1.1 evaluation does.

    Lowercase, drop ASCII punctuation, drop the articles a/an/the, and collapse
    whitespace, in that order.

    text (str): An answer.
    RETURNS (str): The normalised answer.
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if the normalised answers are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of two answers after normalisation (bag of words).

    Where either side is empty ("no answer"), 1.0 if both are, else 0.0, as
    the SQuAD v2.0 evaluation scores it.
    """
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def gold_answers(texts: Sequence[str]) -> list[str]:
    """A question's gold answers as the official SQuAD v2.0 script scores them.

    A gold answer that normalizes to nothing ("The") is dropped; with none left,
    the question has no answer, and only an empty prediction matches it.

    texts (Sequence[str]): The gold answer texts.
    RETURNS (list[str]): The answers to score against; ``[""]`` for none.
    """
    return [text for text in texts if normalize_answer(text)] or [""]


def squad_scores(predictions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean exact match and F1, each the best over an example's gold answers.

    predictions (Sequence[str]): One predicted answer per question ("" for none).
    golds (Sequence[Sequence[str]]): The gold answers of each question.
    RETURNS (dict[str, float]): ``exact`` and ``f1``, between 0 and 1.
    """
    if not predictions:
        return {"exact": 0.0, "f1": 0.0}
    exact = f1 = 0.0
    for prediction, answers in zip(predictions, golds):
        answers = gold_answers(answers)
        exact += max(exact_match(prediction, gold) for gold in answers)
        f1 += max(f1_score(prediction, gold) for gold in answers)
    return {"exact": exact / len(predictions), "f1": f1 / len(predictions)}


def score_qa(examples: Iterable[Example], **_: Any) -> dict[str, float | None]:
    """SQuAD exact match and F1 of the examples with QA gold.

    An example's prediction is the answer to its question
    (``predicted._.answers[0]``); no answer counts as the empty string, which
    is right for a question without gold answers (SQuAD v2.0). Examples of
    other tasks are skipped.

    examples (Iterable[Example]): Predicted and gold docs.
    RETURNS (dict[str, float | None]): ``qa_exact`` and ``qa_f1`` over all
        questions, ``qa_has_answer_f1`` over those with gold answers and
        ``qa_no_answer_exact`` (the share left unanswered) over those without,
        each from 0 to 1; None where no question is of that kind.
    """
    predictions, golds = [], []
    for eg in examples_with_gold(examples, _gold_of):
        gold = eg.reference._.qa_gold
        outputs = eg.predicted._.qa_output or []
        best = outputs[0] if outputs else None
        predictions.append(best["text"] if best else "")
        golds.append(gold_answers([text for text, _ in gold["answers"]]))
    if not predictions:
        return dict.fromkeys(("qa_exact", "qa_f1", "qa_has_answer_f1", "qa_no_answer_exact"))
    scores = squad_scores(predictions, golds)
    has = [i for i, answers in enumerate(golds) if answers != [""]]
    has_not = [i for i, answers in enumerate(golds) if answers == [""]]
    subset = {
        "qa_has_answer_f1": (has, "f1"),
        "qa_no_answer_exact": (has_not, "exact"),
    }
    breakdown: dict[str, float | None] = {}
    for key, (rows, metric) in subset.items():
        breakdown[key] = (
            squad_scores([predictions[i] for i in rows], [golds[i] for i in rows])[metric]
            if rows
            else None
        )
    return {"qa_exact": scores["exact"], "qa_f1": scores["f1"], **breakdown}


def _gold_of(doc: Doc) -> dict[str, Any] | None:
    return doc._.qa_gold if doc.has_extension("qa_gold") else None


@registry.scorers("nlp_tasks_qa.scorer.v1")
def make_qa_scorer() -> Callable[..., dict]:
    """Registered as ``nlp_tasks_qa.scorer.v1``.

    RETURNS (Callable): The scorer function.
    """
    return score_qa
