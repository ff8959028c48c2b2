"""The command line's answers to bad usage and bad files: short, coded, no traceback.

Each case runs ``nlp-tasks`` in a fresh interpreter against the installed typer
(which runs on the click package before typer 0.26 and on its own copy after).
Usage errors exit with status 2 and click's usage message; the project's own
errors exit with status 1 and "Error: [E0xx] ..."; neither shows a traceback.
"""

import json
import shutil
from pathlib import Path

import pytest
import typer
from spacy.training.initialize import init_nlp

from nlp_tasks import cli as cli_module
from nlp_tasks.training.config import make_config


@pytest.fixture(scope="module")
def pipeline_dir(tiny_backbone, data_dir, tmp_path_factory) -> Path:
    # An initialized, untrained sentiment pipeline: these tests need a pipeline
    # that loads, not good predictions.
    config = make_config(["sentiment"], backbone=str(tiny_backbone), max_steps=10)
    config["paths"]["data"] = str(data_dir)
    nlp = init_nlp(config.interpolate())
    path = tmp_path_factory.mktemp("cli_errors") / "pipeline"
    nlp.to_disk(path)
    return path


@pytest.fixture
def bad_utf8(tmp_path) -> Path:
    path = tmp_path / "texts.txt"
    path.write_bytes(b"A fine first line.\n\xff\xfe not UTF-8\n")
    return path


