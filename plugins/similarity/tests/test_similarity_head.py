"""The similarity head on a tiny backbone: training, masking, zero-shot, round trip.

Uses the core's public API; the backbone is a tiny BERT built in the test.
"""

import json
import math

import pytest
import spacy
from nlp_tasks_similarity import similarity
from nlp_tasks_similarity.component import SimilarityScorer
from nlp_tasks_similarity.reader import make_example, to_json
from spacy.training import Example

import nlp_tasks
from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

PAIRS = [
    ("A man is playing a flute.", "A man plays the flute.", 4.8),
    ("A girl rides a red bicycle.", "A young girl is riding a red bike.", 4.6),
    ("The storm closed the mountain road.", "Snow has closed the road over the mountain.", 3.8),
    ("A dog is chasing a ball in the park.", "A cat is sleeping on the sofa.", 0.8),
    ("The bank raised interest rates.", "A child is blowing bubbles in the garden.", 0.0),
    ("A woman is slicing onions.", "A woman is peeling potatoes.", 2.2),
    ("The council approved new bus lanes.", "The price of coffee rose in spring.", 0.2),
    ("Two men carry a sofa upstairs.", "Two men are moving a couch up the stairs.", 5.0),
]
RECORDS = [{"text_a": a, "text_b": b, "score": s, "genre": "test"} for a, b, s in PAIRS]
TEXTS = [text for a, b, _ in PAIRS for text in (a, b)]


def build(backbone, *, mode="trained", learn_rate=0.001):
    """A pipeline from the generated config, as `spacy train` builds it (routed)."""
    config = make_config(["similarity"], backbone=str(backbone))
    for split in ("train", "dev"):
        config["corpora"][split]["sources"]["similarity"] = "unused"
    # A constant rate: the generated schedule warms up over 200 steps.
    config["training"]["optimizer"]["learn_rate"] = learn_rate
    config["components"]["similarity"]["mode"] = mode
    return spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return make_tiny_backbone(tmp_path_factory.mktemp("bb"), TEXTS, special_tokens=True)


@pytest.fixture(scope="module")
def trained(backbone):
    nlp = build(backbone)
    examples = [make_example(nlp, record) for record in RECORDS]
    optimizer = nlp.initialize(lambda: examples)
    nlp.examples = examples
    nlp.history = train_steps(nlp, optimizer, examples, steps=40, batch_size=8)
    return nlp


def pair_doc(nlp, text_a, text_b):
    return get_task("similarity").inputs.make_doc(nlp, {"text_a": text_a, "text_b": text_b})


def test_task_is_registered_with_pair_inputs():
    task = get_task("similarity")
    assert task.factory == "nlp_tasks_similarity"
    assert task.inputs.segments == ("text_a", "text_b")
    assert task.supports_api()


def test_training_lowers_the_loss_and_ranks_the_pairs(trained):
    losses = [step["similarity"] for step in trained.history]
    assert losses[-1] < losses[0] / 10
    scores = trained.evaluate(trained.examples)
    assert scores["similarity_spearman"] > 0.8
    assert -1.0 <= scores["similarity_pearson"] <= 1.0
    for doc in trained.pipe(eg.predicted.copy() for eg in trained.examples):
        assert 0.0 <= doc._.similarity <= 1.0


def test_examples_without_gold_add_no_loss(trained):
    head = trained.get_pipe("similarity")
    scored = trained.examples[3]
    plain = trained.make_doc("A plain text of another task.")
    other_pair = pair_doc(trained, "A man is running.", "A man runs.")
    missing = [Example(plain, plain.copy()), Example(other_pair, other_pair.copy())]
    # The model itself: the component's predict is routed to pair docs only.
    scores = head.model.predict([scored.predicted, *(eg.predicted for eg in missing)])
    assert math.isnan(float(scores[1]))  # a plain doc is not scored at all
    loss, d_scores = head.get_loss([scored, *missing], scores)
    alone, d_alone = head.get_loss([scored], scores[:1])
    assert loss == pytest.approx(alone)
    assert d_scores.tolist()[1:] == [0.0, 0.0]
    assert d_scores[0] == pytest.approx(d_alone[0])
    gold = scored.reference._.similarity_gold
    assert loss == pytest.approx(head.loss_weight * (float(scores[0]) - gold) ** 2, rel=1e-5)
    # loss_weight scales the loss and its gradient alike.
    default = head.loss_weight
    try:
        head.loss_weight = 4.0
        weighted, d_weighted = head.get_loss([scored, *missing], scores)
    finally:
        head.loss_weight = default
    assert weighted == pytest.approx(4 / default * loss)
    assert d_weighted[0] == pytest.approx(4 / default * d_scores[0])
    # A batch of other tasks' examples only: no loss, and the update still runs.
    losses = trained.update(missing, sgd=False, losses={})
    assert losses["similarity"] == 0.0


def test_the_loss_trains_the_backbone_only_in_the_trained_mode(backbone):
    for mode, learns in (("trained", True), ("zero-shot", False)):
        nlp = build(backbone, mode=mode)
        examples = [make_example(nlp, record) for record in RECORDS]
        nlp.initialize(lambda examples=examples: examples)
        losses = nlp.update(examples, sgd=False, losses={})
        assert losses["similarity"] > 0.0  # reported in both modes
        module = nlp.get_pipe("transformer").model.transformer
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert any(bool(g.abs().sum() > 0) for g in grads) is learns, mode


