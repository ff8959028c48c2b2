"""The core's decoder head: target tokenizers, generation settings, warm start, warnings."""

import warnings

import pytest
import spacy
import torch
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import Config

from nlp_tasks.components.head import listener_config
from nlp_tasks.errors import ConfigError
from nlp_tasks.generation import GenerativeHead, check_generation_settings
from nlp_tasks.generation.decoder import build_transformer_decoder, decoder_module
from nlp_tasks.generation.head import _listener_width
from nlp_tasks.generation.target_tokenizer import TargetTokenizer, TargetTokenizerError
from nlp_tasks.testing import train_steps

if not Doc.has_extension("echo"):
    Doc.set_extension("echo", default=None)

ECHO_MODEL = Config().from_str(
    """
[model]
@architectures = "nlp_tasks.TransformerDecoder.v1"
hidden_width = 32
depth = 1
heads = 2
ffn_width = 64
dropout = 0.0
max_positions = 64
init_from_backbone = false
"""
    + listener_config("model.tok2vec")
)["model"]


class Echo(GenerativeHead):
    """A throwaway head whose target is the reference doc's ``echo`` extension."""

    def target_of(self, example):
        return example.reference._.echo

    def set_output(self, doc, text):
        doc._.echo = text


@Language.factory(
    "test_echo",
    default_config={
        "model": ECHO_MODEL,
        "target_tokenizer": "train",
        "max_target_tokens": 16,
        "generation": {"num_beams": 1, "max_new_tokens": 32},
        "max_new_tokens_ratio": None,
        "max_new_tokens_offset": 10,
        "max_source_tokens": 1024,
        "label_smoothing": 0.0,
    },
)
def make_echo(
    nlp,
    name,
    model,
    target_tokenizer,
    max_target_tokens,
    generation,
    max_new_tokens_ratio,
    max_new_tokens_offset,
    max_source_tokens,
    label_smoothing,
):
    return Echo(
        nlp.vocab,
        model,
        name,
        target_tokenizer=target_tokenizer,
        target_vocab_size=300,
        max_target_tokens=max_target_tokens,
        generation=generation,
        max_new_tokens_ratio=max_new_tokens_ratio,
        max_new_tokens_offset=max_new_tokens_offset,
        max_source_tokens=max_source_tokens,
        label_smoothing=label_smoothing,
    )


def echo_pipeline(backbone, **settings):
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "transformer",
        config={
            "model": {
                "@architectures": "nlp_tasks.Backbone.v1",
                "name": str(backbone),
                "get_spans": {
                    "@span_getters": "spacy-transformers.strided_spans.v1",
                    "window": 16,
                    "stride": 12,
                },
            }
        },
    )
    nlp.add_pipe("test_echo", name="echo", config=settings)
    return nlp


def examples_for(nlp, pairs):
    from spacy.training import Example

    examples = []
    for source, target in pairs:
        reference = nlp.make_doc(source)
        reference._.echo = target
        examples.append(Example(nlp.make_doc(source), reference))
    return examples


def test_unknown_generation_setting_suggests_the_right_name():
    with pytest.raises(ValueError, match=r"E020.*'num_beam'.*num_beams"):
        check_generation_settings({"num_beam": 4}, component="x")
    with pytest.raises(ValueError, match=r"'batch_size' for 'x' \(no setting is named like it\)"):
        check_generation_settings({"batch_size": 4}, component="x")
    assert check_generation_settings({"num_beams": 4}) == {"num_beams": 4}


def test_trained_tokenizer_round_trips_through_bytes():
    tokenizer = TargetTokenizer.train(["ein Haus am See", "zwei Häuser"], vocab_size=300)
    ids, cut = tokenizer.encode(["zwei Häuser am See"], max_tokens=64)
    assert cut == 0 and ids[0][0] == tokenizer.bos_id and ids[0][-1] == tokenizer.eos_id
    again = TargetTokenizer.from_bytes(tokenizer.to_bytes())
    assert again.encode(["zwei Häuser am See"], max_tokens=64)[0] == ids
    assert again.decode(ids[0][1:]) == "zwei Häuser am See"


def test_encode_cuts_long_targets_and_counts_them():
    tokenizer = TargetTokenizer.train(["a b c d e f g h"], vocab_size=300)
    ids, cut = tokenizer.encode(["a b c d e f g h", "a"], max_tokens=5)
    assert cut == 1
    assert len(ids[0]) == 5 and ids[0][-1] == tokenizer.eos_id


