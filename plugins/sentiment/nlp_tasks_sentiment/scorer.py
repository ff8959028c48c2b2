"""Sentiment metrics, on the examples that have a sentiment label only."""

from collections.abc import Callable, Iterable
from typing import Any

from spacy.scorer import Scorer
from spacy.training import Example
from spacy.util import registry

from nlp_tasks import examples_with_gold


def score_sentiment(examples: Iterable[Example], *, labels: Iterable[str], **_: Any) -> dict:
    """Accuracy and macro F1 over the examples annotated with a sentiment label.

    Unlike spaCy's textcat scorer, a doc without categories (an example of
    another task) is skipped rather than counted as wrong.

    examples (Iterable[Example]): Predicted and gold docs.
    labels (Iterable[str]): The classifier's labels.
    RETURNS (dict): ``sentiment_acc``, ``sentiment_macro_f``, ``sentiment_macro_auc``,
        ``sentiment_f_per_type``; None when no example has a label.
    """
    labels = list(labels)
    gold = examples_with_gold(examples, lambda doc: any(doc.cats.get(lb) for lb in labels))
    if not gold or not labels:
        return {
            "sentiment_acc": None,
            "sentiment_macro_f": None,
            "sentiment_macro_auc": None,
            "sentiment_f_per_type": None,
        }
    correct = 0
    for eg in gold:
        predicted = max(labels, key=lambda lb: eg.predicted.cats.get(lb, 0.0))
        expected = max(labels, key=lambda lb: eg.reference.cats.get(lb, 0.0))
        correct += predicted == expected
    cats = Scorer.score_cats(gold, "cats", labels=labels, multi_label=False)
    return {
        "sentiment_acc": correct / len(gold),
        "sentiment_macro_f": cats["cats_macro_f"],
        "sentiment_macro_auc": cats["cats_macro_auc"],
        "sentiment_f_per_type": cats["cats_f_per_type"],
    }


@registry.scorers("nlp_tasks_sentiment.scorer.v1")
def make_sentiment_scorer() -> Callable[..., dict]:
    """Registered as ``nlp_tasks_sentiment.scorer.v1``.

    RETURNS (Callable): The scorer function.
    """
    return score_sentiment
