"""`nlp-tasks new-plugin`: scaffold -> install -> discover -> its own tests train and load it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nlp_tasks import PLUGIN_API_VERSION
from nlp_tasks.errors import ScaffoldError
from nlp_tasks.registry.scaffold import INPUT_KINDS, new_plugin, template_files

# The module fixtures scaffold and pip-install a plugin; the tests that use them run
# nested pytest or fresh interpreters.
slow = pytest.mark.slow

TEXT_FILES = {
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "nlp_tasks_{task}/__init__.py",
    "nlp_tasks_{task}/component.py",
    "nlp_tasks_{task}/plugin.py",
    "nlp_tasks_{task}/reader.py",
    "nlp_tasks_{task}/scorer.py",
    "nlp_tasks_{task}/view.py",
    "tests/test_{task}.py",
}


def pip_install(source, site):
    # --no-build-isolation: the test builds with the venv's setuptools, offline.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def scaffold_and_install(root, name, *options):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nlp_tasks.cli import main; main()",
            "new-plugin",
            name,
            "--directory",
            str(root),
            *options,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    source = root / ("nlp-tasks-" + name.replace("_", "-"))
    files = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()}
    site = root / "site"
    pip_install(source, site)
    return source, site, files


def run_generated_tests(source, *sites):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(site) for site in sites)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True,
        text=True,
        cwd=source,
        env=env,
    )


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaffold")
    return scaffold_and_install(root, "question_type", "--description", "Question or statement.")


@pytest.fixture(scope="module")
def pair_scaffold(tmp_path_factory):
    root = tmp_path_factory.mktemp("pair_scaffold")
    return scaffold_and_install(root, "paraphrase", "--input", "pair")


@slow
def test_scaffold_is_a_complete_distribution(scaffold):
    source, _, files = scaffold
    assert files == {name.format(task="question_type") for name in TEXT_FILES}
    pyproject = (source / "pyproject.toml").read_text(encoding="utf8")
    assert 'question_type = "nlp_tasks_question_type.plugin"' in pyproject
    assert "nlp-tasks>=0.1,<0.2" in pyproject
    # The scaffold uses the plugin helpers, so it needs the API version that has them.
    plugin = (source / "nlp_tasks_question_type" / "plugin.py").read_text(encoding="utf8")
    assert f'api_version=">={PLUGIN_API_VERSION},<2"' in plugin
    assert PLUGIN_API_VERSION == "1.7"
    reader = (source / "nlp_tasks_question_type" / "reader.py").read_text(encoding="utf8")
    scorer = (source / "nlp_tasks_question_type" / "scorer.py").read_text(encoding="utf8")
    assert "gold_example(" in reader and "examples_with_gold(" in scorer


@slow
def test_scaffold_passes_ruff(scaffold):
    source, _, _ = scaffold
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        capture_output=True,
        text=True,
        cwd=source,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@slow
def test_installed_scaffold_is_listed_by_plugins(scaffold, cli):
    _, site, _ = scaffold
    result = cli("plugins", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    infos = {info["name"]: info for info in json.loads(result.stdout)}
    info = infos["nlp-tasks-question-type"]
    assert info["status"] == "loaded"
    assert info["tasks"] == ["question_type"]
    assert info["factories"] == ["nlp_tasks_question_type"]


@slow
def test_scaffold_tests_train_save_load_and_process(scaffold):
    source, site, _ = scaffold
    result = run_generated_tests(source, site)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Training, blank texts (alone, in batches of nothing else, mixed), bad records.
    assert "8 passed" in result.stdout


@pytest.mark.parametrize(
    "name, code",
    [("Question-Type", "E041"), ("9lives", "E041"), ("sentiment", "E042"), ("summary", "E174")],
)
def test_bad_or_taken_names_are_refused(cli, tmp_path, name, code):
    result = cli("new-plugin", name, "--directory", str(tmp_path))
    assert result.returncode == 1
    assert f"[{code}]" in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "name, reason",
    [
        ("class", r"a Python keyword.*doc\._\.class"),
        ("lambda", "a Python keyword"),
        ("transformer", "shared transformer component"),
        ("text", "an output record .* holds the fields line, id, warnings, text, text_a"),
        ("id", "an output record"),
        ("warnings", "an output record"),
        ("text_b", "an output record"),
        ("questions", "an output record"),
        ("summary", r"doc\._\.summary, which the installed task 'summarization' writes"),
        ("answers", r"doc\._\.answers, which the installed task 'qa' writes"),
    ],
)
def test_names_the_generated_plugin_would_break_on_are_refused(tmp_path, name, reason):
    with pytest.raises(
        ScaffoldError, match=rf"\[E174\] '{name}' cannot name a task plugin: .*{reason}"
    ):
        new_plugin(name, tmp_path)
    assert not any(tmp_path.iterdir())


def test_existing_directory_is_not_overwritten(cli, tmp_path):
    target = tmp_path / "nlp-tasks-keyphrases"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf8")
    result = cli("new-plugin", "keyphrases", "--directory", str(tmp_path))
    assert result.returncode == 1
    assert "[E043]" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_unknown_input_kind_is_refused(tmp_path):
    with pytest.raises(ScaffoldError, match=r"\[E086\].*'text' or 'pair', got 'triple'"):
        new_plugin("keyphrases", tmp_path, input_kind="triple")
    assert not any(tmp_path.iterdir())


def test_unknown_input_kind_is_refused_by_the_command(cli, tmp_path):
    result = cli("new-plugin", "keyphrases", "--directory", str(tmp_path), "--input", "triple")
    assert result.returncode == 1
    assert "[E086]" in result.stderr and "--input" in result.stderr
    assert not any(tmp_path.iterdir())


def test_pair_template_replaces_only_what_differs():
    text = {relative: source for source, relative in template_files("text")}
    pair = {relative: source for source, relative in template_files("pair")}
    assert set(pair) == set(text)
    own = {relative for relative in pair if pair[relative] != text[relative]}
    assert own == {"package/component.py.tmpl", "package/reader.py.tmpl", "tests/test_task.py.tmpl"}
    assert INPUT_KINDS["text"].overrides == ()


@pytest.mark.parametrize("input_kind", ["text", "pair"])
def test_generated_code_declares_its_inputs_and_the_api_it_needs(tmp_path, input_kind):
    source = new_plugin("keyphrases", tmp_path, input_kind=input_kind)
    package = source / "nlp_tasks_keyphrases"
    assert {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()} == {
        name.format(task="keyphrases") for name in TEXT_FILES
    }
    plugin = (package / "plugin.py").read_text(encoding="utf8")
    assert f'api_version=">={PLUGIN_API_VERSION},<2"' in plugin and "inputs=INPUTS" in plugin
    assert "view=view" in plugin
    segments = '("text_a", "text_b")' if input_kind == "pair" else '("text",)'
    reader = (package / "reader.py").read_text(encoding="utf8")
    assert f"INPUTS = TaskInputs(segments={segments})" in reader
    for path in source.rglob("*.py"):
        # The core owns the backbone's learning rule: no head needs the old mixin.
        assert "SharedBackboneHead" not in path.read_text(encoding="utf8"), path
    readme = (source / "README.md").read_text(encoding="utf8")
    assert "${" not in readme and "nlp_tasks.predict(nlp, [" in readme


def public_api_names() -> set[str]:
    """The names docs/plugins.md lists in "The public API", in backquotes."""
    docs = Path(__file__).parents[1] / "docs" / "plugins.md"
    section = docs.read_text(encoding="utf8").split("## The public API", 1)[1]
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)", section.split("\n## ", 1)[0]))


@pytest.mark.parametrize("input_kind", ["text", "pair"])
def test_generated_code_uses_only_the_documented_public_api(tmp_path, input_kind):
    # A plugin author copies what the scaffold does: each core name it imports, and
    # each attribute of check_task's result it reads, is one the guide lists.
    source = new_plugin("keyphrases", tmp_path, input_kind=input_kind)
    documented = public_api_names()
    used = set()
    for path in source.rglob("*.py"):
        code = path.read_text(encoding="utf8")
        for names in re.findall(r"^from nlp_tasks[.\w]* import \(?([^)\n]+)", code, re.M):
            used.update(name.strip() for name in names.split(",") if name.strip())
        used.update(re.findall(r"\bcheck\.(\w+)", code))
    assert used, "the scaffold imports nothing from the core?"
    assert sorted(used - documented) == []


@slow
def test_pair_scaffold_is_a_complete_distribution(pair_scaffold):
    source, _, files = pair_scaffold
    assert files == {name.format(task="paraphrase") for name in TEXT_FILES}
    package = source / "nlp_tasks_paraphrase"
    reader = (package / "reader.py").read_text(encoding="utf8")
    component = (package / "component.py").read_text(encoding="utf8")
    assert "INPUTS.make_doc(nlp, record)" in reader
    assert "segment_spans(doc)" in component


@slow
def test_pair_scaffold_passes_ruff(pair_scaffold):
    source, _, _ = pair_scaffold
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        capture_output=True,
        text=True,
        cwd=source,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@slow
def test_installed_pair_scaffold_is_listed_by_plugins(pair_scaffold, cli):
    _, site, _ = pair_scaffold
    result = cli("plugins", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    info = {info["name"]: info for info in json.loads(result.stdout)}["nlp-tasks-paraphrase"]
    assert info["status"] == "loaded"
    assert info["tasks"] == ["paraphrase"]


@slow
def test_pair_scaffold_tests_train_predict_and_reload(pair_scaffold):
    source, site, _ = pair_scaffold
    result = run_generated_tests(source, site)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Training, predict on pairs, plain and empty docs left alone, reload, bad records.
    assert "10 passed" in result.stdout


# Trains one pipeline with both scaffolded tasks and runs it on a mixed stream.
MIXED_STREAM = """
import json
from pathlib import Path

