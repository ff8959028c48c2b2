"""Config generation and the errors of the command line."""

import pytest
from thinc.api import Config

from nlp_tasks.components.backbone import BackboneError, resolve_backbone
from nlp_tasks.registry.manager import PluginError
from nlp_tasks.training.config import make_config

LISTENER = "spacy-transformers.TransformerListener.v1"


def _blocks(block):
    """A config block and every block nested in it."""
    yield block
    for value in block.values():
        if isinstance(value, dict):
            yield from _blocks(value)


def test_config_has_shared_transformer_one_head_per_task_and_a_multitask_reader():
    config = make_config(["sentiment", "ner"], backbone="some/model", gpu=True)
    assert config["nlp"]["pipeline"] == ["transformer", "sentiment", "ner"]
    assert config["components"]["sentiment"]["factory"] == "nlp_tasks_sentiment"
    assert config["components"]["ner"]["factory"] == "nlp_tasks_ner"
    for head in ("sentiment", "ner"):
        blocks = list(_blocks(config["components"][head]["model"]))
        listeners = [b for b in blocks if b.get("@architectures") == LISTENER]
        assert len(listeners) == 1 and listeners[0]["upstream"] == "*"
    model = config["components"]["transformer"]["model"]
    assert model["name"] == "some/model" and model["mixed_precision"] is True
    assert model["get_spans"]["@span_getters"] == "nlp_tasks.segmented_spans.v1"
    assert config["system"]["gpu_allocator"] == "pytorch"
    train = config["corpora"]["train"]
    assert train["@readers"] == "nlp_tasks.MultiTaskCorpus.v1" and train["shuffle"] is True
    assert set(train["sources"]) == {"sentiment", "ner"}
    assert config["training"]["batcher"]["discard_oversize"] is False  # nothing silently dropped
    weights = config["training"]["score_weights"]
    assert weights["sentiment_acc"] == weights["ents_f"] == 0.5


def _tasks_a_batch(config, stream):
    """How many of the stream's kinds (first word of each text) each batch holds."""
    import spacy
    from spacy.util import registry

    batcher = registry.resolve({"batcher": config["training"]["batcher"]})["batcher"]
    nlp = spacy.blank("en")
    docs = [nlp(text) for text in stream]
    return [len({doc[0].text for doc in batch}) for batch in batcher(docs)]


def test_a_text_writing_head_trained_with_others_is_warned_about_and_the_batcher_says_why():
    import warnings

    from nlp_tasks.training import recipe

    # Short texts drawn in turn with long ones: the generated batcher sorts them into
    # batches of their own (the translation pairs of the six-task run came in 19% of
    # the steps, and the decoder never spoke); the recipe's mixing batcher, the one
    # W014 offers, keeps both in every batch.
    stream = [("short " * 8) if i % 2 else ("long " * 120) for i in range(200)]
    with pytest.warns(UserWarning, match=r"\[W014\] translation write\(s\) text .* sentiment"):
        config = make_config(["sentiment", "translation"], backbone="some/model")
    assert max(_tasks_a_batch(config, stream)) == 1
    config["training"]["batcher"] = dict(recipe.MIXING_BATCHER)
    mixed = _tasks_a_batch(config, stream)
    assert len(mixed) > 5 and min(mixed[:-1]) == 2
    # No warning without a decoder, nor for a decoder alone.
    for tasks in (["sentiment", "ner"], ["translation"]):
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r"\[W014\]")
            make_config(tasks, backbone="some/model")


def test_config_round_trips_and_paths_are_overridable(tmp_path):
    path = tmp_path / "config.cfg"
    make_config(["ner"]).to_disk(path)
    config = Config().from_disk(path, overrides={"paths.data": "/data"})
    assert config["corpora"]["train"]["sources"]["ner"] == "/data/ner/train.jsonl"
    assert config["corpora"]["dev"]["sources"]["ner"] == "/data/ner/dev.jsonl"


def test_a_task_weight_can_be_set_at_spacy_train(tmp_path, data_dir):
    # The generated config holds an empty [corpora.train.weights], so a spaCy
    # override (--corpora.train.weights.ner 3) can fill it.
    from spacy.util import registry

    path = tmp_path / "config.cfg"
    make_config(["sentiment", "ner"]).to_disk(path)
    overrides = {"paths.data": str(data_dir), "corpora.train.weights.ner": 3}
    config = Config().from_disk(path, overrides=overrides)
    corpora = registry.resolve({"corpora": config["corpora"]})["corpora"]
    assert corpora["train"].weights == {"ner": 3.0}
    assert Config().from_disk(path)["corpora"]["train"]["weights"] == {}