def test_backbone_tokenizer_keeps_its_decoding(tiny_backbone):
    from transformers import AutoTokenizer

    tokenizer = TargetTokenizer(AutoTokenizer.from_pretrained(str(tiny_backbone)), "backbone")
    ids, _ = tokenizer.encode(["the food was cold ."], max_tokens=32)
    again = TargetTokenizer.from_bytes(tokenizer.to_bytes())
    assert again.decode(ids[0]) == tokenizer.decode(ids[0])
    assert tokenizer.decode(ids[0]).startswith("the food was cold")


def test_slow_tokenizer_is_refused(tiny_backbone):
    from transformers import BertTokenizer

    with pytest.raises(TargetTokenizerError, match="E017"):
        TargetTokenizer(BertTokenizer.from_pretrained(str(tiny_backbone)), "slow")


def test_long_targets_warn_with_a_count(tiny_backbone):
    nlp = echo_pipeline(tiny_backbone, max_target_tokens=4)
    pairs = [("the food was cold", "a b c d e f"), ("great film", "a")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nlp.initialize(lambda: examples_for(nlp, pairs))
    messages = [str(w.message) for w in caught if "W004" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("[W004] 1 of 2 training targets")


def test_a_head_without_targets_in_the_corpus_says_so(tiny_backbone):
    nlp = echo_pipeline(tiny_backbone)
    examples = examples_for(nlp, [("the food was cold", None)])
    with pytest.raises(ValueError, match="E021"):
        nlp.initialize(lambda: examples)


def test_echo_head_learns_and_long_sources_are_encoded_whole(tiny_backbone):
    nlp = echo_pipeline(tiny_backbone)
    long_source = " ".join(["the food was cold and the service slow"] * 6)  # > 3 windows
    pairs = [("great film", "yes"), ("terrible food", "no"), (long_source, "long")]
    examples = examples_for(nlp, pairs)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    history = train_steps(nlp, optimizer, examples, steps=60, batch_size=3)
    assert history[-1]["echo"] < history[0]["echo"] / 10
    assert [doc._.echo for doc in nlp.pipe([s for s, _ in pairs])] == ["yes", "no", "long"]
    assert decoder_module(nlp.get_pipe("echo").model) is not None


def test_warm_start_needs_the_backbone_tokenizer(tiny_backbone):
    with pytest.raises(ValueError, match="E022"):
        echo_pipeline(tiny_backbone, model={"init_from_backbone": True})


def test_warm_start_copies_the_backbone_checkpoint(tiny_backbone):
    import torch
    from transformers import AutoModel

    nlp = echo_pipeline(
        tiny_backbone, target_tokenizer="backbone", model={"init_from_backbone": True}
    )
    nlp.initialize(lambda: examples_for(nlp, [("great film", "good")]))
    decoder = decoder_module(nlp.get_pipe("echo").model).decoder
    backbone = AutoModel.from_pretrained(str(tiny_backbone))
    assert decoder.config.hidden_size == backbone.config.hidden_size
    assert torch.equal(
        decoder.get_input_embeddings().weight, backbone.get_input_embeddings().weight
    )
    tokenizer = nlp.get_pipe("echo").target_tokenizer
    assert tokenizer.bos_id == tokenizer.tokenizer.cls_token_id


def test_decoder_width_must_split_evenly_over_heads():
    from thinc.api import noop

    with pytest.raises(ConfigError, match=r"\[E026\].*hidden_width \(30\).*heads \(4\)"):
        build_transformer_decoder(noop(), hidden_width=30, heads=4)


def test_a_decoder_without_a_listener_is_a_coded_error():
    from thinc.api import noop

    with pytest.raises(ConfigError, match=r"\[E028\].*TransformerListener"):
        _listener_width(build_transformer_decoder(noop()))


@pytest.mark.parametrize("method", ["target_of", "set_output"])
def test_a_head_that_lacks_a_task_method_names_it(method):
    class Bare(GenerativeHead):
        pass

    head = Bare.__new__(Bare)
    call = {
        "target_of": lambda: head.target_of(None),
        "set_output": lambda: head.set_output(None, "x"),
    }
    with pytest.raises(NotImplementedError, match=rf"\[E027\] Bare .*{method}\(\)"):
        call[method]()


def test_decoding_runs_at_bf16_and_int8(tiny_backbone):
    from nlp_tasks.precision import floating_dtype, set_precision

    nlp = echo_pipeline(tiny_backbone)
    pairs = [("great film", "yes"), ("terrible food", "no"), ("an ordinary day", "maybe")]
    examples = examples_for(nlp, pairs)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    train_steps(nlp, optimizer, examples, steps=60, batch_size=3)
    sources = [source for source, _ in pairs]
    assert [doc._.echo for doc in nlp.pipe(sources)] == ["yes", "no", "maybe"]
    assert set_precision(nlp, "bf16") == "bf16"
    decoder = decoder_module(nlp.get_pipe("echo").model)
    assert floating_dtype(decoder) == torch.bfloat16
    # generate() takes the memory in the decoder's dtype; the trained answers hold.
    assert [doc._.echo for doc in nlp.pipe(sources)] == ["yes", "no", "maybe"]
    assert set_precision(nlp, "fp32") == "fp32" and floating_dtype(decoder) == torch.float32
    assert set_precision(nlp, "int8") == "int8"
    assert all(isinstance(doc._.echo, str) for doc in nlp.pipe(sources))


def never_stopping_echo(tiny_backbone, **settings):
    # An initialized head whose decoder can never choose EOS by itself, so only
    # a length limit ends its output.
    nlp = echo_pipeline(
        tiny_backbone, generation={"num_beams": 1, "max_new_tokens": 40}, **settings
    )
    nlp.initialize(lambda: examples_for(nlp, [("great film", "yes"), ("bad food", "no")]))
    head = nlp.get_pipe("echo")
    output_layer = decoder_module(head.model).decoder.get_output_embeddings()
    with torch.no_grad():
        # PAD too: _strip_ids drops it, which would shorten the output.
        output_layer.bias[[head.target_tokenizer.eos_id, head.target_tokenizer.pad_id]] = -1e4
    return nlp, head


@pytest.mark.parametrize("num_beams", [1, 3])
def test_each_output_ends_at_a_limit_that_follows_its_source(tiny_backbone, num_beams):
    nlp, head = never_stopping_echo(
        tiny_backbone, max_new_tokens_ratio=1.5, max_new_tokens_offset=2
    )
    head.cfg["generation"]["num_beams"] = num_beams
    docs = list(nlp.pipe(["a b c", "one two three four five six seven eight", "x"]))
    # ceil(1.5 * source tokens + 2): 3 tokens -> 7, 8 -> 14, 1 -> 4; each doc its own.
    assert [len(ids) for ids in head.predict(docs)] == [7, 14, 4]


def test_without_a_ratio_only_max_new_tokens_limits_the_output(tiny_backbone):
    nlp, head = never_stopping_echo(tiny_backbone)
    docs = list(nlp.pipe(["a b c", "x"]))
    assert [len(ids) for ids in head.predict(docs)] == [40, 40]
    # max_new_tokens stays the upper bound when the ratio would allow more (however much).
    head.cfg.update(max_new_tokens_ratio=1e300, max_new_tokens_offset=0)
    assert [len(ids) for ids in head.predict(docs)] == [40, 40]


def test_a_loaded_pipeline_takes_its_length_limit_from_the_config(tiny_backbone, tmp_path):
    nlp, _ = never_stopping_echo(tiny_backbone, max_new_tokens_ratio=1.0, max_new_tokens_offset=1)
    nlp.to_disk(tmp_path / "echo")
    loaded = spacy.load(tmp_path / "echo")
    assert [len(ids) for ids in loaded.get_pipe("echo").predict([loaded("a b c")])] == [4]
    changed = spacy.load(
        tmp_path / "echo", config={"components": {"echo": {"max_new_tokens_offset": 5}}}
    )
    assert [len(ids) for ids in changed.get_pipe("echo").predict([changed("a b c")])] == [8]


@pytest.mark.parametrize(
    "ratio, offset", [(0, 10), (-1.0, 10), ("2", 10), (True, 10), (2.0, -1), (2.0, 1.5)]
)
def test_a_bad_length_limit_is_a_coded_error(tiny_backbone, ratio, offset):
    with pytest.raises(ConfigError, match=r"\[E155\] .*'echo'"):
        echo_pipeline(tiny_backbone, max_new_tokens_ratio=ratio, max_new_tokens_offset=offset)


def test_the_limit_gives_way_to_min_new_tokens(tiny_backbone):
    nlp, head = never_stopping_echo(
        tiny_backbone, max_new_tokens_ratio=1.0, max_new_tokens_offset=1
    )
    docs = list(nlp.pipe(["a b c", "x"]))
    head.cfg["generation"]["min_new_tokens"] = 6
    assert [len(ids) for ids in head.predict(docs)] == [6, 6]


def test_several_outputs_per_doc_is_a_coded_error(tiny_backbone):
    nlp, head = never_stopping_echo(tiny_backbone)
    docs = list(nlp.pipe(["a b c", "x"]))
    with pytest.raises(ValueError, match=r"\[E156\] 'echo' .*got 2"):
        head.generate(docs, num_beams=2, num_return_sequences=2)


@pytest.mark.parametrize(
    "setting, value",
    [
        ("num_beams", 0),
        ("max_new_tokens", -1),
        ("max_new_tokens", "3"),
        ("num_beams", True),
        ("num_beams", None),
        ("length_penalty", "x"),
        ("length_penalty", float("nan")),
        ("top_p", 2.0),
        ("temperature", 0),
    ],
)
def test_a_count_setting_out_of_range_is_a_coded_error(setting, value):
    with pytest.raises(ValueError, match=rf"\[E157\] .*'{setting}' of 'x'.*{value!r}"):
        check_generation_settings({setting: value}, component="x")
    assert check_generation_settings({"min_new_tokens": 0, "num_beams": 2}) is not None


def test_more_new_tokens_than_the_decoder_has_positions_end_at_its_last(tiny_backbone):
    # The echo decoder has 64 positions: the BOS and 63 new tokens.
    nlp, head = never_stopping_echo(tiny_backbone)
    docs = list(nlp.pipe(["a b c"]))
    head.cfg["generation"]["max_new_tokens"] = 100
    with pytest.warns(UserWarning, match=r"\[W011\] 'echo' .*up to 100 new tokens.*at most 63"):
        assert [len(ids) for ids in head.predict(docs)] == [63]
    head.cfg["generation"]["min_new_tokens"] = 80
    assert [len(ids) for ids in head.predict(docs)] == [63]
    # As a per-call override, the documented way, it is no crash either.
    assert len(head.generate(docs, max_new_tokens=90, min_new_tokens=90)) == 1


def test_init_config_warns_when_a_head_drops_train_path():
    from nlp_tasks.training.config import initialize_settings

    class NoPath(Echo):
        def initialize(self, get_examples, *, nlp=None):
            super().initialize(get_examples, nlp=nlp)

    with pytest.warns(UserWarning, match=r"\[W012\] NoPath \(task 'echo'\).*train_path=None"):
        assert initialize_settings(NoPath.__new__(NoPath), "echo") == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = initialize_settings(Echo.__new__(Echo), "echo")
    assert settings == {"train_path": "${paths.echo_train}"}


def test_generation_settings_that_hugging_face_refuses_fail_at_load(tiny_backbone):
    with pytest.raises(ValueError, match=r"\[E158\] .*'echo'.*temperature"):
        echo_pipeline(tiny_backbone, generation={"temperature": 0.7})
    nlp, head = never_stopping_echo(tiny_backbone)
    with pytest.raises(ValueError, match=r"\[E158\] .*'echo'.*early_stopping"):
        head.generate(list(nlp.pipe(["a b"])), num_beams=2, early_stopping="sometimes")


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"max_source_tokens": 0}, "max_source_tokens"),
        ({"max_source_tokens": -1}, "max_source_tokens"),
        ({"label_smoothing": 5.0}, "label_smoothing"),
        ({"model": {"max_positions": 2}}, "max_positions"),
    ],
)
def test_a_head_setting_out_of_range_is_a_coded_error(tiny_backbone, settings, key):
    with pytest.raises(ConfigError, match=rf"\[E159\] Setting '{key}'"):
        echo_pipeline(tiny_backbone, **settings)


