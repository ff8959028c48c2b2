"""Windows of (question, context) wordpieces, and spans back to characters.

A context longer than the backbone accepts is cut into overlapping windows, each
holding the whole question and a stretch of the context. The model scores start
and end positions in every window; the best span over all windows of a
question wins, and its wordpiece offsets map back to characters of the context.
Pure functions over the Hugging Face fast tokenizer and numpy, so the plugin's
component and the benchmark's baseline share them.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy

#: How many of the best start and end positions of a window are paired into
#: candidate spans. Pairs outside this set have a probability below the
#: product of the 20th best start and end, and cannot rank high.
N_BEST = 20
_NEG = -1e4


@dataclass
class Windows:
    """Tokenized (question, context) windows.

    input_ids (list[list[int]]): Wordpiece ids of each window, unpadded.
    token_type_ids (list[list[int]] | None): Segment ids, if the tokenizer makes them.
    pair (list[int]): For each window, the index of its (question, context) pair.
    offsets (list[list[tuple[int, int] | None]]): For each window and wordpiece,
        its character offsets in the context, or None outside the context.
    truncated (list[int]): Indices of the pairs whose question was truncated.
    """

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    pair: list[int]
    offsets: list[list[tuple[int, int] | None]]
    truncated: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)

    def batch(self, indices: Sequence[int], pad_id: int) -> dict[str, numpy.ndarray]:
        """Pad some windows into model inputs.

        indices (Sequence[int]): The windows.
        pad_id (int): The tokenizer's padding id.
        RETURNS (dict[str, numpy.ndarray]): ``input_ids``, ``attention_mask`` and
            (if the tokenizer makes them) ``token_type_ids``, each (n, length).
        """
        length = max(len(self.input_ids[i]) for i in indices)
        ids = numpy.full((len(indices), length), pad_id, dtype="int64")
        mask = numpy.zeros((len(indices), length), dtype="int64")
        types = numpy.zeros((len(indices), length), dtype="int64")
        for row, i in enumerate(indices):
            n = len(self.input_ids[i])
            ids[row, :n] = self.input_ids[i]
            mask[row, :n] = 1
            if self.token_type_ids is not None:
                types[row, :n] = self.token_type_ids[i]
        inputs = {"input_ids": ids, "attention_mask": mask}
        if self.token_type_ids is not None:
            inputs["token_type_ids"] = types
        return inputs

    def allowed(self, indices: Sequence[int], length: int) -> numpy.ndarray:
        """Which positions may start or end an answer: context wordpieces, and 0.

        Position 0 (the classifier token) stands for "not in this window".

        indices (Sequence[int]): The windows.
        length (int): The padded length.
        RETURNS (numpy.ndarray): Booleans, (n, length).
        """
        allowed = numpy.zeros((len(indices), length), dtype=bool)
        allowed[:, 0] = True
        for row, i in enumerate(indices):
            for j, offset in enumerate(self.offsets[i]):
                if offset is not None:
                    allowed[row, j] = True
        return allowed


def truncate_questions(
    tokenizer: Any, questions: Sequence[str], max_question_length: int
) -> tuple[list[str], list[int]]:
    """Cut questions longer than ``max_question_length`` wordpieces at a wordpiece end.

    tokenizer (PreTrainedTokenizerFast): The backbone's tokenizer.
    questions (Sequence[str]): The questions.
    max_question_length (int): Most wordpieces a question keeps.
    RETURNS (tuple[list[str], list[int]]): The questions, and the indices of those cut.
    """
    encoded = tokenizer(list(questions), add_special_tokens=False, return_offsets_mapping=True)
    kept, cut = [], []
    for i, (question, offsets) in enumerate(zip(questions, encoded["offset_mapping"])):
        if len(offsets) > max_question_length:
            kept.append(question[: offsets[max_question_length - 1][1]])
            cut.append(i)
        else:
            kept.append(question)
    return kept, cut


def make_windows(
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    max_length: int,
    stride: int,
    max_question_length: int,
) -> Windows:
    """Tokenize (question, context) pairs into overlapping windows.

    tokenizer (PreTrainedTokenizerFast): The backbone's (fast) tokenizer.
    questions (Sequence[str]): One question per pair.
    contexts (Sequence[str]): One context per pair.
    max_length (int): Most wordpieces in a window, special tokens included.
    stride (int): Context wordpieces shared by consecutive windows.
    max_question_length (int): Longer questions are truncated to this many wordpieces.
    RETURNS (Windows): The windows, in pair order.
    """
    if not questions:
        return Windows([], None, [], [])
    questions, truncated = truncate_questions(tokenizer, questions, max_question_length)
    encoded = tokenizer(
        list(questions),
        list(contexts),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    offsets = []
    for i, window_offsets in enumerate(encoded["offset_mapping"]):
        sequence = encoded.sequence_ids(i)
        offsets.append([tuple(o) if s == 1 else None for o, s in zip(window_offsets, sequence)])
    return Windows(
        input_ids=list(encoded["input_ids"]),
        token_type_ids=list(encoded["token_type_ids"]) if "token_type_ids" in encoded else None,
        pair=list(encoded["overflow_to_sample_mapping"]),
        offsets=offsets,
        truncated=truncated,
    )


def gold_positions(windows: Windows, answers: Sequence[tuple[int, int] | None]) -> numpy.ndarray:
    """The start and end wordpiece of each window's answer; 0 where it is not inside.

    answers (Sequence[tuple[int, int] | None]): The gold answer's character
        start and end, one per pair; None for a question the context does not
        answer, whose every window points to 0.
    RETURNS (numpy.ndarray): Integers, (n_windows, 2).
    """
    gold = numpy.zeros((len(windows), 2), dtype="int64")
    for w, offsets in enumerate(windows.offsets):
        answer = answers[windows.pair[w]]
        if answer is None:
            continue
        start_char, end_char = answer
        inside = [j for j, o in enumerate(offsets) if o is not None]
        if not inside:
            continue
        first, last = offsets[inside[0]], offsets[inside[-1]]
        if first[0] > start_char or last[1] < end_char:
            continue
        start = next(j for j in inside if offsets[j][1] > start_char)
        end = next(j for j in reversed(inside) if offsets[j][0] < end_char)
        if start <= end:
            gold[w] = (start, end)
    return gold


def log_softmax(logits: numpy.ndarray, allowed: numpy.ndarray) -> numpy.ndarray:
    """Log-probabilities over the allowed positions of each row.

    logits (numpy.ndarray): (n, length) scores.
    allowed (numpy.ndarray): (n, length) booleans.
    RETURNS (numpy.ndarray): (n, length); disallowed positions get a very low value.
    """
    masked = numpy.where(allowed, logits, _NEG)
    top = masked.max(axis=-1, keepdims=True)
    return masked - top - numpy.log(numpy.exp(masked - top).sum(axis=-1, keepdims=True))


def best_spans(
    start_logprobs: numpy.ndarray,
    end_logprobs: numpy.ndarray,
    candidates: Sequence[tuple[int, int] | None],
    *,
    max_answer_length: int,
    top_k: int,
) -> list[tuple[int, int, float]]:
    """The best spans of one window, by start times end probability.

    start_logprobs (numpy.ndarray): (length,) log-probabilities of each start.
    end_logprobs (numpy.ndarray): (length,) log-probabilities of each end.
    candidates (Sequence[tuple[int, int] | None]): For each position, its
        character offsets, or None where no answer may start or end.
    max_answer_length (int): Most positions in an answer.
    top_k (int): How many spans to return at most.
    RETURNS (list[tuple[int, int, float]]): (start char, end char, probability),
        best first.
    """
    length = min(len(candidates), len(start_logprobs))
    order_s = numpy.argsort(-start_logprobs[:length])[:N_BEST]
    order_e = numpy.argsort(-end_logprobs[:length])[:N_BEST]
    found = []
    for i in order_s:
        if candidates[i] is None:
            continue
        for j in order_e:
            if candidates[j] is None or j < i or j - i + 1 > max_answer_length:
                continue
            found.append((float(start_logprobs[i] + end_logprobs[j]), int(i), int(j)))
    found.sort(reverse=True)
    spans = []
    for logprob, i, j in found[:top_k]:
        spans.append((candidates[i][0], candidates[j][1], float(numpy.exp(logprob))))
    return spans


def merge_spans(
    spans: Sequence[tuple[int, int, float]], top_k: int
) -> list[tuple[int, int, float]]:
    """The ``top_k`` best distinct spans from several windows of one question.

    A span found in two overlapping windows keeps its higher score.

    spans (Sequence[tuple[int, int, float]]): (start char, end char, score).
    top_k (int): How many to keep.
    RETURNS (list[tuple[int, int, float]]): Best first.
    """
    best: dict[tuple[int, int], float] = {}
    for start, end, score in spans:
        if score > best.get((start, end), -1.0):
            best[(start, end)] = score
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return [(start, end, score) for (start, end), score in ranked[:top_k]]
