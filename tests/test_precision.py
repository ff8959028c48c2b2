"""Precision at inference: fp32, bf16, int8 and auto, set at load and kept in the config."""

import dataclasses
import shutil

import pytest
import spacy
import torch
from thinc.api import Config

import nlp_tasks
from nlp_tasks import precision as precision_module
from nlp_tasks.batch.process import process_records
from nlp_tasks.errors import PluginWarning, PrecisionError
from nlp_tasks.precision import pipeline_precision, set_precision, torch_modules
from nlp_tasks.registry import manager as plugins

TEXTS = [
    "The film was wonderful and Maria Lopez loved it.",
    "Terrible service in Berlin, cold food.",
    "An ordinary day.",
]
# bf16 keeps 8 bits of mantissa: on the tiny test backbone the heads' scores move
# by well under this much.
BF16_TOLERANCE = 0.02


def scores(nlp) -> list[dict[str, float]]:
    return [doc.cats for doc in nlp.pipe(TEXTS)]


def backbone_dtype(nlp) -> torch.dtype:
    return next(nlp.get_pipe("transformer").model.transformer.parameters()).dtype


def close(left: list[dict[str, float]], right: list[dict[str, float]], tolerance: float) -> bool:
    return all(abs(a[label] - b[label]) <= tolerance for a, b in zip(left, right) for label in a)


@pytest.fixture
def pipeline_copy(pipeline_dir, tmp_path):
    path = tmp_path / "pipeline"
    shutil.copytree(pipeline_dir, path)
    return path


def with_precisions(monkeypatch, *extra: str) -> None:
    """Make every task declare ``extra`` precisions too, as a plugin that measured them would."""
    original = plugins.task_for_factory

    def task_for_factory(factory):
        task = original(factory)
        if task is None:
            return None
        return dataclasses.replace(task, precisions=(*task.precisions, *extra))

    monkeypatch.setattr(plugins, "task_for_factory", task_for_factory)


def test_the_default_is_fp32(pipeline_dir):
    nlp = nlp_tasks.load(pipeline_dir)
    assert pipeline_precision(nlp) == "fp32"
    assert backbone_dtype(nlp) == torch.float32
    assert nlp.config["nlp"]["after_pipeline_creation"]["precision"] == "fp32"


def test_bf16_casts_every_module_and_keeps_outputs_close(pipeline_dir):
    reference = scores(nlp_tasks.load(pipeline_dir))
    nlp = nlp_tasks.load(pipeline_dir, precision="bf16")
    assert pipeline_precision(nlp) == "bf16"
    assert {next(m.parameters()).dtype for m in torch_modules(nlp)} == {torch.bfloat16}
    bf16 = scores(nlp)
    assert bf16 != reference  # it did compute in bf16
    assert close(bf16, reference, BF16_TOLERANCE)
    # What the heads read stays float32: numpy has no bfloat16.
    doc = nlp(TEXTS[0])
    assert doc._.trf_data.model_output.last_hidden_state.dtype == "float32"


def test_the_setting_survives_saving_and_loading(pipeline_dir, tmp_path):
    nlp = nlp_tasks.load(pipeline_dir, precision="bf16")
    nlp.to_disk(tmp_path / "saved")
    config = Config().from_disk(tmp_path / "saved" / "config.cfg")
    assert config["nlp"]["after_pipeline_creation"]["precision"] == "bf16"
    again = nlp_tasks.load(tmp_path / "saved")
    assert pipeline_precision(again) == "bf16"
    assert close(scores(again), scores(nlp), 1e-6)


def test_spacy_load_reads_the_config_setting(pipeline_copy):
    # What an installed `spacy package` does: spacy.load of the directory, its config as saved.
    config_path = pipeline_copy / "config.cfg"
    config = Config().from_disk(config_path)
    config["nlp"]["after_pipeline_creation"]["precision"] = "bf16"
    config.to_disk(config_path)
    nlp = spacy.load(pipeline_copy)
    assert backbone_dtype(nlp) == torch.bfloat16
    # An explicit choice at load time wins over the config.
    assert backbone_dtype(nlp_tasks.load(pipeline_copy, precision="fp32")) == torch.float32


def test_auto_picks_bf16_only_with_native_bf16(pipeline_dir, monkeypatch):
    monkeypatch.setattr(precision_module, "has_native_bf16", lambda device="cpu": False)
    assert pipeline_precision(nlp_tasks.load(pipeline_dir, precision="auto")) == "fp32"
    monkeypatch.setattr(precision_module, "has_native_bf16", lambda device="cpu": True)
    nlp = nlp_tasks.load(pipeline_dir, precision="auto")
    assert pipeline_precision(nlp) == "bf16"
    assert nlp.config["nlp"]["after_pipeline_creation"]["precision"] == "auto"


