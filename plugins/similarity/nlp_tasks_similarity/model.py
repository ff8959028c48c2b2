"""The similarity head's architecture: cosine of the mean token vectors of each side.

    listener (one vector per spaCy token) -> mean over each segment's
    non-whitespace tokens -> [projection] -> u, v -> cos(u, v)

The listener's gradient comes from the cosine, so fine-tuning trains the shared
transformer as sentence-transformers' ``CosineSimilarityLoss`` does. ``v1`` has
no weights of its own; ``v2`` may add a square projection of the pooled vectors,
initialized to the identity (so an untrained head scores exactly as ``v1``),
that gives the head room of its own when other heads share the backbone.
"""

from collections.abc import Callable
from typing import Any

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats1d, Floats2d

from nlp_tasks import segment_spans

from .errors import Errors

#: The segments a pair doc is made of, in order (the task's declared inputs).
SEGMENTS = ("text_a", "text_b")
#: Keeps the cosine finite when a side's mean vector is all zeros.
_EPSILON = 1e-8

InT = list[Doc]
#: One cosine per doc, NaN where the doc is no pair of non-blank sides.
OutT = Floats1d


@registry.architectures("nlp_tasks_similarity.CosineSimilarity.v1")
def build_cosine_similarity(tok2vec: Model[list[Doc], list[Floats2d]]) -> Model[InT, OutT]:
    """Build the similarity model: the cosine of the two sides' mean token vectors.

    Registered as ``nlp_tasks_similarity.CosineSimilarity.v1`` when the
    component module is imported. Each side is the span of its segment
    (``nlp_tasks.segment_spans``); its vector is the mean of the listener's
    vectors of its tokens, whitespace tokens left out. A doc that is not a pair
    (a plain text, in a multi-task batch) gets NaN and passes no gradient.

    tok2vec (Model[List[Doc], List[Floats2d]]): The listener to the shared
        transformer, one vector per spaCy token.
    RETURNS (Model[List[Doc], Floats1d]): One cosine in [-1, 1] per doc.
    """
    return _build(tok2vec, projection=False)


@registry.architectures("nlp_tasks_similarity.CosineSimilarity.v2")
def build_cosine_similarity_v2(
    tok2vec: Model[list[Doc], list[Floats2d]], projection: bool = True
) -> Model[InT, OutT]:
    """Build the similarity model, with an optional projection of each side's vector.

    As ``v1``, and with ``projection`` each side's mean vector ``x`` becomes
    ``W x + b`` before the cosine, one ``W`` (width x width, the transformer's
    width) shared by both sides. ``W`` starts as the identity and ``b`` as
    zeros, so the untrained head (and the zero-shot mode) scores exactly as
    ``v1``; trained, the projection learns at the heads' rate while the shared
    backbone moves at its own.

    tok2vec (Model[List[Doc], List[Floats2d]]): The listener to the shared
        transformer, one vector per spaCy token.
    projection (bool): Whether to learn the projection.
    RETURNS (Model[List[Doc], Floats1d]): One cosine in [-1, 1] per doc.
    """
    return _build(tok2vec, projection=projection)


def _build(tok2vec: Model[list[Doc], list[Floats2d]], *, projection: bool) -> Model[InT, OutT]:
    return Model(
        "nlp_tasks_similarity.cosine",
        _forward,
        init=_init,
        layers=[tok2vec],
        refs={"tok2vec": tok2vec},
        params={"W": None, "b": None} if projection else {},
        dims={"nP": None} if projection else {},
        attrs={"similarity_segments": SEGMENTS, "similarity_projection": projection},
    )


def pair_tokens(doc: Doc) -> tuple[numpy.ndarray, numpy.ndarray] | None:
    """The indices of the non-whitespace tokens of each side of a pair doc.

    doc (Doc): A doc.
    RETURNS (tuple[numpy.ndarray, numpy.ndarray] | None): The token indices of
        ``text_a`` and of ``text_b``; None if the doc is no pair, or a side has
        no token to read.
    """
    spans = segment_spans(doc)
    if not all(name in spans for name in SEGMENTS):
        return None
    sides = []
    for name in SEGMENTS:
        indices = [token.i for token in spans[name] if not token.is_space]
        if not indices:
            return None
        sides.append(numpy.asarray(indices, dtype="int32"))
    return sides[0], sides[1]


