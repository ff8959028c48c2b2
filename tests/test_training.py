"""Multi-task training on a tiny backbone: losses, the shared backbone, save and load."""

import json

import pytest
import spacy
from spacy.training.initialize import init_nlp

from nlp_tasks.testing import backbone_parameters, train_steps
from nlp_tasks.training.config import make_config
from nlp_tasks.training.corpus import MultiTaskCorpus


def build(tiny_backbone, data_dir, tasks=("sentiment", "ner")):
    config = make_config(list(tasks), backbone=str(tiny_backbone), max_steps=50)
    config["paths"]["data"] = str(data_dir)
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = init_nlp(config.interpolate())
    corpus = MultiTaskCorpus({t: data_dir / t / "train.jsonl" for t in tasks})
    return nlp, list(corpus(nlp))


def changed(before, after):
    return sum(int(not (before[k] == after[k]).all()) for k in before)


@pytest.fixture(scope="module")
def trained(tiny_backbone, data_dir):
    nlp, examples = build(tiny_backbone, data_dir)
    optimizer = nlp.create_optimizer()
    before = backbone_parameters(nlp)
    history = train_steps(nlp, optimizer, examples, steps=60, batch_size=13)
    return nlp, examples, history, before


def test_losses_fall_for_both_heads(trained):
    _, _, history, _ = trained
    for head in ("sentiment", "ner"):
        first = sum(h[head] for h in history[:5])
        last = sum(h[head] for h in history[-5:])
        assert last < first / 3, (head, first, last)


def test_multitask_training_changes_the_backbone(trained):
    nlp, _, _, before = trained
    assert changed(before, backbone_parameters(nlp)) > 0


def test_heads_learn_their_training_data(trained):
    nlp, examples, _, _ = trained
    scores = nlp.evaluate(examples)
    assert scores["sentiment_acc"] == 1.0
    assert scores["ents_f"] > 0.8


@pytest.mark.parametrize("release", [True, False])
def test_single_task_batch_updates_backbone_through_last_listener(
    tiny_backbone, data_dir, monkeypatch, release
):
    """NER is the last listener; a sentiment-only batch must still move the backbone.

    Without the zero-gradient release the stock entity recognizer returns early
    and the backbone's backward pass never runs: the failure this guards against.
    """
    import nlp_tasks.components.head

    if not release:
        monkeypatch.setattr(nlp_tasks.components.head, "release_listeners", lambda model: 0)
    nlp, examples = build(tiny_backbone, data_dir)
    assert nlp.pipe_names[-1] == "ner"
    sentiment_only = [eg for eg in examples if eg.reference.cats]
    optimizer = nlp.create_optimizer()
    before = backbone_parameters(nlp)
    train_steps(nlp, optimizer, sentiment_only, steps=2, batch_size=4)
    assert (changed(before, backbone_parameters(nlp)) > 0) is release


