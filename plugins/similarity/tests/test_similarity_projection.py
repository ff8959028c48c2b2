"""The v2 architecture's projection: starts as the identity, backprops right, learns."""

import numpy
import pytest
import spacy
from nlp_tasks_similarity.model import build_cosine_similarity, build_cosine_similarity_v2
from nlp_tasks_similarity.reader import make_example
from thinc.api import Model

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

PAIRS = [
    ("A man is playing a flute.", "A man plays the flute.", 4.8),
    ("A dog is chasing a ball in the park.", "A cat is sleeping on the sofa.", 0.8),
    ("The bank raised interest rates.", "A child is blowing bubbles in the garden.", 0.0),
    ("Two men carry a sofa upstairs.", "Two men are moving a couch up the stairs.", 5.0),
]
RECORDS = [{"text_a": a, "text_b": b, "score": s} for a, b, s in PAIRS]
WIDTH = 6


class FixedVectors(Model):
    """A stand-in listener: fixed token vectors per doc, and records its gradient."""

    def __init__(self, vectors):
        super().__init__("fixed-vectors", self._run, dims={"nO": WIDTH})
        self.vectors = vectors
        self.gradient = None

    @staticmethod
    def _run(model, docs, is_train):
        def backprop(d_vectors):
            model.gradient = d_vectors
            return []

        return [model.vectors[id(doc)] for doc in docs], backprop


@pytest.fixture()
def pairs_and_vectors():
    nlp = spacy.blank("en")
    inputs = get_task("similarity").inputs
    docs = [inputs.make_doc(nlp, {"text_a": a, "text_b": b}) for a, b, _ in PAIRS]
    rng = numpy.random.default_rng(0)
    vectors = {id(doc): rng.normal(size=(len(doc), WIDTH)).astype("float32") for doc in docs}
    return docs, vectors


def test_untrained_projection_scores_as_v1(pairs_and_vectors):
    docs, vectors = pairs_and_vectors
    v1 = build_cosine_similarity(FixedVectors(vectors))
    v2 = build_cosine_similarity_v2(FixedVectors(vectors))
    v1.initialize()
    v2.initialize()
    assert v2.get_param("W").tolist() == numpy.eye(WIDTH).tolist()
    assert v2.predict(docs).tolist() == pytest.approx(v1.predict(docs).tolist(), abs=1e-6)
    assert not build_cosine_similarity_v2(FixedVectors(vectors), projection=False).has_param("W")


def test_projection_gradients_match_finite_differences(pairs_and_vectors):
    docs, vectors = pairs_and_vectors
    model = build_cosine_similarity_v2(FixedVectors(vectors))
    model.initialize()
    rng = numpy.random.default_rng(1)
    model.set_param("W", model.get_param("W") + rng.normal(scale=0.3, size=(WIDTH, WIDTH)))
    model.set_param("b", rng.normal(scale=0.3, size=WIDTH).astype("float32"))
    weights = numpy.asarray([1.0, -2.0, 0.5, 3.0], dtype="float32")

    def loss() -> float:
        return float((model.predict(docs).astype("float64") * weights).sum())

    _, backprop = model.begin_update(docs)
    backprop(weights)
    listener = model.layers[0]
    step = 1e-3
    for name, index in (("W", (0, 1)), ("W", (4, 2)), ("b", (3,))):
        param = model.get_param(name).astype("float64")
        analytic = float(model.get_grad(name)[index])
        shifted = {}
        for sign in (1, -1):
            moved = param.copy()
            moved[index] += sign * step
            model.set_param(name, moved.astype("float32"))
            shifted[sign] = loss()
        model.set_param(name, param.astype("float32"))
        assert analytic == pytest.approx((shifted[1] - shifted[-1]) / (2 * step), rel=2e-2)
    # And through the projection to the listener's vectors.
    doc = docs[3]
    token = 1
    analytic = float(listener.gradient[3][token, 2])
    original = vectors[id(doc)].copy()
    shifted = {}
    for sign in (1, -1):
        vectors[id(doc)] = original.copy()
        vectors[id(doc)][token, 2] += sign * step
        shifted[sign] = loss()
    vectors[id(doc)] = original
    assert analytic == pytest.approx((shifted[1] - shifted[-1]) / (2 * step), rel=2e-2)


def test_training_moves_the_projection(tmp_path):
    backbone = make_tiny_backbone(
        tmp_path, [t for a, b, _ in PAIRS for t in (a, b)], special_tokens=True
    )
    config = make_config(["similarity"], backbone=str(backbone))
    for split in ("train", "dev"):
        config["corpora"][split]["sources"]["similarity"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.003
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [make_example(nlp, record) for record in RECORDS]
    optimizer = nlp.initialize(lambda: examples)
    model = nlp.get_pipe("similarity").model
    assert model.attrs["similarity_projection"]  # the default architecture has one
    width = model.get_dim("nP")
    assert width == nlp.get_pipe("transformer").model.get_dim("nO")
    train_steps(nlp, optimizer, examples, steps=5, batch_size=4)
    moved = numpy.abs(model.get_param("W") - numpy.eye(width)).max()
    assert moved > 1e-3