def _forward(model: Model[InT, OutT], docs: InT, is_train: bool) -> tuple[OutT, Callable]:
    tok2vec = model.layers[0]
    ops = model.ops
    sides = [pair_tokens(doc) for doc in docs]
    scores = numpy.full((len(docs),), numpy.nan, dtype="float32")
    # In training the listener holds the batch's outputs and checks that it is
    # given the same docs, so it reads them all; at prediction it reads only the
    # pairs. A batch with no token fails inside spacy-transformers' pooling.
    read = list(range(len(docs))) if is_train else [i for i, s in enumerate(sides) if s]
    if not any(len(docs[i]) for i in read):
        return ops.asarray1f(scores), lambda d_scores: []
    tokvecs, backprop_tokvecs = tok2vec([docs[i] for i in read], is_train)
    pairs = [(k, i) for k, i in enumerate(read) if sides[i] and len(tokvecs[k])]
    if not pairs:

        def backprop_nothing(d_scores: OutT) -> InT:
            # The listener must still get its (zero) gradient: spacy-transformers
            # steps the backbone from the last listener's backprop only.
            backprop_tokvecs([ops.alloc2f(*X.shape) for X in tokvecs])
            return []

        return ops.asarray1f(scores), backprop_nothing
    xp = ops.xp
    index_a = [ops.asarray1i(sides[i][0]) for _, i in pairs]
    index_b = [ops.asarray1i(sides[i][1]) for _, i in pairs]
    U = xp.stack([tokvecs[k][index].mean(axis=0) for (k, _), index in zip(pairs, index_a)])
    V = xp.stack([tokvecs[k][index].mean(axis=0) for (k, _), index in zip(pairs, index_b)])
    U, V, backprop_projection = _project(model, U, V)
    norm_u = xp.maximum(xp.sqrt((U * U).sum(axis=1)), _EPSILON)
    norm_v = xp.maximum(xp.sqrt((V * V).sum(axis=1)), _EPSILON)
    cosines = (U * V).sum(axis=1) / (norm_u * norm_v)
    scores[[i for _, i in pairs]] = ops.to_numpy(cosines)

    def backprop(d_scores: OutT) -> InT:
        d_scores = xp.asarray(d_scores, dtype="float32")[xp.asarray([i for _, i in pairs])]
        d_scores = xp.where(xp.isfinite(d_scores), d_scores, 0.0)[:, None]
        # d cos / du = v / (|u| |v|) - cos u / |u|^2, and the same for v.
        cos = cosines[:, None]
        d_U = d_scores * (V / (norm_u * norm_v)[:, None] - cos * U / (norm_u**2)[:, None])
        d_V = d_scores * (U / (norm_u * norm_v)[:, None] - cos * V / (norm_v**2)[:, None])
        d_U, d_V = backprop_projection(d_U, d_V)
        d_tokvecs = [ops.alloc2f(*X.shape) for X in tokvecs]
        for row, (k, _) in enumerate(pairs):
            d_tokvecs[k][index_a[row]] += d_U[row] / len(index_a[row])
            d_tokvecs[k][index_b[row]] += d_V[row] / len(index_b[row])
        backprop_tokvecs(d_tokvecs)
        return []

    return ops.asarray1f(scores), backprop


def _project(
    model: Model[InT, OutT], U: Floats2d, V: Floats2d
) -> tuple[Floats2d, Floats2d, Callable]:
    """``W x + b`` for both sides' vectors, and its backprop; the identity in v1."""
    if not model.attrs["similarity_projection"]:
        return U, V, lambda d_U, d_V: (d_U, d_V)
    W = model.get_param("W")
    b = model.get_param("b")

    def backprop(d_U: Floats2d, d_V: Floats2d) -> tuple[Floats2d, Floats2d]:
        model.inc_grad("W", d_U.T @ U + d_V.T @ V)
        model.inc_grad("b", d_U.sum(axis=0) + d_V.sum(axis=0))
        return d_U @ W, d_V @ W

    return U @ W.T + b, V @ W.T + b, backprop


def _init(model: Model[InT, OutT], X: InT | None = None, Y: Any = None) -> None:
    tok2vec = model.layers[0]
    tok2vec.initialize()
    if not model.attrs["similarity_projection"] or model.has_param("W"):
        return
    # The listener's width is set by the transformer when it links its
    # listeners, which spaCy does on initializing the transformer component,
    # before the heads after it.
    listener = tok2vec.get_ref("listener") if tok2vec.has_ref("listener") else tok2vec
    width = listener.get_dim("nO") if listener.has_dim("nO") else None
    if not width:
        raise ValueError(Errors.SIM014)
    model.set_dim("nP", width)
    model.set_param("W", model.ops.xp.eye(width, dtype="float32"))
    model.set_param("b", model.ops.alloc1f(width))
