"""Broken, blocked and unrequested plugins stay out of spaCy; bad pipelines and inputs
give coded errors that name the file, the component or the item (issue 18)."""

import json
import re
import shutil
from pathlib import Path

import pytest
import spacy
from spacy.training.initialize import init_nlp

import nlp_tasks
from nlp_tasks import inference as pipeline
from nlp_tasks.inference import PipelineLoadError, PredictInputError
from nlp_tasks.registry.scaffold import new_plugin
from nlp_tasks.training.config import make_config


def entry_points_of(pyproject: Path) -> dict[str, dict[str, str]]:
    """The ``[project.entry-points.*]`` tables of a pyproject.toml (tomllib is 3.11+)."""
    groups: dict[str, dict[str, str]] = {}
    current = None
    for line in pyproject.read_text(encoding="utf8").splitlines():
        line = line.strip()
        if line.startswith("["):
            prefix = "[project.entry-points."
            current = line[len(prefix) : -1] if line.startswith(prefix) else None
            if current is not None:
                groups[current] = {}
        elif current is not None and "=" in line and not line.startswith("#"):
            name, value = (part.strip().strip('"') for part in line.split("=", 1))
            groups[current][name] = value
    return groups


def install_scaffold(
    site: Path, task: str, *, broken: bool = False, api_version: str | None = None
) -> str:
    """Write a plugin with ``nlp-tasks new-plugin`` and install it into ``site`` as pip
    would (package + dist-info with the template's entry points), without building it.

    broken (bool): Make the component module raise on import, as a plugin whose
        dependency is missing does (the plugin module imports it too).
    api_version (str | None): The plugin API versions its task declares, in place of
        the scaffold's.
    RETURNS (str): The factory name.
    """
    source = new_plugin(task, site.parent / "sources")
    package = f"nlp_tasks_{task}"
    shutil.copytree(source / package, site / package)
    if api_version is not None:
        plugin = site / package / "plugin.py"
        text, count = re.subn(
            r'api_version="[^"]*"', f'api_version="{api_version}"', plugin.read_text("utf8")
        )
        assert count == 1
        plugin.write_text(text, "utf8")
    if broken:
        component = site / package / "component.py"
        raise_first = "raise ImportError('needs the library frobnicate, which is not installed')\n"
        component.write_text(raise_first + component.read_text(encoding="utf8"), "utf8")
    info = site / f"{package}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {source.name}\nVersion: 0.1.0\n", encoding="utf8"
    )
    groups = "".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) + "\n"
        for group, eps in entry_points_of(source / "pyproject.toml").items()
    )
    (info / "entry_points.txt").write_text(groups, encoding="utf8")
    return package


def with_component(source: Path, target: Path, name: str, factory: str) -> Path:
    """A copy of a pipeline whose config also lists a component of ``factory``."""
    shutil.copytree(source, target)
    config = (target / "config.cfg").read_text(encoding="utf8")
    config = config.replace(
        'pipeline = ["transformer", "sentiment"]',
        f'pipeline = ["transformer", "sentiment", "{name}"]',
    )
    assert name in config
    config += f'\n[components.{name}]\nfactory = "{factory}"\n'
    (target / "config.cfg").write_text(config, encoding="utf8")
    return target


@pytest.fixture(scope="module")
def nlp(tiny_backbone, data_dir):
    config = make_config(["sentiment"], backbone=str(tiny_backbone), max_steps=1)
    config["paths"]["data"] = str(data_dir)
    return init_nlp(config.interpolate())


