"""Architectures of the summarization head, one per mode.

The summarization mode is chosen here, in the component's model block, so a
config switches modes in one place: ``nlp_tasks_summarization.Summarizer.v2``
(and the older ``Summarizer.v1``) is extractive,
``nlp_tasks_summarization.AbstractiveSummarizer.v1`` writes new text with the
core's decoder. The extractive model scores each sentence of a doc from the
shared transformer's token vectors:

    listener (token vectors) -> mean over each sentence's tokens -> Linear
    -> + sentence position -> [transformer layers over sentences] -> one logit each

torch is imported only when a model is built.
"""

from collections.abc import Callable
from typing import Any

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, Model, Ragged, with_array
from thinc.types import Floats1d, Floats2d

from nlp_tasks import ConfigError

from .errors import Errors

#: The summarization modes, each with its architecture.
MODES = ("extractive", "abstractive")
#: The core's decoder, which the abstractive mode configures.
DECODER_ARCHITECTURE = "nlp_tasks.TransformerDecoder.v1"

InT = list[Doc]
#: One logit per sentence, for each doc.
OutT = list[Floats1d]


@registry.architectures("nlp_tasks_summarization.Summarizer.v2")
def build_summarizer(
    tok2vec: Model[list[Doc], list[Floats2d]],
    get_sentences: Callable[[Doc], numpy.ndarray],
    hidden_width: int = 256,
    n_layers: int = 0,
    n_heads: int = 4,
    max_positions: int = 64,
    window: int = 64,
    dropout: float = 0.1,
) -> Model[InT, OutT]:
    """Build the extractive summarization model: one logit per sentence of a doc.

    Registered as ``nlp_tasks_summarization.Summarizer.v2`` when the component
    module is imported. The abstractive mode has its own architecture,
    ``nlp_tasks_summarization.AbstractiveSummarizer.v1``.

    tok2vec (Model[List[Doc], List[Floats2d]]): The listener to the shared transformer.
    get_sentences (Callable[[Doc], numpy.ndarray]): The sentence getter
        (``nlp_tasks_summarization.RuleSentences.v1``); the component selects
        from the same sentences.
    hidden_width (int): Width of the sentence vectors the scorer works on.
    n_layers (int): Transformer layers over the sentences of a doc; 0 scores
        each sentence from its own vector and position only.
    n_heads (int): Attention heads; must divide ``hidden_width``.
    max_positions (int): Sentence positions with their own embedding; later
        sentences share the last one.
    window (int): Most sentences in one attention block; bounds the work per
        sentence on very long docs.
    dropout (float): Dropout rate in the sentence scorer.
    RETURNS (Model[List[Doc], List[Floats1d]]): One logit per sentence of each doc.
    """
    for name, value in (
        ("hidden_width", hidden_width),
        ("n_heads", n_heads),
        ("max_positions", max_positions),
        ("window", window),
    ):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(Errors.SUM005.format(name=name, value=value))
    if not isinstance(n_layers, int) or n_layers < 0:
        raise ConfigError(Errors.SUM006.format(value=n_layers))
    if hidden_width % n_heads:
        raise ConfigError(Errors.SUM007.format(n_heads=n_heads, hidden_width=hidden_width))
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(Errors.SUM008.format(value=dropout))
    return build_extractive_scorer(
        tok2vec,
        get_sentences,
        hidden_width=hidden_width,
        n_layers=n_layers,
        n_heads=n_heads,
        max_positions=max_positions,
        window=window,
        dropout=dropout,
    )


@registry.architectures("nlp_tasks_summarization.Summarizer.v1")
def build_summarizer_v1(
    tok2vec: Model[list[Doc], list[Floats2d]],
    get_sentences: Callable[[Doc], numpy.ndarray],
    mode: str = "extractive",
    hidden_width: int = 256,
    n_layers: int = 0,
    n_heads: int = 4,
    max_positions: int = 64,
    window: int = 64,
    dropout: float = 0.1,
) -> Model[InT, OutT]:
    """``Summarizer.v2`` with a ``mode`` setting whose only value is "extractive".

    Registered as ``nlp_tasks_summarization.Summarizer.v1``, for the configs
    and pipelines written before v2; it builds the same model. ``mode =
    "abstractive"`` raises [SUM001], which names the abstractive architecture,
    and any other value but "extractive" [SUM002].

    tok2vec, get_sentences, hidden_width, n_layers, n_heads, max_positions,
        window, dropout: As in ``build_summarizer`` (``Summarizer.v2``).
    mode (str): "extractive", the only value.
    RETURNS (Model[List[Doc], List[Floats1d]]): One logit per sentence of each doc.
    """
    if mode == "abstractive":
        raise ConfigError(Errors.SUM001)
    if mode != "extractive":
        raise ConfigError(Errors.SUM002.format(mode=mode, modes=", ".join(MODES)))
    return build_summarizer(
        tok2vec,
        get_sentences,
        hidden_width=hidden_width,
        n_layers=n_layers,
        n_heads=n_heads,
        max_positions=max_positions,
        window=window,
        dropout=dropout,
    )


