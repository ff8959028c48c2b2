"""Training labels of the extractive head: which sentences of a doc belong in its summary.

An extractive reference (its sentences are copied from the article, as in BBC
News) is matched sentence by sentence. An abstractive reference, which shares
no sentence with the doc, is labelled by a greedy ROUGE oracle instead.
"""

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends.

    text (str): The text.
    RETURNS (str): The normalized text.
    """
    return " ".join(text.split())


def sentence_labels(sentences: Sequence[str], summary: str) -> list[float]:
    """Label each sentence 1.0 if it belongs in the summary, else 0.0.

    A sentence is positive when its text occurs in the reference summary as a
    run of whole words (after whitespace normalization), so a sentence still
    matches when the reference was segmented differently around it. If no
    sentence matches, the reference is taken to be abstractive and the labels
    come from ``oracle_labels``.

    sentences (Sequence[str]): The doc's sentences, in order.
    summary (str): The reference summary.
    RETURNS (list[float]): One label per sentence.
    """
    target = f" {normalize_space(summary)} "
    labels = [
        1.0 if (norm := normalize_space(text)) and f" {norm} " in target else 0.0
        for text in sentences
    ]
    if any(labels) or not sentences:
        return labels
    return oracle_labels(sentences, summary)


def oracle_labels(sentences: Sequence[str], summary: str) -> list[float]:
    """Label sentences by greedy ROUGE: add the one that most raises ROUGE-1 + ROUGE-2 F.

    Sentences are added one at a time while some sentence still raises the sum
    of the ROUGE-1 and ROUGE-2 F-measures against the summary. Tokens come
    from rouge-score's tokenizer with Porter stemming, as in the scorer; the
    n-grams of the chosen sentences are counted sentence by sentence.

    sentences (Sequence[str]): The doc's sentences, in order.
    summary (str): The reference summary.
    RETURNS (list[float]): One label per sentence.
    """
    tokenize = _tokenizer().tokenize
    target = tokenize(summary)
    target_grams = (_ngrams(target, 1), _ngrams(target, 2))
    sentence_grams = [(_ngrams(t, 1), _ngrams(t, 2)) for t in map(tokenize, sentences)]
    chosen: set[int] = set()
    grams: tuple[Counter, Counter] = (Counter(), Counter())
    best = 0.0
    while True:
        candidate, candidate_score = -1, best
        for i, (unigrams, bigrams) in enumerate(sentence_grams):
            if i in chosen or not unigrams:
                continue
            score = _f(grams[0] + unigrams, target_grams[0])
            score += _f(grams[1] + bigrams, target_grams[1])
            if score > candidate_score:
                candidate, candidate_score = i, score
        if candidate < 0:
            break
        chosen.add(candidate)
        grams = (grams[0] + sentence_grams[candidate][0], grams[1] + sentence_grams[candidate][1])
        best = candidate_score
    return [1.0 if i in chosen else 0.0 for i in range(len(sentences))]


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from rouge_score.tokenizers import DefaultTokenizer

    return DefaultTokenizer(use_stemmer=True)


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _f(predicted: Counter, target: Counter) -> float:
    overlap = sum((predicted & target).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(predicted.values())
    recall = overlap / sum(target.values())
    return 2 * precision * recall / (precision + recall)
