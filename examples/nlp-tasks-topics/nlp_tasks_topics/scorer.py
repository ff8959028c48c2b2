"""Topic metrics: micro and macro P/R/F over the examples tagged for this task."""

from collections.abc import Callable, Iterable
from typing import Any

from spacy.scorer import PRFScore
from spacy.training import Example
from spacy.util import registry

from nlp_tasks import examples_with_gold


def score_topics(examples: Iterable[Example], **_: Any) -> dict[str, Any]:
    """Micro-averaged P/R/F, macro F and per-topic F of the predicted topic sets.

    Examples of other tasks (``doc._.topics`` None on the reference) are skipped.

    examples (Iterable[Example]): Predicted and reference docs.
    RETURNS (dict[str, Any]): ``topics_micro_p``, ``topics_micro_r``,
        ``topics_micro_f``, ``topics_macro_f``, ``topics_f_per_type``; None
        when no example is tagged.
    """
    gold = examples_with_gold(examples, "topics")
    keys = ("micro_p", "micro_r", "micro_f", "macro_f", "f_per_type")
    if not gold:
        return {f"topics_{key}": None for key in keys}
    micro = PRFScore()
    per_type: dict[str, PRFScore] = {}
    for eg in gold:
        predicted = set(eg.predicted._.topics or [])
        expected = set(eg.reference._.topics)
        micro.score_set(predicted, expected)
        for topic in predicted | expected:
            per_type.setdefault(topic, PRFScore()).score_set(
                predicted & {topic}, expected & {topic}
            )
    macro_f = sum(score.fscore for score in per_type.values()) / max(1, len(per_type))
    return {
        "topics_micro_p": micro.precision,
        "topics_micro_r": micro.recall,
        "topics_micro_f": micro.fscore,
        "topics_macro_f": macro_f,
        "topics_f_per_type": {topic: score.to_dict() for topic, score in per_type.items()},
    }


@registry.scorers("nlp_tasks_topics.scorer.v1")
def make_topics_scorer() -> Callable[..., dict[str, Any]]:
    """Registered as ``nlp_tasks_topics.scorer.v1``.

    RETURNS (Callable): The scoring function.
    """
    return score_topics