def test_an_unknown_precision_is_a_coded_error(pipeline_dir):
    with pytest.raises(PrecisionError, match=r"E134.*fp16.*fp32, bf16, int8, auto"):
        nlp_tasks.load(pipeline_dir, precision="fp16")


def test_int8_is_refused_for_a_head_that_does_not_declare_it(pipeline_dir):
    with pytest.raises(PrecisionError, match=r"E135.*'sentiment'.*int8.*fp32, bf16"):
        nlp_tasks.load(pipeline_dir, precision="int8")


def test_int8_quantizes_linear_layers_where_declared_and_refuses_to_save(
    pipeline_dir, tmp_path, monkeypatch
):
    with_precisions(monkeypatch, "int8")
    nlp = nlp_tasks.load(pipeline_dir, precision="int8")
    backbone = nlp.get_pipe("transformer").model.transformer
    linear = [module for module in backbone.modules() if type(module).__name__ == "Linear"]
    assert linear and all("quantized" in type(module).__module__ for module in linear)
    assert all(0.0 <= score <= 1.0 for cats in scores(nlp) for score in cats.values())
    with pytest.raises(PrecisionError, match="E136"):
        nlp.to_disk(tmp_path / "int8")
    assert not (tmp_path / "int8" / "config.cfg").exists()
    with pytest.raises(PrecisionError, match="E137"):
        set_precision(nlp, "fp32")


def test_bf16_goes_back_to_fp32_in_memory(pipeline_dir):
    nlp = nlp_tasks.load(pipeline_dir, precision="bf16")
    assert set_precision(nlp, "fp32") == "fp32"
    assert backbone_dtype(nlp) == torch.float32
    assert nlp.config["nlp"]["after_pipeline_creation"]["precision"] == "fp32"
    assert close(scores(nlp), scores(nlp_tasks.load(pipeline_dir)), BF16_TOLERANCE)


@pytest.mark.parametrize(
    "older", ["nlp_tasks.in_place_torch_updates.v1", "nlp_tasks.pipeline_setup.v1"]
)
def test_older_configs_take_a_precision_at_load(pipeline_copy, older):
    # Pipelines trained before precision (and before head learning rates)
    # existed name older callbacks.
    config_path = pipeline_copy / "config.cfg"
    config = Config().from_disk(config_path)
    config["nlp"]["after_pipeline_creation"] = {"@callbacks": older}
    config.to_disk(config_path)
    assert pipeline_precision(nlp_tasks.load(pipeline_copy)) == "fp32"
    nlp = nlp_tasks.load(pipeline_copy, precision="bf16")
    assert pipeline_precision(nlp) == "bf16"
    assert nlp.config["nlp"]["after_pipeline_creation"]["@callbacks"] == (
        "nlp_tasks.pipeline_setup.v2"
    )


def test_training_stays_fp32_whatever_the_config_says(nlp):
    from spacy.training.initialize import init_nlp

    config = nlp.config.copy()
    config["nlp"]["after_pipeline_creation"]["precision"] = "bf16"
    trained = init_nlp(config.interpolate())
    assert backbone_dtype(trained) == torch.float32


def test_process_records_takes_a_precision(pipeline_dir):
    fp32 = [r.output["sentiment"]["cats"] for r in process_records(pipeline_dir, TEXTS)]
    bf16 = [
        r.output["sentiment"]["cats"]
        for r in process_records(pipeline_dir, TEXTS, precision="bf16")
    ]
    assert bf16 != fp32 and close(bf16, fp32, BF16_TOLERANCE)


def test_cli_checks_and_uses_the_precision(pipeline_dir, cli):
    bad = cli("predict", str(pipeline_dir), "A text.", "--precision", "fp16")
    assert bad.returncode == 2 and "fp32, bf16, int8, auto" in bad.stderr
    good = cli("predict", str(pipeline_dir), TEXTS[0], "--precision", "bf16", "--format", "json")
    assert good.returncode == 0, good.stderr
    assert '"sentiment"' in good.stdout


def test_a_task_declaring_an_unknown_precision_is_refused(register_odd_task):
    with pytest.warns(PluginWarning, match=r"\[E134\].*fp16.*task 'odd'"):
        tasks = register_odd_task(precisions=("fp32", "fp16"))
    assert "odd" not in tasks and "sentiment" in tasks