def assert_refused(result, status: int, *expected: str) -> None:
    """The command exited with ``status``, said each of ``expected``, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


def assert_usage_error(result, command: str, *expected: str) -> None:
    assert_refused(result, 2, *expected)
    assert result.stderr.startswith(f"Usage: nlp-tasks {command}".rstrip()), result.stderr
    assert len(result.stderr.splitlines()) <= 6, result.stderr


# Usage errors ---------------------------------------------------------------------


def test_usage_errors_are_the_installed_typers_click_exceptions():
    # typer.BadParameter is the click class typer parses with, wherever it lives.
    assert issubclass(typer.BadParameter, cli_module.UsageError)
    assert issubclass(cli_module.UsageError, cli_module.ClickException)
    with pytest.raises(cli_module.UsageError):
        cli_module.app(["nosuchcommand"], prog_name="nlp-tasks", standalone_mode=False)


def test_unknown_command_is_a_short_usage_error(cli):
    assert_usage_error(cli("nosuchcommand"), "", "No such command 'nosuchcommand'")


@pytest.mark.parametrize(
    "args,expected",
    [
        (["M", "in.jsonl", "out.jsonl", "--batch-size", "0"], "'--batch-size'"),
        (["M", "in.jsonl", "out.jsonl", "--batch-size", "x"], "'--batch-size'"),
        (["M"], "Missing argument"),
    ],
    ids=["batch-size-0", "batch-size-not-a-number", "missing-arguments"],
)
def test_process_usage_errors(cli, args, expected):
    assert_usage_error(cli("process", *args), "process", expected)


@pytest.mark.parametrize(
    "option,value",
    [
        ("--max-steps", "0"),
        ("--eval-frequency", "-1"),
        ("--learn-rate", "0"),
        ("--learn-rate", "nan"),
        ("--backbone-learn-rate-scale", "-1"),
    ],
)
def test_init_config_refuses_values_that_are_not_positive(cli, tmp_path, option, value):
    output = tmp_path / "config.cfg"
    result = cli("init", "config", str(output), "--tasks", "sentiment", option, value)
    assert_usage_error(result, "init config", f"'{option}'")
    assert not output.exists()


def test_add_task_refuses_zero_steps(cli, data_dir, tmp_path):
    train = str(data_dir / "sentiment" / "train.jsonl")
    args = ["M", "sentiment", "--train", train, "--dev", train, "--output", str(tmp_path)]
    result = cli("add-task", *args, "--max-steps", "0")
    assert_usage_error(result, "add-task", "'--max-steps'")


def test_predict_without_texts_is_a_usage_error(cli):
    assert_usage_error(cli("predict", "M"), "predict", "Give one or more TEXTS, or --file")


def test_predict_with_only_a_blank_text_has_nothing_to_do(cli):
    result = cli("predict", "M", "")
    assert_usage_error(result, "predict", "Nothing to process", "1 skipped")


def test_evaluate_without_data_is_a_usage_error(cli):
    assert_usage_error(cli("evaluate", "M"), "evaluate", "Give --data DIR or --source")


# The project's coded errors ----------------------------------------------------------


def test_init_config_with_no_tasks(cli, tmp_path):
    result = cli("init", "config", str(tmp_path / "c.cfg"), "--tasks", "")
    assert_refused(result, 1, "Error: [E034] No tasks given")


def test_init_config_with_a_task_twice(cli, tmp_path):
    result = cli("init", "config", str(tmp_path / "c.cfg"), "--tasks", "sentiment,sentiment")
    assert_refused(result, 1, "Error: [E035] Task 'sentiment' is given more than once")


def test_init_config_into_a_directory(cli, tmp_path):
    result = cli("init", "config", str(tmp_path), "--tasks", "sentiment")
    assert_refused(result, 1, "Error: [E047]", f"'{tmp_path}'", "it is a directory")


def test_predict_file_that_does_not_exist(cli, tmp_path):
    missing = tmp_path / "missing.txt"
    result = cli("predict", "M", "--file", str(missing))
    assert_refused(result, 1, "Error: [E046]", f"'{missing}' (--file)", "does not exist")


def test_predict_file_that_is_not_utf8(cli, bad_utf8):
    result = cli("predict", "M", "--file", str(bad_utf8))
    assert_refused(result, 1, f"Error: [E053] {bad_utf8}, line 2:", "not valid UTF-8")


def test_predict_skips_blank_texts_and_says_so(cli, pipeline_dir):
    result = cli("predict", str(pipeline_dir), "", "A fine film.", "   ")
    assert_refused(result, 0, "2 blank text(s) skipped")
    lines = result.stdout.splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["A fine film."]


def test_evaluate_data_directory_that_does_not_exist(cli, tmp_path):
    missing = tmp_path / "missing"
    result = cli("evaluate", "M", "--data", str(missing))
    assert_refused(result, 1, f"Error: [E044] The --data directory '{missing}' does not exist")


def test_evaluate_data_directory_without_dev_files(cli, pipeline_dir, tmp_path):
    result = cli("evaluate", str(pipeline_dir), "--data", str(tmp_path))
    looked = tmp_path / "sentiment" / "dev.jsonl"
    assert_refused(result, 1, "Error: [E045]", f"looked for: {looked}")


def test_evaluate_source_of_a_task_the_pipeline_lacks(cli, pipeline_dir, data_dir):
    source = f"ner={data_dir / 'ner' / 'dev.jsonl'}"
    result = cli("evaluate", str(pipeline_dir), "--source", source)
    assert_refused(result, 1, "Error: [E036]", "no component of task 'ner'", "sentiment")


def test_evaluate_source_file_that_does_not_exist(cli, tmp_path):
    missing = tmp_path / "dev.jsonl"
    result = cli("evaluate", "M", "--source", f"sentiment={missing}")
    assert_refused(result, 1, "Error: [E046]", f"'{missing}'", "does not exist")


def test_evaluate_output_that_is_a_directory(cli, data_dir, tmp_path):
    result = cli("evaluate", "M", "--data", str(data_dir), "--output", str(tmp_path))
    assert_refused(result, 1, "Error: [E047]", "(--output): it is a directory")


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_an_output_under_a_file_is_refused_before_the_pipeline_loads(
    cli, data_dir, tmp_path, command
):
    # The pipeline "M" does not exist: the output is checked first. It was found
    # only after the pipeline had loaded and run, its table printed.
    blocker = tmp_path / "notes"
    blocker.write_text("x", encoding="utf8")
    output = blocker / "sub" / "out.json"
    given = ["--data", str(data_dir)] if command == "evaluate" else ["A text."]
    result = cli(command, "M", *given, "--output", str(output))
    problem = f"the folder it would go in, '{blocker}', is a file"
    assert_refused(result, 1, f"Error: [E047] Cannot write '{output}' (--output): {problem}")


def test_evaluate_output_never_replaces_the_pipeline_or_its_dev_data(
    cli, pipeline_dir, data_dir, tmp_path
):
    pipeline = tmp_path / "pipeline"
    shutil.copytree(pipeline_dir, pipeline)
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    meta, dev = pipeline / "meta.json", data / "sentiment" / "dev.jsonl"
    kept = meta.read_bytes(), dev.read_bytes()
    for output, what in ((meta, "inside the pipeline"), (dev, "the sentiment dev data")):
        result = cli("evaluate", str(pipeline), "--data", str(data), "--output", str(output))
        assert_refused(result, 1, f"Error: [E047] Cannot write '{output}' (--output): it is {what}")
    assert (meta.read_bytes(), dev.read_bytes()) == kept


def test_predict_output_never_replaces_its_input_or_the_pipeline(cli, pipeline_dir, tmp_path):
    pipeline = tmp_path / "pipeline"
    shutil.copytree(pipeline_dir, pipeline)
    texts = tmp_path / "texts.txt"
    texts.write_text("A fine film.\nA dull one.\n", encoding="utf8")
    meta = pipeline / "meta.json"
    kept = meta.read_bytes()
    result = cli("predict", str(pipeline), "--file", str(texts), "--output", str(texts))
    assert_refused(result, 1, "Error: [E047]", "it is the --file input")
    result = cli("predict", str(pipeline), "A text.", "--output", str(meta))
    assert_refused(result, 1, "Error: [E047]", "it is inside the pipeline")
    assert texts.read_text(encoding="utf8") == "A fine film.\nA dull one.\n"
    assert meta.read_bytes() == kept


@pytest.mark.parametrize("bad", ["missing", "not-utf8"])
def test_add_task_check_file(cli, data_dir, tmp_path, bad_utf8, bad):
    train = str(data_dir / "sentiment" / "train.jsonl")
    check_file = tmp_path / "missing.txt" if bad == "missing" else bad_utf8
    args = ["M", "sentiment", "--train", train, "--dev", train, "--output", str(tmp_path / "o")]
    result = cli("add-task", *args, "--check-file", str(check_file))
    if bad == "missing":
        assert_refused(result, 1, "Error: [E046]", f"'{check_file}' (--check-file)")
    else:
        assert_refused(result, 1, f"Error: [E053] {check_file}, line 2:")


def test_new_plugin_into_a_file(cli, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf8")
    result = cli("new-plugin", "keyphrases", "--directory", str(a_file))
    assert_refused(result, 1, "Error: [E047]", "(--directory): it is a file")


# Errors raised inside any command ------------------------------------------------------

RAISE_IN_COMMAND = """
import contextlib, io, json, sys
from pathlib import Path
import typer
from nlp_tasks import cli, errors

