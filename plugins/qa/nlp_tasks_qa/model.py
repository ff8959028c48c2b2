"""QA architectures: start/end scorers for the joint and the cross-attention mode.

Both are registered under versioned names when the component module is
imported. A published version never changes; a new signature or behaviour gets
a new version. ``attrs["qa_mode"]`` tells the factory which mode a model is,
and with it which component class runs it.
"""

from collections.abc import Callable
from typing import Any

from spacy.util import registry
from thinc.api import ArgsKwargs, Linear, Model
from thinc.types import Floats2d, Floats3d

from nlp_tasks import ConfigError

from .errors import Errors

#: Joint mode: the input is the backbone's hidden state of every wordpiece of
#: every (question, context) window, flattened to (n_wordpieces, width).
JointInput = Floats2d
#: Cross mode: the docs, the doc of each question, the question's wordpiece
#: states (n_questions, length, width) and their mask (n_questions, length).
CrossInput = tuple[list[Any], list[int], Floats3d, Floats2d]


@registry.architectures("nlp_tasks_qa.JointSpanScorer.v1")
def build_joint_span_scorer() -> Model[JointInput, Floats2d]:
    """Start and end scores of each wordpiece of a jointly encoded window.

    Registered as ``nlp_tasks_qa.JointSpanScorer.v1``. The QA component runs the
    shared backbone's weights over (question, context) windows itself (its own
    forward pass: it shares the weights, not the activations) and feeds the
    hidden states here: one linear layer to two scores per wordpiece, as in
    BERT's SQuAD head. The width is read from the backbone at initialization.

    RETURNS (Model[Floats2d, Floats2d]): (n_wordpieces, width) -> (n_wordpieces, 2).
    """
    model = Linear(nO=2)
    model.attrs["qa_mode"] = "joint"
    return model


@registry.architectures("nlp_tasks_qa.CrossAttentionSpanScorer.v1")
def build_cross_attention_span_scorer(
    tok2vec: Model,
    hidden_width: int = 256,
    n_heads: int = 4,
    dropout: float = 0.1,
) -> Model[CrossInput, tuple[Floats3d, Floats2d]]:
    """Start and end scores of each doc token, from the doc and a separately encoded question.

    Registered as ``nlp_tasks_qa.CrossAttentionSpanScorer.v1``. The doc is read
    once through the shared listener (shared activations, like the other heads);
    the question is encoded by the backbone's weights on its own. Each doc token
    attends to the question's wordpieces, one self-attention layer lets the doc
    tokens see each other's match, and a linear layer gives two scores per token.
    Cheaper than the joint mode when one doc gets many questions; the question
    meets the doc only after the backbone, so expect it to be less accurate
    (``bench/qa.py`` measures both).

    tok2vec (Model[List[Doc], List[Floats2d]]): The listener to the shared transformer.
    hidden_width (int): Width of the attention layers.
    n_heads (int): Attention heads; must divide ``hidden_width``.
    dropout (float): Dropout inside the attention layers.
    RETURNS (Model): (docs, doc of each question, question states, question
        mask) -> ((n_questions, n_tokens, 2) scores, (n_questions, n_tokens) mask).
    """
    from thinc.api import PyTorchWrapper_v2

    if hidden_width % n_heads:
        raise ConfigError(Errors.QA025.format(n_heads=n_heads, hidden_width=hidden_width))
    attention = PyTorchWrapper_v2(
        _cross_attention_module(hidden_width, n_heads, dropout),
        convert_inputs=_convert_attention_inputs,
    )
    model: Model = Model(
        "qa_cross_attention",
        _cross_forward,
        init=_init_layers,
        layers=[tok2vec, attention],
        refs={"tok2vec": tok2vec, "attention": attention},
        attrs={"qa_mode": "cross"},
    )
    return model


def _init_layers(model: Model, X: Any = None, Y: Any = None) -> None:
    for layer in model.layers:
        layer.initialize()


def _cross_forward(model: Model, X: CrossInput, is_train: bool) -> tuple[Any, Callable]:
    docs, pairs, questions, question_mask = X
    tok2vec, attention = model.get_ref("tok2vec"), model.get_ref("attention")
    ops = model.ops
    tokvecs, bp_tokvecs = tok2vec(docs, is_train)
    width = tokvecs[0].shape[1] if tokvecs else 0
    length = max([len(docs[d]) for d in pairs] + [1])
    padded = ops.alloc3f(len(pairs), length, width)
    doc_mask = ops.alloc2f(len(pairs), length)
    for row, d in enumerate(pairs):
        padded[row, : len(docs[d])] = tokvecs[d]
        doc_mask[row, : len(docs[d])] = 1.0
    if not pairs:
        scores = ops.alloc3f(0, length, 2)

        def backprop_empty(d_scores: Floats3d) -> Floats3d:
            bp_tokvecs([ops.alloc2f(*v.shape) for v in tokvecs])
            return questions * 0

        return (scores, doc_mask), backprop_empty
    scores, bp_attention = attention((padded, doc_mask, questions, question_mask), is_train)

    def backprop(d_scores: Floats3d) -> Floats3d:
        d_padded, d_questions = bp_attention(d_scores)
        d_tokvecs = [ops.alloc2f(*v.shape) for v in tokvecs]
        for row, d in enumerate(pairs):
            d_tokvecs[d] += d_padded[row, : len(docs[d])]
        bp_tokvecs(d_tokvecs)
        return d_questions

    return (scores, doc_mask), backprop


def _convert_attention_inputs(model: Model, X: Any, is_train: bool) -> tuple[ArgsKwargs, Callable]:
    from thinc.api import torch2xp, xp2torch

    device = model.shims[0].device
    doc, doc_mask, question, question_mask = X
    args = (
        xp2torch(doc, requires_grad=is_train, device=device),
        xp2torch(doc_mask, device=device),
        xp2torch(question, requires_grad=is_train, device=device),
        xp2torch(question_mask, device=device),
    )

    def reverse(d_args: ArgsKwargs) -> tuple[Any, Any]:
        return torch2xp(d_args.args[0]), torch2xp(d_args.args[2])

    return ArgsKwargs(args=args, kwargs={}), reverse


def _cross_attention_module(hidden_width: int, n_heads: int, dropout: float) -> Any:
    from torch import nn

    class CrossAttentionScorer(nn.Module):
        # Input widths come from the backbone, unknown until its first batch:
        # lazy projections take them then (and from the weights on load).
        def __init__(self) -> None:
            super().__init__()
            self.doc_in = nn.LazyLinear(hidden_width)
            self.question_in = nn.LazyLinear(hidden_width)
            self.cross = nn.MultiheadAttention(
                hidden_width, n_heads, dropout=dropout, batch_first=True
            )
            self.cross_norm = nn.LayerNorm(hidden_width)
            self.self_layer = nn.TransformerEncoderLayer(
                hidden_width,
                n_heads,
                dim_feedforward=2 * hidden_width,
                dropout=dropout,
                batch_first=True,
            )
            self.out = nn.Linear(hidden_width, 2)

        def forward(self, doc, doc_mask, question, question_mask):
            d = self.doc_in(doc)
            q = self.question_in(question)
            attended, _ = self.cross(d, q, q, key_padding_mask=question_mask < 0.5)
            h = self.cross_norm(d + attended)
            h = self.self_layer(h, src_key_padding_mask=doc_mask < 0.5)
            return self.out(h)

    return CrossAttentionScorer()