def test_bf16_training_autocasts_and_keeps_fp32_weights(tiny_backbone, data_dir):
    from spacy.training.initialize import init_nlp

    from nlp_tasks.testing import train_steps
    from nlp_tasks.training.config import make_config
    from nlp_tasks.training.corpus import MultiTaskCorpus

    def trained(training_precision):
        config = make_config(["sentiment", "ner"], backbone=str(tiny_backbone), max_steps=10)
        config["paths"]["data"] = str(data_dir)
        config["nlp"]["after_pipeline_creation"]["training_precision"] = training_precision
        config["training"]["optimizer"]["learn_rate"] = 0.002
        nlp = init_nlp(config.interpolate())
        sources = {task: data_dir / task / "train.jsonl" for task in ("sentiment", "ner")}
        examples = list(MultiTaskCorpus(sources)(nlp))
        history = train_steps(nlp, nlp.create_optimizer(), examples, steps=6, batch_size=13)
        return nlp, history

    fp32, fp32_history = trained("fp32")
    bf16, bf16_history = trained("bf16")
    assert {
        type(shim.__dict__.get("begin_update")).__name__
        for shim in precision_module.torch_shims(bf16)
    } == {"_AutocastBeginUpdate"}
    assert not any("begin_update" in shim.__dict__ for shim in precision_module.torch_shims(fp32))
    # Master weights stay fp32 and learn; the first losses (same start) agree closely.
    assert backbone_dtype(bf16) == torch.float32
    assert bf16_history[-1]["ner"] < bf16_history[0]["ner"]
    first = fp32_history[0]["sentiment"]
    assert abs(bf16_history[0]["sentiment"] - first) <= 0.05 * first
    assert close(scores(bf16), scores(fp32), 0.1)


def test_auto_training_precision_asks_the_device_training_runs_on(monkeypatch):
    # On a GPU, "auto" is the GPU's bf16 support, not the CPU's.
    import thinc.util

    asked = []

    def native(device="cpu"):
        asked.append(device)
        return device.startswith("cuda")

    monkeypatch.setattr(precision_module, "has_native_bf16", native)
    blank = spacy.blank("en")
    assert precision_module.set_training_precision(blank, "auto") == "fp32"
    monkeypatch.setattr(thinc.util, "get_torch_default_device", lambda: torch.device("cuda", 1))
    assert precision_module.set_training_precision(blank, "auto") == "bf16"
    assert asked == ["cpu", "cuda:1"]


def test_an_unknown_training_precision_is_a_coded_error():
    from nlp_tasks.components.pipeline_setup import make_pipeline_setup_callback

    with pytest.raises(PrecisionError, match=r"E134.*'int8'.*fp32, bf16, auto"):
        make_pipeline_setup_callback("fp32", "int8")


def test_a_component_sourced_at_bf16_trains_on_fp32_weights(pipeline_copy, nlp):
    from spacy.training.initialize import init_nlp

    # The source pipeline's config says bf16 (a user shipping it for inference).
    source_config = Config().from_disk(pipeline_copy / "config.cfg")
    source_config["nlp"]["after_pipeline_creation"]["precision"] = "bf16"
    source_config.to_disk(pipeline_copy / "config.cfg")
    assert backbone_dtype(spacy.load(pipeline_copy)) == torch.bfloat16
    config = nlp.config.copy()
    config["components"]["transformer"] = {"source": str(pipeline_copy)}
    trained = init_nlp(config.interpolate())
    assert backbone_dtype(trained) == torch.float32
    assert trained.config["nlp"]["after_pipeline_creation"]["precision"] == "fp32"


def test_init_config_writes_both_settings(cli):
    written = cli(
        "init",
        "config",
        "-",
        "--tasks",
        "sentiment",
        "--precision",
        "auto",
        "--training-precision",
        "bf16",
    )
    assert written.returncode == 0, written.stderr
    block = Config().from_str(written.stdout)["nlp"]["after_pipeline_creation"]
    assert block == {
        "@callbacks": "nlp_tasks.pipeline_setup.v2",
        "precision": "auto",
        "training_precision": "bf16",
        "learn_rate_scales": {"sentiment": 1.0},
    }
    refused = cli("init", "config", "-", "--tasks", "sentiment", "--training-precision", "int8")
    assert refused.returncode == 2 and "fp32, bf16, auto" in refused.stderr


def test_bf16_leaves_a_caller_s_inputs_as_they_were():
    from nlp_tasks.precision import convert_module

    class TakesADict(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, batch):
            return self.linear(batch["x"])

    module = TakesADict()
    convert_module(module, "bf16")
    batch = {"x": torch.ones(4, 3)}
    output = module(batch)
    assert output.dtype == torch.float32
    assert batch["x"].dtype == torch.float32
