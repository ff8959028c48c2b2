"""The one training recipe: its schedule follows max_steps, its defaults live once, and the
GPU switch gives a GPU config while a CPU config gets no GPU setting."""

from pathlib import Path

import pytest
import srsly
from thinc.api import Config, registry
from typer.testing import CliRunner

from nlp_tasks.cli import app
from nlp_tasks.errors import ConfigError
from nlp_tasks.training import recipe
from nlp_tasks.training.config import make_config

ROOT = Path(__file__).resolve().parents[1]


def rates(config: Config, steps: int, **overrides) -> list[float]:
    """The first ``steps`` learning rates of a config, after spaCy-style overrides."""
    text = config.to_str()
    overridden = Config().from_str(text, overrides=overrides)
    block = {"learn_rate": overridden.interpolate()["training"]["optimizer"]["learn_rate"]}
    schedule = registry.resolve(block)["learn_rate"]
    return [next(schedule) for _ in range(steps)]


def test_the_schedule_follows_an_overridden_max_steps():
    config = make_config(["sentiment"], max_steps=2000)
    assert config["training"]["optimizer"]["learn_rate"]["@schedules"] == (
        "nlp_tasks.warmup_linear.v1"
    )
    full = rates(config, 2001)
    assert full.index(max(full)) == 200 and full[-1] == 0.0
    short = rates(config, 31, **{"training.max_steps": 30})
    # Warmup over the first tenth, the peak at the recipe's rate, 0 at the last step.
    assert short.index(max(short)) == 3
    assert max(short) == pytest.approx(recipe.LEARN_RATE)
    assert short[30] == 0.0 and short[29] > 0.0


@pytest.mark.parametrize("max_steps, expected", [(30, 30), (200, 200), (2000, 200)])
def test_a_short_run_is_scored_at_its_end(max_steps, expected):
    # spaCy scores at step 0 and every eval_frequency steps: at 30 steps and an
    # interval of 200, model-best would be the untrained pipeline.
    config = make_config(["sentiment"], max_steps=max_steps, eval_frequency=200)
    assert config["training"]["eval_frequency"] == expected
    result = CliRunner().invoke(
        app, ["init", "config", "-", "--tasks", "sentiment", "--max-steps", str(max_steps)]
    )
    assert result.exit_code == 0, result.output
    assert f"eval_frequency = {expected}\n" in result.output


def test_the_schedule_refuses_a_run_without_an_end():
    config = make_config(["sentiment"])
    with pytest.raises(ConfigError, match=r"\[E120\].*--training.max_steps N"):
        rates(config, 1, **{"training.max_steps": 0})
    config["training"]["optimizer"]["learn_rate"]["warmup_fraction"] = 1.0
    with pytest.raises(ConfigError, match=r"\[E121\]"):
        rates(config, 1)


def test_generated_configs_take_the_recipe_defaults(tmp_path):
    config = make_config(["sentiment", "ner"])
    assert config["training"]["optimizer"]["learn_rate"]["initial_rate"] == recipe.LEARN_RATE
    backbone = config["components"]["transformer"]["model"]
    assert backbone["learn_rate_scale"] == recipe.BACKBONE_LEARN_RATE_SCALE
    assert config["corpora"]["train"]["temperature"] == recipe.TEMPERATURE
    assert config["training"]["max_steps"] == recipe.MAX_STEPS
    written = tmp_path / "config.cfg"
    result = CliRunner().invoke(app, ["init", "config", str(written), "--tasks", "sentiment,ner"])
    assert result.exit_code == 0, result.output
    assert Config().from_disk(written, interpolate=False) == config
    # The project's workflows pass no learning rate of their own: one recipe.
    project = srsly.read_yaml(ROOT / "project.yml")
    for command in project["commands"]:
        for line in command["script"]:
            if "init config" in line:
                assert "--learn-rate" not in line and "--backbone-learn-rate-scale" not in line


@pytest.mark.parametrize(
    "options, on_gpu",
    [([], False), (["--gpu-id", "-1"], False), (["--gpu-id", "0"], True), (["--gpu"], True)],
)
def test_the_gpu_switch(tmp_path, options, on_gpu):
    written = tmp_path / "config.cfg"
    result = CliRunner().invoke(
        app, ["init", "config", str(written), "--tasks", "sentiment", *options]
    )
    assert result.exit_code == 0, result.output
    config = Config().from_disk(written, interpolate=False)
    assert config["system"]["gpu_allocator"] == ("pytorch" if on_gpu else None)
    assert config["components"]["transformer"]["model"]["mixed_precision"] is on_gpu


def test_the_project_passes_its_gpu_id_to_the_config():
    project = srsly.read_yaml(ROOT / "project.yml")
    configs = [
        line
        for command in project["commands"]
        for line in command["script"]
        if line.startswith("nlp-tasks init config")
    ]
    assert configs and all("--gpu-id ${vars.gpu_id}" in line for line in configs)


def test_the_optimizer_builds_from_the_config_as_written(tmp_path):
    # `spacy assemble` and `nlp.initialize()` build the optimizer from the [training]
    # block alone, before interpolation: total_steps is still "${training.max_steps}".
    from spacy.util import load_config

    path = tmp_path / "config.cfg"
    make_config(["sentiment"]).to_disk(path)
    config = load_config(path, overrides={"training.max_steps": 30}, interpolate=False)
    optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    assert optimizer.learn_rate == pytest.approx(recipe.LEARN_RATE)  # the peak, held
    assert rates(config, 31)[30] == 0.0  # `spacy train` interpolates: it ends at step 30
