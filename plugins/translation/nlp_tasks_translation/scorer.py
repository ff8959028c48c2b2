"""Translation metrics: corpus BLEU and chrF with sacreBLEU, on detokenized cased text."""

from collections.abc import Callable, Iterable
from typing import Any

from spacy.training import Example
from spacy.util import registry

from nlp_tasks import examples_with_gold


def score_translation(examples: Iterable[Example], **_: Any) -> dict[str, float | None]:
    """Corpus BLEU and chrF over the examples that have a reference translation.

    sacreBLEU's defaults: BLEU with its 13a tokenizer on cased, detokenized text,
    and chrF (character 6-grams, beta 2). Scores are on a 0-1 scale like
    spaCy's other scores (sacreBLEU prints 0-100).

    examples (Iterable[Example]): Predicted and gold docs.
    RETURNS (dict[str, float | None]): ``translation_bleu`` and ``translation_chrf``,
        None when no example has a reference.
    """
    import sacrebleu

    pairs = [
        (eg.predicted._.translation or "", eg.reference._.translation)
        for eg in examples_with_gold(examples, "translation")
    ]
    if not pairs:
        return {"translation_bleu": None, "translation_chrf": None}
    hypotheses = [hypothesis for hypothesis, _ in pairs]
    references = [[reference for _, reference in pairs]]
    return {
        "translation_bleu": sacrebleu.corpus_bleu(hypotheses, references).score / 100,
        "translation_chrf": sacrebleu.corpus_chrf(hypotheses, references).score / 100,
    }


@registry.scorers("nlp_tasks_translation.scorer.v1")
def make_translation_scorer() -> Callable[..., dict]:
    """Registered as ``nlp_tasks_translation.scorer.v1``.

    RETURNS (Callable): The scorer function.
    """
    return score_translation