import nlp_tasks
from nlp_tasks.batch import process_records
from nlp_tasks.testing import make_tiny_backbone
from nlp_tasks.training.config import make_config
from spacy.training.initialize import init_nlp
from spacy.training.loop import train

root = Path.cwd()
records = {
    "question_type": [
        {"text": "Where is the station?", "label": "question"},
        {"text": "The station is near.", "label": "statement"},
    ],
    "paraphrase": [
        {"text_a": "It opens at nine.", "text_b": "At nine it opens.", "label": "paraphrase"},
        {"text_a": "It opens at nine.", "text_b": "The sky is blue.", "label": "different"},
    ],
}
texts = []
for task, rows in records.items():
    for split in ("train", "dev"):
        path = root / "data" / task / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(row) + "\\n" for row in rows), encoding="utf8")
    texts += [value for row in rows for key, value in row.items() if key != "label"]
backbone = make_tiny_backbone(root / "backbone", texts, special_tokens=True)
config = make_config(list(records), backbone=str(backbone), max_steps=4, eval_frequency=4)
config["paths"]["data"] = str(root / "data")
(root / "training").mkdir()
train(init_nlp(config), root / "training")
nlp = nlp_tasks.load(root / "training" / "model-last")
pair = {"text_a": "It opens at nine.", "text_b": "At nine it opens."}
predicted = nlp_tasks.predict(nlp, [pair, "Where is it?"])
renamed = {"left": pair["text_a"], "right": pair["text_b"]}
fields = {"text_a": "left", "text_b": "right"}
processed = [r.output for r in process_records(nlp, [renamed, "Where is it?"], fields=fields)]
print(json.dumps({"predict": predicted, "process": processed}))
"""


@slow
def test_one_pipeline_of_a_text_task_and_a_pair_task_serves_a_mixed_stream(
    scaffold, pair_scaffold, python, tmp_path
):
    _, text_site, _ = scaffold
    _, pair_site, _ = pair_scaffold
    env = {"PYTHONPATH": os.pathsep.join([str(text_site), str(pair_site)])}
    result = python(MIXED_STREAM, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = json.loads(result.stdout.strip().splitlines()[-1])
    for pair, text in (outputs["predict"], outputs["process"]):
        # Each record gets the key of the task that reads its fields, and no other.
        assert "paraphrase" in pair and "question_type" not in pair
        assert "question_type" in text and "paraphrase" not in text
        assert pair["paraphrase"]["label"] in {"paraphrase", "different"}
        assert text["question_type"]["label"] in {"question", "statement"}