@pytest.fixture(scope="module")
def pipeline_dir(nlp, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("safety") / "pipeline"
    nlp.to_disk(path)
    return path


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    return site


LOAD_SCRIPT = """
import json, sys
import spacy
import nlp_tasks
result = {"blank": spacy.blank("en").lang}
for key, path in (("plain", sys.argv[1]), ("needs", sys.argv[2])):
    try:
        result[key] = nlp_tasks.load(path).pipe_names
    except Exception as error:
        result[key] = f"{type(error).__name__}: {error}"
result["modules"] = sorted(m for m in sys.modules if m.startswith(sys.argv[3]))
print(json.dumps(result))
"""


def run_load(python, site: Path, pipelines: tuple[Path, Path], package: str, **env) -> dict:
    code = f"import sys; sys.argv[1:] = {[str(p) for p in pipelines] + [package]!r}\n"
    result = python(code + LOAD_SCRIPT, env={"PYTHONPATH": str(site), **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


# A plugin that fails to import ----------------------------------------------------


def test_broken_plugin_breaks_neither_spacy_nor_the_core(python, cli, site, pipeline_dir, tmp_path):
    factory = install_scaffold(site, "frob", broken=True)
    needs = with_component(pipeline_dir, tmp_path / "needs", "frob", factory)
    result, stderr = run_load(python, site, (pipeline_dir, needs), factory)
    assert result["blank"] == "en"
    assert "[W001]" in stderr and "nlp-tasks-frob" in stderr
    assert result["plain"] == ["transformer", "sentiment"]
    assert result["needs"].startswith("PluginError: [E007]")
    assert "'frob'" in result["needs"] and "nlp-tasks-frob" in result["needs"]
    assert "frobnicate" in result["needs"]
    listing = cli("plugins", env={"PYTHONPATH": str(site)})
    assert listing.returncode == 0, listing.stderr[-2000:]
    info = {i["name"]: i for i in json.loads(listing.stdout)}["nlp-tasks-frob"]
    assert info["status"] == "failed"
    assert "frobnicate" in info["error"]
    assert info["factories"] == ["nlp_tasks_frob"]
    assert info["spacy_entry_points"] == []


LOAD_TWICE_SCRIPT = """
import json, sys
import nlp_tasks
result = []
for attempt in range(2):
    try:
        result.append(nlp_tasks.load(sys.argv[1]).pipe_names)
    except Exception as error:
        result.append(f"{type(error).__name__}: {error}")
print(json.dumps(result))
"""


def test_plugin_of_another_api_version_is_refused_on_the_first_load(
    python, site, pipeline_dir, tmp_path
):
    factory = install_scaffold(site, "later", api_version=">=2.0,<3")
    needs = with_component(pipeline_dir, tmp_path / "needs", "later", factory)
    code = f"import sys; sys.argv[1:] = [{str(needs)!r}]\n" + LOAD_TWICE_SCRIPT
    result = python(code, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = json.loads(result.stdout.strip().splitlines()[-1])
    assert "[E003]" in result.stderr and ">=2.0,<3" in result.stderr
    assert not re.search(r"\w\.\.\s", result.stderr)  # one full stop between sentences
    for attempt in (first, second):
        assert attempt.startswith("PluginError: [E007]"), attempt
        assert "'later'" in attempt and "nlp-tasks-later" in attempt and "[E003]" in attempt


# Blocked and unrequested plugins ---------------------------------------------------


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"NLP_TASKS_BLOCK_PLUGINS": "nlp-tasks-kp"}, "NLP_TASKS_BLOCK_PLUGINS='nlp-tasks-kp'"),
        ({"NLP_TASKS_LOAD_PLUGINS": ""}, "NLP_TASKS_LOAD_PLUGINS=''"),
    ],
)
def test_plugin_not_loaded_runs_no_code(python, site, pipeline_dir, tmp_path, env, setting):
    factory = install_scaffold(site, "kp")
    needs = with_component(pipeline_dir, tmp_path / "needs", "kp", factory)
    result, _ = run_load(python, site, (pipeline_dir, needs), factory, **env)
    assert result["modules"] == []
    assert result["blank"] == "en"
    assert result["needs"].startswith("PluginError: [E006]")
    assert setting in result["needs"]
    var = next(iter(env))
    # Blocked: the plugin of the component; not requested: the first component refused,
    # here the sentiment head, whose plugin is not requested either.
    remedy = "Remove 'nlp-tasks-kp' from" if "BLOCK" in var else "Add 'nlp-tasks-sentiment' to"
    assert f"{remedy} {var}" in result["needs"]
    if setting == "NLP_TASKS_BLOCK_PLUGINS='nlp-tasks-kp'":
        assert "'kp'" in result["needs"] and "nlp-tasks-kp" in result["needs"]
        assert result["plain"] == ["transformer", "sentiment"]
    else:  # the sentiment plugin is not loaded either
        assert result["plain"].startswith("PluginError: [E006] Pipeline component 'sentiment'")


