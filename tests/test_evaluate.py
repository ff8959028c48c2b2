"""Scoring a pipeline on dev data that covers only some of its tasks."""

import shutil
import warnings

import pytest

from nlp_tasks.errors import DataError
from nlp_tasks.training.evaluate import dev_sources, evaluate, format_table


@pytest.fixture
def sentiment_only(data_dir, tmp_path):
    root = tmp_path / "data"
    (root / "sentiment").mkdir(parents=True)
    shutil.copy(data_dir / "sentiment" / "dev.jsonl", root / "sentiment" / "dev.jsonl")
    return root


def test_a_task_without_dev_data_is_named_and_not_scored(nlp, sentiment_only):
    with pytest.warns(UserWarning, match=r"\[W009\] No dev data for task\(s\) ner") as record:
        sources = dev_sources(nlp, sentiment_only)
    assert str(sentiment_only / "ner" / "dev.jsonl") in str(record[0].message)
    assert list(sources) == ["sentiment"]
    result = evaluate(nlp, sources)
    assert result["unscored"] == ["ner"]
    table = format_table(result)
    ner_rows = [line.split() for line in table.splitlines() if line.startswith("ner ")]
    assert ner_rows == [["ner", "(no", "dev", "data)", "-"]]
    assert "sentiment_acc" in table


def test_a_source_for_the_missing_task_silences_the_warning(nlp, sentiment_only, data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sources = dev_sources(nlp, sentiment_only, {"ner": data_dir / "ner" / "dev.jsonl"})
    assert sorted(sources) == ["ner", "sentiment"]
    assert evaluate(nlp, sources)["unscored"] == []


def test_the_command_shows_the_warning_as_a_message_not_a_source_line(
    cli, pipeline_dir, sentiment_only
):
    result = cli("evaluate", str(pipeline_dir), "--data", str(sentiment_only))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Warning: [W009] No dev data for task(s) ner" in result.stderr
    assert "warnings.warn" not in result.stderr and "UserWarning" not in result.stderr
    assert "(no dev data)" in result.stdout and "sentiment_acc" in result.stdout


def test_an_empty_dev_file_is_refused_by_name(nlp, sentiment_only):
    empty = sentiment_only / "sentiment" / "dev.jsonl"
    empty.write_text("\n\n", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E143\] .*dev.jsonl, the dev data of task 'sentiment'"):
        evaluate(nlp, {"sentiment": empty})


def test_a_task_given_twice_with_source_is_a_usage_error(data_dir, tmp_path):
    # The second --source of a task replaced the first, which went unscored, unsaid.
    from typer.testing import CliRunner

    from nlp_tasks.cli import app

    dev = str(data_dir / "sentiment" / "dev.jsonl")
    args = ["evaluate", str(tmp_path / "nope"), "--source", f"sentiment={dev}"]
    result = CliRunner().invoke(app, [*args, "--source", f"sentiment={dev}x"])
    assert result.exit_code == 2
    assert "'sentiment' is given twice" in result.output
