"""Views of outputs: each task's blocks, drawn as HTML (displaCy) and for the terminal (rich)."""

import html
import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

import nlp_tasks
from nlp_tasks import Task
from nlp_tasks.cli import app
from nlp_tasks.registry import get_task
from nlp_tasks.views import (
    Columns,
    Mark,
    MarkedText,
    Note,
    Rendering,
    Score,
    record_blocks,
    render_html,
    render_text,
)

TEXT = "Jane Smith visited Paris. It rained all week, and the museum was closed."
NER_OUTPUT = {
    "ents": [
        {"text": "Jane Smith", "start": 0, "end": 10, "label": "PER"},
        {"text": "Paris", "start": 19, "end": 24, "label": "LOC"},
    ]
}


def builtin(*names):
    return {name: get_task(name) for name in names}


def task_with_view(name, view):
    """A task whose view is ``view``, the rest borrowed: for testing views alone."""
    return Task(
        name=name,
        factory=f"x_{name}",
        make_example=get_task("ner").make_example,
        to_json=lambda doc: {},
        view=view,
    )


def terminal(renderable) -> str:
    console = Console(width=120, color_system=None, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def test_marked_text_refuses_marks_outside_the_text_or_overlapping():
    MarkedText("abc", [Mark(0, 1, "A"), Mark(1, 3, "B")])
    with pytest.raises(ValueError, match="not a span of a text of 3 characters"):
        MarkedText("abc", [Mark(2, 5, "A")])
    with pytest.raises(ValueError, match="overlaps"):
        MarkedText("abcdef", [Mark(2, 5, "B"), Mark(0, 3, "A")])


def test_entities_are_drawn_by_displacy_in_place():
    record = {"text": TEXT, "ner": NER_OUTPUT}
    page = render_html([record], builtin("ner"))
    assert page.startswith("<!DOCTYPE html>")
    marks = re.findall(r'<mark class="entity"[^>]*>\s*(.*?)\s*<span[^>]*>(\w+)</span>', page)
    assert marks == [("Jane Smith", "PER"), ("Paris", "LOC")]
    # The text between the marks is kept, so the sentence reads whole.
    assert "visited" in page and "museum was closed" in page
    assert "http" not in page.replace('lang="en"', "")  # offline: nothing fetched


def test_each_builtin_task_shows_its_own_part():
    tasks = builtin("sentiment", "ner", "qa", "summarization", "translation")
    record = {
        "text": TEXT,
        "questions": ["Who visited Paris?", "What is the capital of Peru?"],
        "sentiment": {
            "label": "negative",
            "score": 0.8,
            "cats": {"positive": 0.2, "negative": 0.8},
        },
        "ner": NER_OUTPUT,
        "qa": {
            "answers": [
                {
                    "question": "Who visited Paris?",
                    "text": "Jane Smith",
                    "start": 0,
                    "end": 10,
                    "score": 0.91,
                },
                {
                    "question": "What is the capital of Peru?",
                    "text": None,
                    "start": None,
                    "end": None,
                    "score": None,
                },
            ]
        },
        "summarization": {
            "summary": "Jane Smith visited Paris.",
            "sentences": [
                {"text": "Jane Smith visited Paris.", "start": 0, "end": 25, "score": 0.7}
            ],
        },
        "translation": {"translation": "Jane Smith besuchte Paris."},
    }
    parts = dict(record_blocks(record, tasks))
    assert list(parts) == list(tasks)
    assert [(b.label, b.value) for b in parts["sentiment"]] == [
        ("negative", 0.8),
        ("positive", 0.2),
    ]
    answer, missing = parts["qa"]
    assert isinstance(answer, MarkedText) and answer.marks[0].label == "ANSWER"
    assert TEXT[answer.marks[0].start : answer.marks[0].end] == "Jane Smith"
    assert "Who visited Paris?" in answer.title and "0.91" in answer.title
    assert missing == Note("Q: What is the capital of Peru?", "no answer")
    (summary,) = parts["summarization"]
    assert [TEXT[m.start : m.end] for m in summary.marks] == ["Jane Smith visited Paris."]
    assert parts["translation"] == [
        Columns([("source", TEXT), ("translation", "Jane Smith besuchte Paris.")])
    ]
    page = render_html([record], tasks)
    for name in tasks:
        assert f'data-task="{name}"' in page
    assert page.count('<mark class="entity"') == 2 + 1 + 1  # entities, an answer, a sentence
    text = terminal(render_text([record], tasks))
    assert "Jane Smith PER" in text and "negative" in text and "besuchte" in text
    assert "Q: What is the capital of Peru?: no answer" in text


def test_abstractive_summary_and_pair_similarity():
    record = {"text": TEXT, "summarization": {"summary": "Rain in Paris.", "sentences": []}}
    assert record_blocks(record, builtin("summarization")) == [
        ("summarization", [Note("summary", "Rain in Paris.")])
    ]
    pair = {"text_a": "A dog runs.", "text_b": "A dog is running.", "similarity": {"score": 0.8}}
    assert record_blocks(pair, builtin("similarity")) == [
        ("similarity", [Score("similarity", 0.8)])
    ]
    page = render_html([pair], builtin("similarity"))
    assert "A dog is running." in page and "width: 80.0%" in page


def test_a_third_party_task_shows_up_with_or_without_a_view():
    def stars(output, inputs):
        return [Score("stars", output["stars"] / 5, title=f"{len(inputs['text'])} characters")]

    base = get_task("sentiment")
    viewed = Task(
        name="stars",
        factory="x_stars",
        make_example=base.make_example,
        to_json=lambda doc: {},
        view=stars,
    )
    plain = Task(
        name="tags", factory="x_tags", make_example=base.make_example, to_json=lambda doc: {}
    )
    record = {"text": "Fine.", "stars": {"stars": 4}, "tags": {"tags": ["a", "<b>"]}}
    tasks = {"stars": viewed, "tags": plain}
    assert record_blocks(record, tasks) == [
        ("stars", [Score("stars", 0.8, title="5 characters")]),
        ("tags", [Note("output", '{"tags": ["a", "<b>"]}')]),
    ]
    page = render_html([record], tasks)
    assert html.escape('["a", "<b>"]') in page and "<b>" not in page


def test_a_records_warnings_show_under_their_task_not_as_input():
    warning = {"component": "translation", "code": "W013", "message": "read the first 3"}
    record = {
        "text": "the cat sleeps and the dog runs",
        "translation": {"translation": "die Katze"},
        "summarization": {"summary": "The cat.", "sentences": []},
        "warnings": [warning],
    }
    tasks = builtin("translation", "summarization")
    assert dict(record_blocks(record, tasks)) == {
        "translation": [
            Columns([("source", record["text"]), ("translation", "die Katze")]),
            Note("warning", "[W013] read the first 3"),
        ],
        "summarization": [Note("summary", "The cat.")],
    }
    text = terminal(render_text([record], tasks))
    assert "[W013] read the first 3" in text and "warnings:" not in text
    warning["message"] = "[W013] read the first 3"  # a coded message names its code once
    assert dict(record_blocks(record, tasks))["translation"][1].text == warning["message"]
    # A warning of a component with no output in the record is shown last, not lost.
    record["warnings"].append({"component": "tagger", "code": "X001", "message": "odd"})
    assert record_blocks(record, tasks)[-1] == ("warnings", [Note("warning", "[X001] odd")])


def test_a_failing_view_shows_the_output_and_the_error():
    def broken(output, inputs):
        return [MarkedText("short", [Mark(0, 99, "X")])]

    task = task_with_view("bad", broken)
    [(name, blocks)] = record_blocks({"text": "t", "bad": {"x": 1}}, {"bad": task})
    assert name == "bad"
    assert blocks[0] == Note("output", '{"x": 1}')
    assert blocks[1].title == "view error"
    assert "task 'bad' failed: ValueError: mark 'X' at [0, 99)" in blocks[1].text


def test_text_is_escaped_in_every_block():
    evil = "<script>alert(1)</script> & Co"
    tasks = builtin("ner", "translation")
    record = {
        "text": evil,
        "ner": {"ents": [{"start": 0, "end": 8, "label": "ORG"}]},
        "translation": {"translation": evil},
    }
    page = render_html([record], tasks)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_rendering_runs_the_pipeline(nlp):
    rendering = nlp_tasks.render(nlp, ["Jane Smith visited Paris.", "A dull film."])
    assert isinstance(rendering, Rendering)
    assert [r["text"] for r in rendering.records] == ["Jane Smith visited Paris.", "A dull film."]
    assert rendering.html().startswith("<!DOCTYPE html>")
    fragment = rendering._repr_html_()  # Jupyter
    assert "<style>" in fragment and "<html" not in fragment
    assert fragment.count('data-task="sentiment"') == 2
    assert "A dull film." in terminal(rendering)


def test_predict_command_formats(pipeline_dir, tmp_path):
    runner = CliRunner()
    texts = ["Jane Smith visited Paris.", "A dull film."]
    piped = runner.invoke(app, ["predict", str(pipeline_dir), *texts])
    assert piped.exit_code == 0, piped.output
    records = [json.loads(line) for line in piped.stdout.splitlines()]  # not a terminal: JSON
    assert [r["text"] for r in records] == texts
    page = tmp_path / "page.html"
    result = runner.invoke(
        app, ["predict", str(pipeline_dir), *texts, "--format", "html", "--output", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert page.read_text(encoding="utf-8").count('<section class="record">') == 2
    readable = runner.invoke(app, ["predict", str(pipeline_dir), *texts, "--format", "text"])
    assert readable.exit_code == 0, readable.output
    assert "text: Jane Smith visited Paris." in readable.stdout and "sentiment" in readable.stdout
    assert "{" not in readable.stdout


def test_predict_command_refuses_bad_format_settings(pipeline_dir, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["predict", str(pipeline_dir), "t", "--format", "xml"])
    assert bad.exit_code == 2 and "expected one of auto, text, json, html" in bad.output
    no_file = runner.invoke(app, ["predict", str(pipeline_dir), "t", "--format", "html"])
    assert no_file.exit_code == 2 and "--output PAGE.html" in no_file.output
    folder = runner.invoke(
        app, ["predict", str(pipeline_dir), "t", "--format", "json", "--output", str(tmp_path)]
    )
    assert folder.exit_code == 1 and "it is a directory" in folder.output


def test_labels_and_colours_of_marks_cannot_inject_html():
    evil_label = "<img src=x onerror=alert(1)>"
    record = {"text": "Jane Smith", "ner": {"ents": [{"start": 0, "end": 4, "label": evil_label}]}}
    page = render_html([record], builtin("ner"))
    assert "<img" not in page and html.escape(evil_label) in page

    def colourful(output, inputs):
        marks = [Mark(0, 4, "A", color="#ff0"), Mark(5, 10, "B", color="red}</style><script>x")]
        return [MarkedText(inputs["text"], marks)]

    task = task_with_view("marks", colourful)
    page = render_html([{"text": "Jane Smith", "marks": {"x": 1}}], {"marks": task})
    assert "#ff0" in page and "<script>" not in page and "</style><" not in page