def test_save_and_load_in_a_fresh_interpreter(trained, tmp_path, python):
    nlp, _, _, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    text = "Jane Smith loved the wonderful film in Paris."
    doc = nlp(text)
    expected = {
        "cats": doc.cats,
        "ents": [(e.text, e.label_) for e in doc.ents],
        "sentiment": doc._.sentiment,
    }
    path = str(tmp_path / "pipeline")
    code = f"""
import json, nlp_tasks, spacy
for nlp in (nlp_tasks.load({path!r}), spacy.load({path!r})):
    doc = nlp({text!r})
    print(json.dumps({{"cats": doc.cats, "ents": [(e.text, e.label_) for e in doc.ents],
                      "sentiment": doc._.sentiment, "score": doc._.sentiment_score}}))
"""
    result = python(code, env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    for line in result.stdout.strip().splitlines():
        loaded = json.loads(line)
        assert loaded["sentiment"] == expected["sentiment"]
        assert loaded["score"] == pytest.approx(max(expected["cats"].values()), abs=1e-5)
        assert [tuple(e) for e in loaded["ents"]] == expected["ents"]


def test_pipe_agrees_with_call(trained):
    nlp, examples, _, _ = trained
    texts = [eg.reference.text for eg in examples[:6]]
    by_call = [(nlp(t).cats, [e.text for e in nlp(t).ents]) for t in texts]
    for _ in range(2):
        by_pipe = [(d.cats, [e.text for e in d.ents]) for d in nlp.pipe(texts, batch_size=4)]
        for (pipe_cats, _), (call_cats, _) in zip(by_pipe, by_call):
            assert pipe_cats == pytest.approx(call_cats, abs=1e-5)
        assert [e for _, e in by_pipe] == [e for _, e in by_call]


def test_long_document_is_encoded_whole(trained):
    nlp, _, _, _ = trained
    text = " ".join(["Jane Smith visited Paris and loved the wonderful food ."] * 80)
    doc = nlp(text)
    assert len(doc) > 700  # several strided windows of 128 tokens
    lengths = doc._.trf_data.align.lengths
    assert len(lengths) == len(doc)
    assert (lengths > 0).all(), "every token, the last ones too, reaches the backbone"
    assert doc._.sentiment in ("positive", "negative")
    assert any(ent.start > 650 for ent in doc.ents), "entities are found past the first window"


@pytest.mark.slow
def test_spacy_train_runs_without_code_in_a_fresh_interpreter(
    tiny_backbone, data_dir, tmp_path, cli, python
):
    import subprocess
    import sys

    config = tmp_path / "config.cfg"
    result = cli(
        "init",
        "config",
        str(config),
        "--tasks",
        "sentiment,ner",
        "--backbone",
        str(tiny_backbone),
        "--max-steps",
        "4",
        "--eval-frequency",
        "2",
    )
    assert result.returncode == 0, result.stderr
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "train",
            str(config),
            "--output",
            str(tmp_path / "out"),
            "--paths.data",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert train.returncode == 0, train.stdout + train.stderr
    model = str(tmp_path / "out" / "model-last")
    code = f"import nlp_tasks; print(nlp_tasks.load({model!r}).pipe_names)"
    assert python(code).stdout.strip() == "['transformer', 'sentiment', 'ner']"
    result = cli("evaluate", str(tmp_path / "out" / "model-last"), "--data", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "sentiment_acc" in result.stdout and "ents_f" in result.stdout


def test_optimizer_steps_leave_no_tensors_behind(tiny_backbone, data_dir):
    """Each step updates the weights in place: no chain of old tensors grows (optimizer.py)."""
    import gc
    import warnings

    import torch

    def tensors():
        gc.collect()
        # isinstance on every live object touches torch's deprecated module proxies
        # (torch.distributed.reduce_op), which warn: not this test's concern.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return sum(isinstance(obj, torch.Tensor) for obj in gc.get_objects())

    nlp, examples = build(tiny_backbone, data_dir)
    optimizer = nlp.create_optimizer()
    train_steps(nlp, optimizer, examples, steps=2, batch_size=13)
    weights = backbone_parameters(nlp)
    before = tensors()
    train_steps(nlp, optimizer, examples, steps=10, batch_size=13)
    assert changed(weights, backbone_parameters(nlp)) > 0
    parameters = len(weights)
    assert tensors() - before < parameters, "old parameter tensors are kept alive"


def two_adam_steps(tiny_backbone, data_dir, snapshot, head_scales=None, **backbone_settings):
    """``snapshot(nlp)`` before and after two Adam steps of sentiment training.

    The head's weights start at zero, so the backbone's first gradient comes at step 2.
    """
    from thinc.api import Adam

    config = make_config(["sentiment"], backbone=str(tiny_backbone))
    config["paths"]["data"] = str(data_dir)
    config["components"]["transformer"]["model"].update(backbone_settings)
    if head_scales is not None:
        config["nlp"]["after_pipeline_creation"]["learn_rate_scales"] = head_scales
    nlp = init_nlp(config.interpolate())
    corpus = MultiTaskCorpus({"sentiment": data_dir / "sentiment" / "train.jsonl"})
    before = snapshot(nlp)
    train_steps(nlp, Adam(0.01), list(corpus(nlp)), steps=2)
    return before, snapshot(nlp)


def two_step_movement(tiny_backbone, data_dir, **settings):
    """How far two Adam steps of sentiment training move the backbone and the head
    (sums of absolute changes); ``settings`` go to ``two_adam_steps``."""

    def weights(nlp):
        head = nlp.get_pipe("sentiment").model
        head_weights = {n.id: n.get_param("W").copy() for n in head.walk() if n.has_param("W")}
        return backbone_parameters(nlp), head_weights

    (backbone, head), (backbone_after, head_after) = two_adam_steps(
        tiny_backbone, data_dir, weights, **settings
    )
    return (
        sum(float((backbone_after[k] - backbone[k]).abs().sum()) for k in backbone),
        sum(float(abs(head_after[k] - head[k]).sum()) for k in head),
    )


def test_backbone_learn_rate_scale_slows_only_the_backbone(tiny_backbone, data_dir):
    """An Adam step moves each weight by about lr * scale: the backbone 4x less, the head not."""
    full_backbone, full_head = two_step_movement(tiny_backbone, data_dir, learn_rate_scale=1.0)
    quarter_backbone, quarter_head = two_step_movement(
        tiny_backbone, data_dir, learn_rate_scale=0.25
    )
    assert full_backbone > 0 and full_head > 0
    assert quarter_backbone / full_backbone == pytest.approx(0.25, rel=0.05)
    assert quarter_head == pytest.approx(full_head, rel=1e-3)


def test_a_head_s_learn_rate_scale_scales_only_its_own_steps(tiny_backbone, data_dir):
    """An Adam step moves each weight by about lr * scale: the head 4x less at 0.25."""
    full_backbone, full_head = two_step_movement(
        tiny_backbone, data_dir, head_scales={"sentiment": 1.0}
    )
    quarter_backbone, quarter_head = two_step_movement(
        tiny_backbone, data_dir, head_scales={"sentiment": 0.25}
    )
    assert full_head > 0 and quarter_backbone > 0
    assert quarter_head / full_head == pytest.approx(0.25, rel=0.05)
    assert quarter_backbone == pytest.approx(full_backbone, rel=0.1)


def test_generated_configs_write_each_task_s_declared_head_rate(monkeypatch):
    import dataclasses

    from nlp_tasks.registry import manager

    real = manager.get_task

    def declared(name):
        task = real(name)
        return dataclasses.replace(task, learn_rate_scale=0.5) if name == "ner" else task

    monkeypatch.setattr(manager, "get_task", declared)
    config = make_config(["sentiment", "ner"])
    block = config["nlp"]["after_pipeline_creation"]
    assert block["@callbacks"] == "nlp_tasks.pipeline_setup.v2"
    assert block["learn_rate_scales"] == {"sentiment": 1.0, "ner": 0.5}


@pytest.mark.parametrize("scale", [0, -0.5, float("nan"), float("inf")])
def test_a_bad_head_rate_is_a_coded_error_when_the_pipeline_is_built(tiny_backbone, scale):
    from nlp_tasks.errors import ConfigError

    config = make_config(["sentiment"], backbone=str(tiny_backbone))
    config["nlp"]["after_pipeline_creation"]["learn_rate_scales"] = {"sentiment": scale}
    with pytest.raises(ConfigError, match=r"\[E140\].*'sentiment' must be a number above 0"):
        init_nlp(config.interpolate())


def test_a_head_rate_for_a_component_left_out_is_passed_over(tiny_backbone, tmp_path):
    # A pipeline loaded without one of its heads still loads; a misspelt name
    # in a training config is shown.
    config = make_config(["sentiment", "ner"], backbone=str(tiny_backbone))
    config["nlp"]["after_pipeline_creation"]["learn_rate_scales"] = {"ner": 0.5}
    nlp = init_nlp(config.interpolate())
    nlp.to_disk(tmp_path / "pipeline")
    with pytest.warns(UserWarning, match=r"\[W008\].*'ner'.*transformer, sentiment"):
        loaded = spacy.load(tmp_path / "pipeline", exclude=["ner"])
    assert loaded.pipe_names == ["transformer", "sentiment"]


def test_a_task_declaring_a_bad_head_rate_is_refused(register_odd_task):
    from nlp_tasks.errors import PluginWarning

    with pytest.warns(PluginWarning, match=r"\[E139\].*'odd'.*got -1.0"):
        tasks = register_odd_task(learn_rate_scale=-1.0)
    assert "odd" not in tasks and "sentiment" in tasks


@pytest.mark.parametrize(
    "names",
    [
        ["embeddings.weight", "encoder.layer.0.q.weight", "encoder.layer.1.q.weight"],
        ["embeddings.weight", "transformer.layer.0.q.weight", "layers.1.q.bias"],
    ],
)
def test_layer_lr_scales_find_layers_by_name(names):
    from nlp_tasks.components.optimizer import layer_lr_scales

    scales = layer_lr_scales(names + ["pooler.dense.weight"], top=0.2, decay=0.5)
    assert [scales[name] for name in names] == pytest.approx([0.05, 0.1, 0.2])
    assert scales["pooler.dense.weight"] == 0.2
    assert layer_lr_scales(["embeddings.weight", "lm_head.weight"], top=0.2, decay=0.5) == {
        "embeddings.weight": 0.2,
        "lm_head.weight": 0.2,
    }


def test_backbone_layer_decay_slows_each_lower_layer_more(tiny_backbone, data_dir):
    """At layer_decay 0.5 layer i of L moves 0.5 ** (L - 1 - i) as far, the embeddings 0.5 ** L."""
    import re

    def movement_by_depth(decay):
        before, after = two_adam_steps(
            tiny_backbone, data_dir, backbone_parameters, layer_decay=decay
        )
        moved: dict[str, float] = {}
        for name in before:
            layer = re.match(r"encoder\.layer\.(\d+)\.", name)
            depth = f"layer {layer.group(1)}" if layer else name.split(".")[0]
            moved[depth] = moved.get(depth, 0.0) + float((after[name] - before[name]).abs().sum())
        return moved

    uniform, decayed = movement_by_depth(1.0), movement_by_depth(0.5)
    layers = sorted(int(depth.split()[1]) for depth in uniform if depth.startswith("layer "))
    assert len(layers) >= 2 and all(uniform[depth] > 0 for depth in uniform if depth != "pooler")
    for i in layers:
        expected = 0.5 ** (len(layers) - 1 - i)
        assert decayed[f"layer {i}"] / uniform[f"layer {i}"] == pytest.approx(expected, rel=0.05)
    ratio = decayed["embeddings"] / uniform["embeddings"]
    assert ratio == pytest.approx(0.5 ** len(layers), rel=0.05)


def test_generated_configs_give_every_torch_module_in_place_steps(tiny_backbone):
    """[nlp.after_pipeline_creation] covers third-party heads that wrap a PyTorch module."""
    import spacy
    import torch
    from spacy.language import Language
    from thinc.api import Adam, PyTorchWrapper_v2

    from nlp_tasks.components.optimizer import make_in_place_updates_callback
    from nlp_tasks.components.thinc_adapter import torch_module

    @Language.factory("test_torch_head")
    def make_torch_head(nlp, name):
        class Head:
            model = PyTorchWrapper_v2(torch.nn.Linear(3, 2))

            def __call__(self, doc):
                return doc

        return Head()

    config = make_config(["sentiment"], backbone=str(tiny_backbone))
    assert config["nlp"]["after_pipeline_creation"]["@callbacks"] == "nlp_tasks.pipeline_setup.v2"
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    shim = nlp.get_pipe("transformer").model.layers[0].shims[0]
    assert shim.finish_update.func.__name__ == "_finish_update_in_place"

    nlp.add_pipe("test_torch_head")
    make_in_place_updates_callback()(nlp)
    head = nlp.get_pipe("test_torch_head").model
    linear = torch_module(head)
    before = linear.weight.detach().clone()
    linear.weight.sum().backward()
    head.finish_update(Adam(0.1))
    assert not torch.equal(before, linear.weight.detach())
    assert linear.weight.grad.abs().sum() == 0


def _summary_writer(nlp, name):
    return lambda doc: doc


def test_two_tasks_writing_one_doc_attribute_are_refused(register_odd_task, tmp_path):
    from spacy.language import Language

    from nlp_tasks.errors import ConfigError
    from nlp_tasks.training.extend import check_addable

    for factory in ("odd", "odd_summary_writer"):
        if not Language.has_factory(factory):
            Language.factory(factory, assigns=["doc._.summary"], func=_summary_writer)
    register_odd_task()
    clash = r"\[E175\] The components 'summarization' and 'odd' both write doc\._\.summary"
    with pytest.raises(ConfigError, match=clash):
        make_config(["summarization", "odd"])
    nlp = spacy.blank("en")
    nlp.add_pipe("odd_summary_writer", name="summaries")
    for split in ("train", "dev"):
        (tmp_path / f"{split}.jsonl").write_text('{"text": "x"}\n', encoding="utf8")
    with pytest.raises(ConfigError, match=r"\[E175\].*'summaries' and 'odd'.*doc\._\.summary"):
        check_addable(nlp, "odd", train=tmp_path / "train.jsonl", dev=tmp_path / "dev.jsonl")
