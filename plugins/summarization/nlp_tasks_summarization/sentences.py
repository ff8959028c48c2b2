"""Sentences: how a doc is cut into the units the extractive head scores and selects.

One function decides the segmentation, and the model (for scoring), the labels
(for training) and the selection (for the summary) all use it, so training and
prediction always see the same sentences. The same module holds the length
controls, so the benchmark's Lead baselines are cut by exactly the rule the
component applies.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from math import floor
from typing import Any

import numpy
from spacy.tokens import Doc
from spacy.util import registry

#: Token offsets ``[start, end)`` of each sentence of one doc, shape (n, 2), int32.
SentenceBounds = numpy.ndarray


@registry.misc("nlp_tasks_summarization.RuleSentences.v1")
def create_rule_sentences(
    punct_chars: list[str] | None = None,
) -> Callable[[Doc], SentenceBounds]:
    """Create the sentence getter (registered as ``nlp_tasks_summarization.RuleSentences.v1``).

    A doc whose sentence boundaries are already set (by a parser, a senter or
    a sentencizer earlier in the pipeline) keeps them. Otherwise spaCy's
    rule-based ``Sentencizer`` segments it, without writing anything to the
    doc, so the summarizer needs no parser in the pipeline. Two repairs make
    the rule-based sentences match how people write them: an opening quote
    after a full stop (``... a strike. "We will``) starts the next sentence
    instead of ending this one, and whitespace at either edge of a sentence
    (paragraph breaks) is left out. Sentences of only whitespace are dropped.

    punct_chars (list[str] | None): Characters that end a sentence; None for
        the Sentencizer's default set.
    RETURNS (Callable[[Doc], SentenceBounds]): The getter.
    """
    from spacy.pipeline import Sentencizer

    # A partial of a module-level function, not a closure: the pipeline must
    # pickle (``nlp.pipe(n_process=...)`` with the spawn start method).
    return functools.partial(_get_sentences, Sentencizer(punct_chars=punct_chars))


def _get_sentences(sentencizer: Any, doc: Doc) -> SentenceBounds:
    if len(doc) == 0:
        return numpy.zeros((0, 2), dtype="int32")
    if doc.has_annotation("SENT_START"):
        starts = [sent.start for sent in doc.sents]
    else:
        starts = _rule_starts(doc, sentencizer.predict([doc])[0])
    return trim_bounds(doc, starts)


def _rule_starts(doc: Doc, flags: Sequence[bool]) -> list[int]:
    flags = list(flags)
    for i in range(2, len(doc)):
        if not flags[i]:
            continue
        j = i
        # A quote glued to the next word and spaced from the previous one opens
        # a sentence; the Sentencizer attaches any punctuation after a full
        # stop to the sentence it ends.
        while (
            j >= 2
            and not flags[j - 1]
            and doc[j - 1].is_left_punct
            and not doc[j - 1].whitespace_
            and (doc[j - 2].whitespace_ or doc[j - 2].is_space)
            and doc[j - 2].is_punct
        ):
            j -= 1
        if j != i:
            flags[i] = False
            flags[j] = True
    return [i for i, flag in enumerate(flags) if flag]


def trim_bounds(doc: Doc, starts: Iterable[int]) -> SentenceBounds:
    """Sentence bounds from sentence starts, without whitespace tokens at the edges.

    doc (Doc): The doc.
    starts (Iterable[int]): Token index of each sentence start, ascending, from 0.
    RETURNS (SentenceBounds): ``[start, end)`` of each non-blank sentence.
    """
    starts = list(starts)
    bounds = []
    for start, end in zip(starts, starts[1:] + [len(doc)]):
        while start < end and doc[start].is_space:
            start += 1
        while end > start and doc[end - 1].is_space:
            end -= 1
        if end > start:
            bounds.append((start, end))
    return numpy.asarray(bounds, dtype="int32").reshape(-1, 2)


def count_tokens(doc: Doc, start: int = 0, end: int | None = None) -> int:
    """The length of a stretch of a doc, in non-whitespace tokens.

    The unit of ``max_tokens`` and ``ratio``, and of the Lead baselines'
    budgets, so every system is cut to the same length.

    doc (Doc): The doc.
    start (int): First token.
    end (int | None): End token (exclusive); None for the doc's end.
    RETURNS (int): The number of tokens that are not whitespace.
    """
    return sum(not token.is_space for token in doc[start:end])


def token_budget(doc_tokens: int, *, max_tokens: int = 0, ratio: float = 0.0) -> int:
    """The most tokens a summary of a doc may have; 0 for no limit.

    doc_tokens (int): The doc's length (``count_tokens``).
    max_tokens (int): Absolute limit; 0 for none.
    ratio (float): Limit as a share of the doc's length; 0 for none.
    RETURNS (int): The tighter of the two limits, or 0 if neither is set.
    """
    limits = []
    if max_tokens > 0:
        limits.append(max_tokens)
    if ratio > 0:
        limits.append(max(1, floor(ratio * doc_tokens)))
    return min(limits) if limits else 0


def select_sentences(
    scores: Sequence[float],
    lengths: Sequence[int],
    *,
    budget: int = 0,
    max_sentences: int = 0,
    threshold: float | None = None,
) -> list[int]:
    """Choose sentences by score under the length controls, in document order.

    Sentences are taken from the best score down, and the selection stops at
    the first one that would overrun the budget or the sentence count, or that
    scores below the threshold. The best sentence is always taken, so a doc
    with any sentence gets a non-empty summary. Scoring sentences by
    ``-position`` makes this the "leading sentences up to k%" baseline.

    scores (Sequence[float]): One score per sentence; ties go to the earlier one.
    lengths (Sequence[int]): Each sentence's length in tokens (``count_tokens``).
    budget (int): The most tokens in all (``token_budget``); 0 for no limit.
    max_sentences (int): The most sentences; 0 for no limit.
    threshold (float | None): Sentences scoring below it are not taken (except
        the best); None for no threshold.
    RETURNS (list[int]): Indices of the chosen sentences, ascending.
    """
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    total = 0
    for i in order:
        if chosen:
            if threshold is not None and scores[i] < threshold:
                break
            if max_sentences and len(chosen) >= max_sentences:
                break
            if budget and total + lengths[i] > budget:
                break
        chosen.append(i)
        total += lengths[i]
    return sorted(chosen)