raised = []

@cli.app.command("boom")
def boom():
    raise raised[0]

project_errors = [
    cls(Path("out.jsonl"), OSError("[E075] disk full")) if cls is errors.WriteError
    else cls("E050", field="text", keys=["body"], hint="") if cls is errors.FieldError
    else cls(f"[E999] {cls.__name__}")
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.NlpTasksError)
]
results = {}
for error in [*project_errors, KeyboardInterrupt(), typer.Exit(3)]:
    raised[:] = [error]
    sys.argv = ["nlp-tasks", "boom"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            cli.main()
            status = 0
        except SystemExit as exit:
            status = exit.code
    results[type(error).__name__] = [status, stderr.getvalue()]
print(json.dumps(results))
"""


def test_every_project_error_of_a_command_is_one_coded_line(python):
    result = python(RAISE_IN_COMMAND)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    project_errors = set(results) - {"KeyboardInterrupt", "Exit"}
    # The hierarchy covers the classes the commands raise (a sample named here).
    assert {"InputError", "OutputError", "WriteError", "PluginError", "DataError"} <= (
        project_errors
    )
    assert {"ConfigError", "PipelineNotFoundError", "ScaffoldError"} <= project_errors
    for name in project_errors:
        status, stderr = results[name]
        assert status == 1, (name, stderr)
        expected = {
            "WriteError": "Error: [E076] Cannot write 'out.jsonl': [E075]",
            "FieldError": "Error: [E050] <record>, line ?: the record has no 'text' field",
        }.get(name, f"Error: [E999] {name}\n")
        assert stderr.startswith(expected) and stderr.count("\n") == 1, (name, stderr)
    assert results["KeyboardInterrupt"] == [130, "Interrupted.\n"]
    assert results["Exit"] == [3, ""]


BUG_IN_COMMAND = """
import sys
from nlp_tasks import cli

@cli.app.command("boom")
def boom():
    raise TypeError("a bug of ours")

sys.argv = ["nlp-tasks", "boom"]
cli.main()
"""


def test_a_bug_still_shows_its_traceback(python):
    result = python(BUG_IN_COMMAND)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "TypeError: a bug of ours" in result.stderr
