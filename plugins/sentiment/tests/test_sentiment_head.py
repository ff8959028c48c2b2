"""The sentiment head on a tiny backbone: overfit, then round-trip. Uses the core's public API."""

import pytest
import spacy
from spacy.training import Example

from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

TRAIN = [
    ("I loved it, wonderful and moving.", "positive"),
    ("Great fun, the best show this year.", "positive"),
    ("Superb food and lovely staff.", "positive"),
    ("Awful, boring and far too long.", "negative"),
    ("The worst service I have had.", "negative"),
    ("Dull plot and terrible acting.", "negative"),
]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    backbone = make_tiny_backbone(tmp_path_factory.mktemp("bb"), [t for t, _ in TRAIN])
    config = make_config(["sentiment"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["sentiment"] = "unused"
    config["corpora"]["dev"]["sources"]["sentiment"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.002
    # The tiny backbone starts untrained: it learns at the heads' rate.
    config["components"]["transformer"]["model"]["learn_rate_scale"] = 1.0
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {label: 1.0}}) for t, label in TRAIN]
    optimizer = nlp.initialize(lambda: examples)
    nlp.examples = examples
    history = train_steps(nlp, optimizer, examples, steps=40, batch_size=6)
    nlp.history = history
    return nlp


def test_overfits_a_handful_of_examples(nlp):
    assert nlp.history[-1]["sentiment"] < nlp.history[0]["sentiment"] / 10
    for text, label in TRAIN:
        doc = nlp(text)
        assert doc._.sentiment == label
        assert doc._.sentiment_score == pytest.approx(doc.cats[label])
        assert doc._.sentiment_score > 0.5


def test_round_trip_and_pipe_agree_with_call(nlp, tmp_path):
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    texts = [t for t, _ in TRAIN]
    for _ in range(2):
        for doc, text in zip(loaded.pipe(texts), texts):
            assert doc._.sentiment == nlp(text)._.sentiment
            assert doc.cats == pytest.approx(nlp(text).cats, abs=1e-5)


def test_unlabelled_docs_are_missing_not_negative(nlp):
    head = nlp.get_pipe("sentiment")
    unlabelled = Example(nlp.make_doc("Paris is in France."), nlp.make_doc("Paris is in France."))
    labelled = nlp.examples[0]
    scores = head.predict([labelled.predicted, unlabelled.predicted])
    loss, d_scores = head.get_loss([labelled, unlabelled], scores)
    truths = [labelled.reference.cats.get(label, 0.0) for label in head.labels]
    assert sorted(truths) == [0.0, 1.0]  # the other label counts as 0
    assert d_scores[0].tolist() == pytest.approx((scores[0] - truths).tolist())
    assert d_scores[1].tolist() == [0.0, 0.0]  # no gradient for the unlabelled doc
    assert loss == pytest.approx(float((d_scores[0] ** 2).sum()) / 4)
    scores = nlp.evaluate([labelled, unlabelled])
    assert scores["sentiment_acc"] == 1.0  # the unlabelled doc is not counted as wrong


def test_task_is_registered_by_the_plugin():
    from nlp_tasks.registry import get_task

    task = get_task("sentiment")
    assert task.factory == "nlp_tasks_sentiment"
    assert task.supports_api()