@registry.architectures("nlp_tasks_summarization.AbstractiveSummarizer.v1")
def build_abstractive_summarizer(
    tok2vec: Model[list[Doc], list[Floats2d]],
    hidden_width: int = 256,
    depth: int = 3,
    heads: int = 4,
    ffn_width: int = 1024,
    dropout: float = 0.1,
    max_positions: int = 512,
    init_from_backbone: bool = True,
) -> Model[list[Doc], list[Floats2d]]:
    """Build the abstractive summarization model: the core's decoder on the shared listener.

    Registered as ``nlp_tasks_summarization.AbstractiveSummarizer.v1``. The
    model is ``nlp_tasks.TransformerDecoder.v1`` marked with the abstractive
    mode, so the component writes text instead of choosing sentences. By
    default the decoder is warm-started from the backbone checkpoint (its
    layers and vocabulary; the cross-attention to the shared encoding is new),
    which needs ``target_tokenizer = "backbone"`` in the component.

    tok2vec (Model[List[Doc], List[Floats2d]]): The listener to the shared transformer.
    hidden_width (int): Width of a fresh decoder (ignored when warm-started).
    depth (int): Layers of a fresh decoder (ignored when warm-started).
    heads (int): Attention heads of a fresh decoder (ignored when warm-started).
    ffn_width (int): Feed-forward width of a fresh decoder (ignored when warm-started).
    dropout (float): Dropout of a fresh decoder (ignored when warm-started).
    max_positions (int): Longest summary of a fresh decoder, in target tokens.
    init_from_backbone (bool): Warm-start the decoder from the backbone checkpoint.
    RETURNS (Model[List[Doc], List[Floats2d]]): The decoder model.
    """
    from spacy.util import registry

    build_decoder = registry.architectures.get(DECODER_ARCHITECTURE)
    model = build_decoder(
        tok2vec,
        hidden_width=hidden_width,
        depth=depth,
        heads=heads,
        ffn_width=ffn_width,
        dropout=dropout,
        max_positions=max_positions,
        init_from_backbone=init_from_backbone,
    )
    model.attrs["summarization_mode"] = "abstractive"
    return model


def build_extractive_scorer(
    tok2vec: Model[list[Doc], list[Floats2d]],
    get_sentences: Callable[[Doc], numpy.ndarray],
    *,
    hidden_width: int,
    n_layers: int,
    n_heads: int,
    max_positions: int,
    window: int,
    dropout: float,
) -> Model[InT, OutT]:
    """The extractive model: one logit per sentence. See ``build_summarizer``."""
    from thinc.api import PyTorchWrapper_v2

    from .sentence_encoder import SentenceEncoder

    project = with_array(Linear(nO=hidden_width))
    encoder = PyTorchWrapper_v2(
        SentenceEncoder(hidden_width, n_layers, n_heads, max_positions, window, dropout),
        convert_inputs=_ragged_to_torch,
    )
    return Model(
        "nlp_tasks_summarization.extractive",
        _forward,
        init=_init,
        layers=[tok2vec, project, encoder],
        refs={"tok2vec": tok2vec},
        attrs={"summarization_mode": "extractive", "get_sentences": get_sentences},
    )


