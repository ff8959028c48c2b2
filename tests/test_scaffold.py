"""`nlp-tasks new-plugin`: scaffold -> install -> discover -> its own tests train and load it."""

import json
import os
import subprocess
import sys

import pytest

from nlp_tasks import PLUGIN_API_VERSION

# The module fixture scaffolds and pip-installs a plugin; its tests run nested pytest.
pytestmark = pytest.mark.slow


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


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaffold")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nlp_tasks.cli import main; main()",
            "new-plugin",
            "question_type",
            "--directory",
            str(root),
            "--description",
            "Question or statement.",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    source = root / "nlp-tasks-question-type"
    files = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()}
    site = root / "site"
    pip_install(source, site)
    return source, site, files


def test_scaffold_is_a_complete_distribution(scaffold):
    source, _, files = scaffold
    assert files == {
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "nlp_tasks_question_type/__init__.py",
        "nlp_tasks_question_type/component.py",
        "nlp_tasks_question_type/plugin.py",
        "nlp_tasks_question_type/reader.py",
        "nlp_tasks_question_type/scorer.py",
        "tests/test_question_type.py",
    }
    pyproject = (source / "pyproject.toml").read_text(encoding="utf8")
    assert 'question_type = "nlp_tasks_question_type.plugin"' in pyproject
    assert "nlp-tasks>=0.1,<0.2" in pyproject
    # The scaffold uses the plugin helpers, so it needs the API version that has them.
    plugin = (source / "nlp_tasks_question_type" / "plugin.py").read_text(encoding="utf8")
    assert f'api_version=">={PLUGIN_API_VERSION},<2"' in plugin
    assert PLUGIN_API_VERSION == "1.1"
    reader = (source / "nlp_tasks_question_type" / "reader.py").read_text(encoding="utf8")
    scorer = (source / "nlp_tasks_question_type" / "scorer.py").read_text(encoding="utf8")
    assert "gold_example(" in reader and "examples_with_gold(" in scorer


def test_scaffold_passes_ruff(scaffold):
    source, _, _ = scaffold
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        capture_output=True,
        text=True,
        cwd=source,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_installed_scaffold_is_listed_by_plugins(scaffold, cli):
    _, site, _ = scaffold
    result = cli("plugins", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    infos = {info["name"]: info for info in json.loads(result.stdout)}
    info = infos["nlp-tasks-question-type"]
    assert info["status"] == "loaded"
    assert info["tasks"] == ["question_type"]
    assert info["factories"] == ["nlp_tasks_question_type"]


def test_scaffold_tests_train_save_load_and_process(scaffold):
    source, site, _ = scaffold
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True,
        text=True,
        cwd=source,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout


@pytest.mark.parametrize(
    "name, code", [("Question-Type", "E041"), ("9lives", "E041"), ("sentiment", "E042")]
)
def test_bad_or_taken_names_are_refused(cli, tmp_path, name, code):
    result = cli("new-plugin", name, "--directory", str(tmp_path))
    assert result.returncode == 1
    assert f"[{code}]" in result.stderr
    assert not any(tmp_path.iterdir())


def test_existing_directory_is_not_overwritten(cli, tmp_path):
    target = tmp_path / "nlp-tasks-keyphrases"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf8")
    result = cli("new-plugin", "keyphrases", "--directory", str(tmp_path))
    assert result.returncode == 1
    assert "[E043]" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
