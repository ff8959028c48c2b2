"""Similarity metrics, on the examples that have similarity gold only."""

import math
from collections.abc import Callable, Iterable
from typing import Any

from spacy.training import Example
from spacy.util import registry

from nlp_tasks import examples_with_gold

_NONE = {"similarity_spearman": None, "similarity_pearson": None}


def score_similarity(examples: Iterable[Example], **_: Any) -> dict[str, float | None]:
    """Spearman and Pearson correlation of predicted and gold similarities.

    Only examples whose reference has ``doc._.similarity_gold`` count, and of
    those only the ones the head scored; the correlations are 0-1 floats
    (not x100), as spaCy's other scores. With fewer than two scored pairs, or
    constant predictions or gold, a correlation is undefined: None.

    examples (Iterable[Example]): Predicted and gold docs.
    RETURNS (dict[str, float | None]): ``similarity_spearman`` and
        ``similarity_pearson``.
    """
    from scipy.stats import pearsonr, spearmanr

    pairs = [
        (eg.predicted._.similarity, eg.reference._.similarity_gold)
        for eg in examples_with_gold(examples, "similarity_gold")
    ]
    pairs = [(float(p), float(g)) for p, g in pairs if p is not None]
    predicted = [p for p, _ in pairs]
    gold = [g for _, g in pairs]
    if len(pairs) < 2 or len(set(predicted)) < 2 or len(set(gold)) < 2:
        return dict(_NONE)
    spearman = float(spearmanr(predicted, gold).statistic)
    pearson = float(pearsonr(predicted, gold).statistic)
    return {
        "similarity_spearman": spearman if math.isfinite(spearman) else None,
        "similarity_pearson": pearson if math.isfinite(pearson) else None,
    }


@registry.scorers("nlp_tasks_similarity.scorer.v1")
def make_similarity_scorer() -> Callable[..., dict[str, float | None]]:
    """Registered as ``nlp_tasks_similarity.scorer.v1``.

    RETURNS (Callable): The scorer function.
    """
    return score_similarity