def _forward(model: Model[InT, OutT], docs: InT, is_train: bool) -> tuple[OutT, Callable]:
    tok2vec, project, encoder = model.layers
    if not any(len(doc) for doc in docs):
        # spacy-transformers' pooling fails on a batch of empty docs. There is
        # nothing to score; in training, TrainablePipe.update skips such a
        # batch and SharedBackboneHead releases the listener.
        return [model.ops.alloc1f(0) for _ in docs], lambda d_scores: []
    bounds = [model.attrs["get_sentences"](doc) for doc in docs]
    tokvecs, backprop_tokvecs = tok2vec(docs, is_train)
    pooled, backprop_pooled = _pool_sentences(model.ops, tokvecs, bounds)
    if not pooled.dataXd.shape[0]:

        def backprop_nothing(d_scores: OutT) -> InT:
            # The listener must still get its (zero) gradient: see SharedBackboneHead.
            backprop_tokvecs([model.ops.alloc2f(*X.shape) for X in tokvecs])
            return []

        return [model.ops.alloc1f(0) for _ in docs], backprop_nothing

    hidden, backprop_hidden = project(pooled, is_train)
    logits, backprop_logits = encoder(hidden, is_train)
    ends = numpy.cumsum([len(b) for b in bounds])
    scores = [logits[end - len(b) : end] for end, b in zip(ends, bounds)]

    def backprop(d_scores: OutT) -> InT:
        d_logits = model.ops.xp.concatenate([model.ops.asarray1f(d) for d in d_scores])
        d_hidden = backprop_logits(d_logits)
        backprop_tokvecs(backprop_pooled(backprop_hidden(d_hidden)))
        return []

    return scores, backprop


def _pool_sentences(
    ops: Any, tokvecs: list[Floats2d], bounds: list[numpy.ndarray]
) -> tuple[Ragged, Callable[[Ragged], list[Floats2d]]]:
    # Mean of each sentence's token vectors; one Ragged row per sentence,
    # lengths = sentences per doc. Sentences never overlap.
    rows, indices, lengths = [], [], []
    for X, doc_bounds in zip(tokvecs, bounds):
        if len(doc_bounds):
            index = ops.asarray1i(numpy.concatenate([numpy.arange(s, e) for s, e in doc_bounds]))
            sizes = ops.asarray1i(doc_bounds[:, 1] - doc_bounds[:, 0])
            rows.append(ops.reduce_mean(ops.as_contig(X[index]), sizes))
            indices.append((index, sizes))
        else:
            indices.append(None)
        lengths.append(len(doc_bounds))
    width = next((X.shape[1] for X in tokvecs if X.shape[1]), 0)
    data = ops.xp.concatenate(rows) if rows else ops.alloc2f(0, width)
    pooled = Ragged(data, ops.asarray1i(lengths))

    def backprop(d_pooled: Ragged) -> list[Floats2d]:
        d_rows = d_pooled.dataXd
        d_tokvecs = []
        offset = 0
        for X, found in zip(tokvecs, indices):
            dX = ops.alloc2f(*X.shape)
            if found is not None:
                index, sizes = found
                d_doc = d_rows[offset : offset + len(sizes)]
                offset += len(sizes)
                dX[index] = ops.backprop_reduce_mean(ops.as_contig(d_doc), sizes)
            d_tokvecs.append(dX)
        return d_tokvecs

    return pooled, backprop


def _init(model: Model[InT, OutT], X: InT | None = None, Y: Any = None) -> None:
    tok2vec, project, _ = model.layers
    width = None
    if X is not None:
        tok2vec.initialize(X=X)
        width = next((v.shape[1] for v in tok2vec.predict(X) if v.shape[1]), None)
    else:
        tok2vec.initialize()
    if width is None:
        width = _listener_width(tok2vec)
    linear = project.layers[0]
    if not linear.has_dim("nI"):
        linear.set_dim("nI", width)
    project.initialize()


def _listener_width(tok2vec: Model) -> int:
    for node in tok2vec.walk():
        if node.has_dim("nO"):
            return node.get_dim("nO")
    raise ValueError(Errors.SUM009)


def _ragged_to_torch(model: Model, X: Ragged, is_train: bool) -> tuple[Any, Callable]:
    import torch
    from thinc.api import ArgsKwargs, torch2xp, xp2torch

    device = model.shims[0].device
    data = xp2torch(X.dataXd, requires_grad=is_train, device=device)
    lengths = torch.as_tensor(model.ops.to_numpy(X.lengths), dtype=torch.long, device=device)

    def reverse(d_inputs: ArgsKwargs) -> Ragged:
        return Ragged(torch2xp(d_inputs.args[0]), X.lengths)

    return ArgsKwargs(args=(data, lengths), kwargs={}), reverse