def test_allowed_plugin_factory_is_found_by_spacy_without_code(python, site):
    factory = install_scaffold(site, "kp")
    code = (
        "import sys, spacy; from spacy.language import Language; spacy.blank('en');"
        f"print(Language.has_factory({factory!r}), {factory + '.component'!r} in sys.modules)"
    )
    result = python(code, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True"]


def test_blocked_builtin_qa_is_refused_by_load(python, pipeline_dir, tmp_path):
    needs = with_component(pipeline_dir, tmp_path / "needs", "qa", "nlp_tasks_qa")
    result, stderr = run_load(
        python,
        tmp_path,
        (pipeline_dir, needs),
        "nlp_tasks_qa",
        NLP_TASKS_BLOCK_PLUGINS="nlp-tasks-qa",
    )
    assert result["plain"] == ["transformer", "sentiment"]
    assert result["needs"].startswith("PluginError: [E006]")
    assert "NLP_TASKS_BLOCK_PLUGINS='nlp-tasks-qa'" in result["needs"]
    if result["modules"]:
        # QA's distribution still names its own code in `spacy_factories`: spaCy imports
        # it itself, and the core says so rather than claim it is kept out.
        assert "[W007]" in stderr and "nlp-tasks-qa" in stderr


def test_blocked_plugin_naming_its_own_code_in_any_spacy_group_is_warned_about(python, site):
    # spaCy imports a `spacy_scorers` (or any `spacy_*`) entry point itself when a
    # config names it, so blocking the plugin does not keep that code out either.
    package = install_scaffold(site, "kp")
    entry_points = site / f"{package}-0.1.0.dist-info" / "entry_points.txt"
    with entry_points.open("a", encoding="utf8") as file:
        file.write(f"[spacy_scorers]\nkp_scorer.v1 = {package}.component:make_kp\n")
    code = "import nlp_tasks.registry.manager as m; m.plugin_infos()"
    result = python(code, env={"PYTHONPATH": str(site), "NLP_TASKS_BLOCK_PLUGINS": "nlp-tasks-kp"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[W007]" in result.stderr
    assert "spacy_scorers: kp_scorer.v1" in result.stderr
    # The factory gate is no place for a scorer: the advice says what to do instead.
    assert "spacy.util.registry" in result.stderr


# Odd values of the load variables ---------------------------------------------------


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"NLP_TASKS_BLOCK_PLUGINS": ","}, "[W006] NLP_TASKS_BLOCK_PLUGINS=','"),
        ({"NLP_TASKS_LOAD_PLUGINS": "nlp-tasks-ner,,"}, "[W006] NLP_TASKS_LOAD_PLUGINS="),
        ({"NLP_TASKS_BLOCK_PLUGINS": "nlp-tasks-nope"}, "'nlp-tasks-nope' is not the name"),
    ],
)
def test_odd_values_of_the_load_variables_warn(fresh_plugins, monkeypatch, capsys, env, expected):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    fresh_plugins.plugin_infos()
    stderr = capsys.readouterr().err
    assert expected in stderr
    assert "nlp-tasks-sentiment" in stderr.split(expected, 1)[1]  # the installed plugins


@pytest.mark.parametrize(
    "var, status",
    [("NLP_TASKS_LOAD_PLUGINS", "loaded"), ("NLP_TASKS_BLOCK_PLUGINS", "blocked")],
)
def test_star_means_every_plugin(fresh_plugins, monkeypatch, capsys, var, status):
    monkeypatch.setenv(var, "*")
    statuses = {i.name: i.status for i in fresh_plugins.plugin_infos()}
    assert statuses["nlp-tasks-sentiment"] == status and statuses["nlp-tasks-ner"] == status
    stderr = capsys.readouterr().err
    assert "[W006]" not in stderr and "[W002]" not in stderr