def test_zero_shot_pipeline_needs_no_training_data(backbone, tmp_path):
    nlp = build(backbone, mode="zero-shot")
    nlp.initialize()  # no examples, as `spacy assemble` does
    same = "A man is playing a flute in the park."
    scores = similarity(
        nlp,
        [
            (same, same),
            {"text_a": same, "text_b": "The bank raised its interest rates.", "genre": "x"},
        ],
    )
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[0] > scores[1]
    nlp.to_disk(tmp_path / "zero-shot")
    loaded = nlp_tasks.load(tmp_path / "zero-shot")
    assert loaded.get_pipe("similarity").mode == "zero-shot"
    assert similarity(loaded, [(same, same)]) == pytest.approx(scores[:1], abs=1e-5)


def test_round_trip_gives_the_same_scores(trained, tmp_path):
    pairs = [(a, b) for a, b, _ in PAIRS]
    before = similarity(trained, pairs, batch_size=3)
    trained.to_disk(tmp_path / "pipeline")
    for loaded in (nlp_tasks.load(tmp_path / "pipeline"), spacy.load(tmp_path / "pipeline")):
        assert similarity(loaded, pairs) == pytest.approx(before, abs=1e-5)
        one_by_one = [loaded(pair_doc(loaded, a, b))._.similarity for a, b in pairs]
        assert one_by_one == pytest.approx(before, abs=1e-5)


def test_plain_docs_get_no_output(trained):
    doc = trained("Just one text, no pair.")
    assert doc._.similarity is None
    assert to_json(doc) == {"score": None}
    outputs = nlp_tasks.predict(trained, [{"text_a": "A dog runs.", "text_b": "A dog is running."}])
    assert set(outputs[0]) == {"text_a", "text_b", "similarity"}
    # Unrouted (a component outside a pipeline the core made), it leaves them alone too.
    head = trained.get_pipe("similarity")
    plain = trained.make_doc("Plain text.")
    SimilarityScorer.set_annotations(head, [plain], SimilarityScorer.predict(head, [plain]))
    assert plain._.similarity is None


def test_to_json_is_json(trained):
    doc = trained(pair_doc(trained, "A dog runs.", "A dog is running."))
    output = to_json(doc)
    assert json.loads(json.dumps(output)) == output
    assert isinstance(output["score"], float) and 0.0 <= output["score"] <= 1.0


def test_similarity_helper_checks_its_pairs(trained):
    assert similarity(trained, []) == []
    with pytest.raises(ValueError, match=r"\[SIM020\] pair 1: .*a tuple of 3 items"):
        similarity(trained, [("a", "b"), ("a", "b", "c")])
    with pytest.raises(ValueError, match=r"\[SIM020\] pair 0: .*str"):
        similarity(trained, ["just a text"])
    with pytest.raises(ValueError, match=r"\[SIM021\] pair 0: \[E080\] .*'text_b'"):
        similarity(trained, [("A text.", "  ")])
    with pytest.raises(ValueError, match=r"\[SIM021\] pair 0: \[E050\] .*'text_a'"):
        similarity(trained, [{"text_b": "A text."}])
    with pytest.raises(
        ValueError, match=r"\[SIM021\] pair 1: 'text_a' holds a lone surrogate U\+D800"
    ):
        similarity(trained, [("a", "b"), ("a\ud800", "b")])
    with pytest.raises(ValueError, match=r"\[SIM022\]"):
        similarity(spacy.blank("en"), [("a", "b")])


def test_a_multi_task_pipeline_trains_on_mixed_batches(backbone):
    config = make_config(["sentiment", "similarity"], backbone=str(backbone))
    for split in ("train", "dev"):
        for task in ("sentiment", "similarity"):
            config["corpora"][split]["sources"][task] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.003
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    sentiment = get_task("sentiment")
    texts = [("A wonderful man plays the flute.", "positive"), ("A dull, awful road.", "negative")]
    examples = [make_example(nlp, record) for record in RECORDS]
    examples += [sentiment.make_example(nlp, {"text": t, "label": lb}) for t, lb in texts]
    mixed = [examples[i] for i in (0, 8, 1, 2, 9, 3, 4, 5, 6, 7)]
    optimizer = nlp.initialize(lambda: mixed)
    history = train_steps(nlp, optimizer, mixed, steps=12, batch_size=5)
    assert all(math.isfinite(step["similarity"]) for step in history)
    # Batches alternate between two halves of the examples: compare whole passes.
    first = history[0]["similarity"] + history[1]["similarity"]
    last = history[-2]["similarity"] + history[-1]["similarity"]
    assert last < first
    pair = pair_doc(nlp, "A man plays the flute.", "A man is playing a flute.")
    plain, pair = list(nlp.pipe([nlp.make_doc(texts[0][0]), pair]))
    assert plain._.similarity is None and plain._.sentiment in ("positive", "negative")
    assert 0.0 <= pair._.similarity <= 1.0 and pair._.sentiment is None
