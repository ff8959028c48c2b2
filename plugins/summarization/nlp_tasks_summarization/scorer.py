"""ROUGE-1/2/L of predicted summaries, on the examples that have a reference summary."""

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from spacy.training import Example
from spacy.util import registry

from nlp_tasks import examples_with_gold

#: The ROUGE variants reported, as rouge-score names them. ROUGE-L is computed
#: on the summary as one sequence ("rougeL", not the sentence-split "rougeLsum").
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
PREFIX = "summarization_"


def rouge(target: str, prediction: str) -> dict[str, tuple[float, float, float]]:
    """ROUGE-1, ROUGE-2 and ROUGE-L of one prediction, with rouge-score's stemming tokenizer.

    target (str): The reference summary.
    prediction (str): The predicted summary.
    RETURNS (dict[str, tuple[float, float, float]]): Precision, recall and
        F-measure by ROUGE type, each between 0 and 1.
    """
    scores = _scorer().score(target, prediction)
    return {name: tuple(scores[name]) for name in ROUGE_TYPES}


def score_summarization(examples: Iterable[Example], **_: Any) -> dict[str, float | None]:
    """Average ROUGE over the examples whose reference doc has a summary.

    Examples of other tasks (no ``doc._.summary`` on the reference) are
    skipped; a predicted doc without a summary counts as an empty prediction.

    examples (Iterable[Example]): Predicted and reference docs.
    RETURNS (dict[str, float | None]): ``summarization_rouge1``,
        ``summarization_rouge2`` and ``summarization_rougeL`` (F-measures), each
        also with ``_p`` and ``_r`` (precision, recall), between 0 and 1; None
        when no example has a summary.
    """
    gold = examples_with_gold(examples, _summary_of)
    count = len(gold)
    totals = {name: [0.0, 0.0, 0.0] for name in ROUGE_TYPES}
    for eg in gold:
        prediction = _summary_of(eg.predicted) or ""
        for name, values in rouge(_summary_of(eg.reference), prediction).items():
            for i, value in enumerate(values):
                totals[name][i] += value
    result: dict[str, float | None] = {}
    for name in ROUGE_TYPES:
        p, r, f = (value / count if count else None for value in totals[name])
        result[f"{PREFIX}{name}"] = f
        result[f"{PREFIX}{name}_p"] = p
        result[f"{PREFIX}{name}_r"] = r
    return result


@registry.scorers("nlp_tasks_summarization.scorer.v1")
def make_summarization_scorer() -> Callable[..., dict[str, float | None]]:
    """Registered as ``nlp_tasks_summarization.scorer.v1``.

    RETURNS (Callable): The scoring function.
    """
    return score_summarization


def _summary_of(doc: Any) -> str | None:
    if not doc.has_extension("summary"):
        return None
    summary = doc._.summary
    return summary if isinstance(summary, str) and summary.strip() else None


@lru_cache(maxsize=1)
def _scorer() -> Any:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