def test_a_per_call_max_length_is_not_overruled_by_max_new_tokens(tiny_backbone):
    _, head = never_stopping_echo(tiny_backbone)
    assert head.generation_config().max_new_tokens == 40
    config = head.generation_config(max_length=5)
    assert config.max_new_tokens is None and config.max_length == 5


def test_a_loaded_pipeline_reads_max_source_tokens_from_its_config(tiny_backbone, tmp_path):
    nlp, _ = never_stopping_echo(tiny_backbone)
    nlp.to_disk(tmp_path / "echo")
    changed = spacy.load(
        tmp_path / "echo", config={"components": {"echo": {"max_source_tokens": 2}}}
    )
    assert changed.get_pipe("echo").cfg["max_source_tokens"] == 2


def test_generate_names_what_it_takes_and_docs_without_the_transformer(tiny_backbone):
    from nlp_tasks.errors import ArgumentError

    nlp, head = never_stopping_echo(tiny_backbone)
    with pytest.raises(ArgumentError, match=r"\[E152\] Echo.generate: docs .*of type str"):
        head.generate("the cat sleeps")
    with pytest.raises(ArgumentError, match=r"\[E152\] .*of type Doc"):
        head.generate(nlp("the cat sleeps"))
    with pytest.raises(ArgumentError, match=r"\[E152\] .*an item of type str"):
        head.generate(["the cat sleeps"])
    with pytest.raises(ValueError, match=r"\[E160\] 'echo' .*doc 1 of the batch"):
        head.generate([nlp("a b"), nlp.make_doc("the cat sleeps")])