def test_unknown_task_is_a_coded_error():
    with pytest.raises(PluginError, match=r"\[E002\].*'translate'.*Available tasks"):
        make_config(["translate"])


@pytest.mark.parametrize("lang", ["zz", 'e"n', ""])
def test_unknown_language_is_a_coded_error(lang):
    # `nlp-tasks init config --lang zz` showed spaCy's ImportError as a traceback.
    from nlp_tasks.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[E165\] Unknown language code"):
        make_config(["sentiment"], lang=lang)


def test_missing_backbone_path_is_a_coded_error(tmp_path):
    with pytest.raises(BackboneError, match=r"\[E014\].*does-not-exist.*--backbone"):
        resolve_backbone(str(tmp_path / "does-not-exist"))


def test_default_backbone_resolves_to_the_bundled_copy():
    from pathlib import Path

    from nlp_tasks.registry.default_backbones import DEFAULT_BACKBONE

    path = Path(resolve_backbone(DEFAULT_BACKBONE))
    assert (path / "config.json").exists() and (path / "tokenizer.json").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["init", "config", "-", "--tasks", "sentiment,nope"], "[E002] No installed plugin"),
        (["init", "config", "-", "--tasks", "ner", "--backbone", "./missing-model"], "[E014]"),
        (["predict", "./no-such-pipeline", "hello"], "[E008]"),
    ],
)
def test_cli_errors_are_one_clean_line(cli, args, message):
    result = cli(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_loading_a_pipeline_whose_plugin_is_missing_names_the_factory(tmp_path):
    import spacy

    from nlp_tasks import load

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "p")
    config = (tmp_path / "p" / "config.cfg").read_text()
    (tmp_path / "p" / "config.cfg").write_text(
        config.replace('factory = "sentencizer"', 'factory = "nlp_tasks_keyphrases"')
    )
    with pytest.raises(PluginError, match=r"\[E005\].*'sentencizer'.*nlp_tasks_keyphrases"):
        load(tmp_path / "p")


def test_init_config_command_writes_a_loadable_config(cli, tmp_path):
    result = cli(
        "init", "config", str(tmp_path / "c.cfg"), "--tasks", "sentiment,ner",
        "--learn-rate", "1e-3", "--backbone-learn-rate-scale", "0.1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = Config().from_disk(tmp_path / "c.cfg")
    assert config["nlp"]["pipeline"] == ["transformer", "sentiment", "ner"]
    assert config["training"]["optimizer"]["learn_rate"]["initial_rate"] == 1e-3
    assert config["components"]["transformer"]["model"]["learn_rate_scale"] == 0.1


def test_loading_a_folder_that_is_not_a_pipeline_names_the_pipelines_inside(tmp_path):
    from nlp_tasks import load
    from nlp_tasks.errors import PipelineNotFoundError

    for name in ("model-best", "model-last"):
        (tmp_path / "training" / name).mkdir(parents=True)
        (tmp_path / "training" / name / "config.cfg").write_text("[nlp]\n")
    with pytest.raises(
        PipelineNotFoundError, match=r"\[E145\].*training.*model-best, .*model-last"
    ):
        load(tmp_path / "training")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PipelineNotFoundError, match=r"\[E145\] .*empty is not a pipeline"):
        load(empty)


@pytest.mark.parametrize("name", ["", "  "])
def test_loading_an_empty_name_says_so_not_what_the_working_directory_holds(
    name, tmp_path, monkeypatch
):
    from nlp_tasks import load
    from nlp_tasks.errors import ArgumentError

    # Path("") is the working directory, which here holds a pipeline folder.
    (tmp_path / "model-best").mkdir()
    (tmp_path / "model-best" / "config.cfg").write_text("[nlp]\n")
    monkeypatch.chdir(tmp_path)
    expected = r"\[E152\] nlp_tasks.load: name .*not (an empty|a blank) string"
    with pytest.raises(ArgumentError, match=expected):
        load(name)