# predict() inputs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "items, expected",
    [
        (["fine", b"some bytes"], r"\[E011\] predict: item 1 is bytes \(10 bytes\)"),
        ([42], r"\[E011\] predict: item 0 is of type int"),
        ([{"text": None}], r"\[E011\] predict: item 0 is a record whose 'text' is None"),
        (
            [{"text_a": "A.", "text_b": "B."}],
            r"\[E011\] predict: item 0 is a record with no 'text' field \(its fields: "
            r"\['text_a', 'text_b'\]; the pipeline's tasks read 'text'\)",
        ),
        (["ok", "ok", "bad \ud800 text"], r"\[E012\] .* item 2 .* U\+D800 at position 4"),
        ([{"text": "a\udcff"}], r"\[E012\] .* item 0 .* U\+DCFF at position 1"),
    ],
)
def test_predict_refuses_items_that_are_no_text(nlp, items, expected):
    with pytest.raises(PredictInputError, match=expected) as info:
        nlp_tasks.predict(nlp, items)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "call, error, expected",
    [
        # One str is iterable: it was run once per character.
        (lambda nlp: nlp_tasks.predict(nlp, "one text"), "arg", "texts must be .*, not one text"),
        (lambda nlp: nlp_tasks.predict(nlp, {"text": "x"}), "arg", "texts .*, not one record"),
        (lambda nlp: nlp_tasks.predict(nlp, None), "arg", "texts .*, not None"),
        (lambda nlp: nlp_tasks.predict(nlp, 5), "arg", "texts .*, not of type int"),
        (lambda nlp: nlp_tasks.predict("pipe", ["a"]), "arg", "predict: nlp must be a pipeline"),
        (lambda nlp: nlp_tasks.predict(nlp, ["a"], fields="text=b"), "arg", "fields must be"),
        (lambda nlp: nlp_tasks.predict(nlp, ["a"], fields={"text": 5}), "arg", "holding 'text': 5"),
        (lambda nlp: nlp_tasks.load(None), "arg", r"nlp_tasks.load: name .*, not None"),
        (lambda nlp: nlp_tasks.load(["pipe"]), "arg", r"name .*, not of type list"),
        # batch_size=0 returned no result for three texts.
        (lambda nlp: nlp_tasks.predict(nlp, ["a", "b", "c"], batch_size=0), "opt", "an int >= 1"),
        (lambda nlp: nlp_tasks.predict(nlp, ["a"], batch_size=2.5), "opt", "an int >= 1"),
    ],
)
def test_predict_and_load_refuse_arguments_of_the_wrong_kind(nlp, call, error, expected):
    from nlp_tasks.errors import ArgumentError, OptionError

    raised = {"arg": ArgumentError, "opt": OptionError}[error]
    with pytest.raises(raised, match=r"\[E(152|065)\] .*" + expected):
        call(nlp)


# Damaged pipeline directories --------------------------------------------------------


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "damage, code, file",
    [
        (lambda d: truncate(d / "sentiment" / "model"), "E010", "'sentiment/model'"),
        (lambda d: truncate(d / "transformer" / "model"), "E010", "'transformer/model'"),
        (lambda d: (d / "sentiment" / "cfg").write_text("{junk"), "E010", "'sentiment/cfg'"),
        (lambda d: (d / "meta.json").write_text("{junk"), "E009", "meta.json"),
        (lambda d: (d / "meta.json").write_text("[1, 2]"), "E009", "meta.json"),
        (lambda d: (d / "config.cfg").write_text("[nlp\njunk = = ="), "E009", "config.cfg"),
        # What a killed copy leaves (spacy train copies model-last to model-best file by
        # file): the meta.json gave spaCy's raw OSError E053, a component folder E010.
        (lambda d: (d / "meta.json").unlink(), "E009", "meta.json"),
        (lambda d: shutil.rmtree(d / "sentiment"), "E010", "'sentiment/model'"),
    ],
)
def test_damaged_pipeline_names_the_directory_and_file(pipeline_dir, tmp_path, damage, code, file):
    broken = tmp_path / "broken"
    shutil.copytree(pipeline_dir, broken)
    damage(broken)
    with pytest.raises(PipelineLoadError) as info:
        nlp_tasks.load(broken)
    message = str(info.value)
    assert message.startswith(f"[{code}] Pipeline {broken}")
    assert file in message


def test_a_damaged_file_read_in_compiled_code_names_the_component_folder(tmp_path):
    # spaCy's NER reads its files in Cython, out of the traceback's sight: the
    # message named "the file 'ner'".
    nlp = spacy.blank("en")
    nlp.add_pipe("ner").add_label("PERSON")
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")
    truncate(tmp_path / "pipeline" / "ner" / "model")
    with pytest.raises(
        PipelineLoadError, match=r"\[E010\] .*a file in 'ner/' \(cfg, model, moves\)"
    ):
        nlp_tasks.load(tmp_path / "pipeline")


def test_load_uses_no_private_spacy_registry():
    source = Path(pipeline.__file__).read_text(encoding="utf8")
    assert "_entry_point_factories" not in source


def test_scaffold_names_no_own_code_in_spacy_entry_points(tmp_path):
    source = new_plugin("kp", tmp_path)
    groups = entry_points_of(source / "pyproject.toml")
    spacy_groups = {g: eps for g, eps in groups.items() if g.startswith("spacy_")}
    assert spacy_groups == {
        "spacy_factories": {"nlp_tasks_kp": "nlp_tasks.registry:spacy_factories"}
    }
    assert groups["nlp_tasks_factories"] == {"nlp_tasks_kp": "nlp_tasks_kp.component:make_kp"}
