"""The factory builds one class per QA mode; bad settings are coded ConfigErrors."""

import pytest
import spacy
from nlp_tasks_qa.component import (
    CROSS_MODEL_CONFIG,
    CrossAttentionQuestionAnswerer,
    JointQuestionAnswerer,
    QuestionAnswerer,
)
from thinc.api import Config

from nlp_tasks import ConfigError
from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone
from nlp_tasks.training.config import make_config

BAKERY = "Marta Quell founded the Larkspur Bakery in Dunmore in 1987."
RECORD = {
    "id": "a",
    "context": BAKERY,
    "question": "Who founded the Larkspur Bakery?",
    "answers": {"text": ["Marta Quell"], "answer_start": [0]},
}


def build(backbone="unused", *, cross=False, model=None, training=None, **settings):
    config = make_config(["qa"], backbone=str(backbone))
    if cross:
        config["components"]["qa"]["model"] = Config().from_str(CROSS_MODEL_CONFIG)["model"]
    config["components"]["qa"]["model"].update(model or {})
    config["components"]["qa"].update(settings)
    config["training"].update(training or {})
    return spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


def test_the_model_s_mode_picks_the_component_class():
    joint = build().get_pipe("qa")
    cross = build(cross=True).get_pipe("qa")
    assert type(joint) is JointQuestionAnswerer and joint.mode == "joint"
    assert type(cross) is CrossAttentionQuestionAnswerer and cross.mode == "cross"
    assert isinstance(joint, QuestionAnswerer) and isinstance(cross, QuestionAnswerer)


def test_only_the_joint_mode_checks_the_stride():
    with pytest.raises(ConfigError, match=r"\[QA021\] stride \(400\)"):
        build(stride=400)
    assert build(cross=True, stride=400).get_pipe("qa").cfg["stride"] == 400


@pytest.mark.parametrize("cross", [False, True])
def test_a_window_without_room_for_the_context_is_refused_in_both_modes(cross):
    with pytest.raises(ValueError, match=r"\[QA020\]") as error:
        build(cross=cross, max_question_length=400)
    assert isinstance(error.value, ConfigError)


def test_a_model_that_is_no_qa_architecture_is_refused():
    config = make_config(["qa"], backbone="unused")
    config["components"]["qa"]["model"] = {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": 8,
            "attrs": ["NORM"],
            "rows": [10],
            "include_static_vectors": False,
        },
        "encode": {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": 8,
            "depth": 1,
            "window_size": 1,
            "maxout_pieces": 2,
        },
    }
    with pytest.raises(ConfigError, match=r"\[QA023\] The model of component 'qa'"):
        spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


def test_a_class_given_the_other_mode_s_model_says_to_use_the_factory():
    nlp = build()
    cross_model = build(cross=True).get_pipe("qa").model
    with pytest.raises(ConfigError, match=r"\[QA024\] JointQuestionAnswerer .* 'cross'"):
        JointQuestionAnswerer(nlp, cross_model)


def test_attention_heads_must_divide_the_width():
    with pytest.raises(ConfigError, match=r"\[QA025\] n_heads \(3\) must divide hidden_width"):
        build(cross=True, model={"hidden_width": 16, "n_heads": 3})


def transformer_grads_after_one_update(tmp_path, **training):
    texts = [BAKERY, RECORD["question"]]
    backbone = make_tiny_backbone(tmp_path / "bb", texts, special_tokens=True)
    nlp = build(backbone, training=training, max_length=48, stride=16, max_question_length=16)
    examples = [get_task("qa").make_example(nlp, RECORD)]
    nlp.initialize(lambda: examples)
    nlp.update(examples, sgd=False, exclude=["transformer"])
    transformer = nlp.get_pipe("transformer").model.transformer
    return [p.grad for p in transformer.parameters()]


def test_joint_mode_sends_no_gradient_into_a_frozen_backbone(tmp_path):
    grads = transformer_grads_after_one_update(tmp_path / "trained")
    assert any(grad is not None for grad in grads)
    grads = transformer_grads_after_one_update(
        tmp_path / "frozen", frozen_components=["transformer"]
    )
    assert all(grad is None for grad in grads)
