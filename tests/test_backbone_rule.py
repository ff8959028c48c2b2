"""The core owns the backbone's learning rule, and keeps empty docs from heads (issue 20).

spacy-transformers runs the backbone's backward pass from the last listening
component only. A third-party head that skips a batch without its gold, and
knows nothing of ``SharedBackboneHead``, must not stop the backbone learning
from the other heads when it is last in the pipeline.
"""

import pytest
import spacy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.training.initialize import init_nlp
from thinc.api import Config, Linear, chain, list2ragged, reduce_mean

from nlp_tasks import listener_config
from nlp_tasks.testing import backbone_parameters, train_steps
from nlp_tasks.training.config import make_config
from nlp_tasks.training.corpus import MultiTaskCorpus

_MODEL = Config().from_str(
    """
[model]
@architectures = "test_backbone_rule.Scorer.v1"
"""
    + listener_config("model.tok2vec")
)["model"]


@spacy.registry.architectures("test_backbone_rule.Scorer.v1")
def build_scorer(tok2vec):
    return chain(tok2vec, list2ragged(), reduce_mean(), Linear(nO=1))


@Language.factory("test_backbone_rule_skipper", default_config={"model": _MODEL})
def make_skipper(nlp, name, model):
    return SkippingHead(nlp.vocab, model, name)


class SkippingHead(TrainablePipe):
    """A plain third-party head: it returns from ``update`` at once on a batch
    without its gold (``doc.user_data["skipper"]``), as spaCy's ``ner`` does."""

    def __init__(self, vocab, model, name):
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg = {}

    def initialize(self, get_examples, *, nlp=None):
        docs = [eg.predicted for eg in get_examples()][:4]
        self.model.initialize(X=docs, Y=self.model.ops.alloc2f(len(docs), 1))

    def predict(self, docs):
        return None

    def set_annotations(self, docs, scores):
        pass

    def update(self, examples, *, drop=0.0, sgd=None, losses=None):
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        if not any("skipper" in eg.reference.user_data for eg in examples):
            return losses
        raise AssertionError("this test gives the head no gold")


def build(tiny_backbone, data_dir):
    config = make_config(["sentiment", "ner"], backbone=str(tiny_backbone), max_steps=10)
    config["paths"]["data"] = str(data_dir)
    config["training"]["optimizer"]["learn_rate"] = 0.002
    config["nlp"]["pipeline"].append("skipper")
    config["components"]["skipper"] = {"factory": "test_backbone_rule_skipper"}
    nlp = init_nlp(config.interpolate())
    assert nlp.pipe_names[-1] == "skipper"
    transformer = nlp.get_pipe("transformer")
    assert transformer.listeners[-1] in list(nlp.get_pipe("skipper").model.walk())
    tasks = ("sentiment", "ner")
    examples = list(MultiTaskCorpus({t: data_dir / t / "train.jsonl" for t in tasks})(nlp))
    return nlp, [eg for eg in examples if eg.reference.cats]


def changed(before, after):
    return sum(int(not (before[k] == after[k]).all()) for k in before)


@pytest.fixture(scope="module")
def skipping_pipeline(tiny_backbone, data_dir):
    return build(tiny_backbone, data_dir)


def test_a_last_head_that_skips_its_batches_leaves_the_backbone_learning(skipping_pipeline):
    nlp, sentiment_only = skipping_pipeline
    before = backbone_parameters(nlp)
    train_steps(nlp, nlp.create_optimizer(), sentiment_only, steps=2, batch_size=4)
    assert changed(before, backbone_parameters(nlp)) > 0
    for listener in nlp.get_pipe("transformer").listeners:
        assert listener._batch_id is None, "every listener was released"


def test_the_rule_holds_for_nlp_update_with_an_optimizer(skipping_pipeline):
    nlp, sentiment_only = skipping_pipeline
    optimizer = nlp.create_optimizer()
    before = backbone_parameters(nlp)
    # nlp.update steps the transformer before the heads: the first batch's
    # gradient reaches the weights with the second update.
    for start in (0, 4):
        nlp.update(sentiment_only[start : start + 4], sgd=optimizer)
    assert changed(before, backbone_parameters(nlp)) > 0


def test_gradients_of_batches_without_a_step_between_them_are_kept(skipping_pipeline):
    # accumulate_gradient > 1: two updates with sgd=False, then one step.
    nlp, sentiment_only = skipping_pipeline
    transformer = nlp.get_pipe("transformer").model.transformer
    nlp.update(sentiment_only[:4], sgd=False)
    nlp.update(sentiment_only[4:8], sgd=False)
    grads = [p.grad for p in transformer.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads), "the first batch backpropagated"
    for _, component in nlp.pipeline:
        if getattr(component, "is_trainable", False):
            component.finish_update(nlp.create_optimizer())


def test_a_loaded_pipeline_follows_the_rule(skipping_pipeline, tmp_path):
    nlp, sentiment_only = skipping_pipeline
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    examples = [eg for eg in sentiment_only]
    before = backbone_parameters(loaded)
    train_steps(loaded, loaded.create_optimizer(), examples, steps=2, batch_size=4)
    assert changed(before, backbone_parameters(loaded)) > 0


def test_a_head_added_after_the_pipeline_was_built_is_covered(tiny_backbone, data_dir):
    nlp, sentiment_only = build(tiny_backbone, data_dir)
    nlp.remove_pipe("skipper")
    late = nlp.add_pipe("test_backbone_rule_skipper", name="late")
    late.initialize(lambda: sentiment_only)
    assert nlp.get_pipe("transformer").listeners[-1] in list(late.model.walk())
    before = backbone_parameters(nlp)
    # One step: the transformer's own release before the next batch cannot help.
    train_steps(nlp, nlp.create_optimizer(), sentiment_only, steps=1, batch_size=4)
    assert changed(before, backbone_parameters(nlp)) > 0


class PredictingHead(SkippingHead):
    """A plain head whose ``predict`` runs its model on every doc it is given."""

    def predict(self, docs):
        self.seen = [doc.text for doc in docs]
        return self.model.predict(docs)


@Language.factory("test_backbone_rule_predictor", default_config={"model": _MODEL})
def make_predictor(nlp, name, model):
    return PredictingHead(nlp.vocab, model, name)


def test_empty_docs_never_reach_a_plain_listening_head(skipping_pipeline, tmp_path):
    from nlp_tasks import TaskInputs
    from nlp_tasks.components.routing import route_component

    nlp, sentiment_only = skipping_pipeline
    nlp = spacy.load(_saved(nlp, sentiment_only, tmp_path / "pipeline"))
    head = nlp.get_pipe("predictor")
    # Unrouted, the head's model fails inside spacy-transformers on a batch of
    # nothing but empty docs: this is what the core keeps from every task head.
    with pytest.raises(ValueError, match="concatenate"):
        list(nlp.pipe(["", ""]))
    route_component(head, TaskInputs())
    assert [doc.text for doc in nlp.pipe(["", ""])] == ["", ""]
    assert nlp("").text == ""
    list(nlp.pipe(["", "a fine film", ""]))
    assert head.seen == ["a fine film"]


def _saved(nlp, examples, path):
    nlp.add_pipe("test_backbone_rule_predictor", name="predictor")
    nlp.get_pipe("predictor").initialize(lambda: examples)
    nlp.to_disk(path)
    nlp.remove_pipe("predictor")
    return path
