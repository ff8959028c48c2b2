"""Similarity records, settings and scores: every bad case gets its coded message."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from nlp_tasks_similarity.component import FACTORY, check_score_range
from nlp_tasks_similarity.reader import make_example
from nlp_tasks_similarity.scorer import score_similarity
from spacy.training import Example

from nlp_tasks import ConfigError, RecordError
from nlp_tasks.errors import DataError
from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone
from nlp_tasks.training.corpus import MultiTaskCorpus

GOOD = {"text_a": "A cat sits on the mat.", "text_b": "A cat is on a mat.", "score": 4.2}


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def test_a_good_record_makes_a_pair_example(nlp):
    example = make_example(nlp, {**GOOD, "genre": "main-captions", "id": 7})
    predicted, reference = example.predicted, example.reference
    assert predicted.text == "A cat sits on the mat.\n\nA cat is on a mat."
    assert [s.label_ for s in predicted.spans["segments"]] == ["text_a", "text_b"]
    assert [s.text for s in predicted.spans["segments"]] == [GOOD["text_a"], GOOD["text_b"]]
    assert reference._.similarity_gold == pytest.approx(4.2 / 5)
    assert predicted._.similarity_gold is None  # the gold is on the reference only
    assert get_task("similarity").accepts(predicted)
    assert make_example(nlp, {**GOOD, "score": 0}).reference._.similarity_gold == 0.0
    assert make_example(nlp, {**GOOD, "score": 5}).reference._.similarity_gold == 1.0


@pytest.mark.parametrize(
    "change, code, shown",
    [
        ({"score": None}, "SIM001", "'score'"),
        ({"score": "3.5"}, "SIM002", "str: '3.5'"),
        ({"score": True}, "SIM002", "bool: True"),
        ({"score": [3]}, "SIM002", "list: [3]"),
        ({"score": math.nan}, "SIM003", "nan"),
        ({"score": math.inf}, "SIM003", "inf"),
        ({"score": -0.5}, "SIM004", "-0.5, outside the declared score range [0, 5]"),
        ({"score": 5.01}, "SIM004", "5.01"),
        ({"text_a": None}, "E051", "'text_a'"),
        ({"text_b": 3}, "E051", "'text_b'"),
        ({"text_a": b"bytes"}, "E057", "'text_a'"),
        ({"text_b": " \n "}, "E080", "'text_b'"),
    ],
)
def test_bad_records_are_refused_with_their_code(nlp, change, code, shown):
    record = {**GOOD, **change}
    with pytest.raises(RecordError) as error:
        make_example(nlp, record)
    assert f"[{code}]" in str(error.value)
    assert shown in str(error.value)


@pytest.mark.parametrize(
    "field, code", [("score", "SIM001"), ("text_a", "E050"), ("text_b", "E050")]
)
def test_a_missing_field_is_refused(nlp, field, code):
    record = {key: value for key, value in GOOD.items() if key != field}
    with pytest.raises(RecordError, match=rf"\[{code}\] .*'{field}'"):
        make_example(nlp, record)


def test_the_score_range_is_the_pipelines(nlp):
    custom = spacy.blank("en")
    custom.add_pipe(FACTORY, name="sts", config={"score_range": [1, 3]})
    example = make_example(custom, {**GOOD, "score": 2.5})
    assert example.reference._.similarity_gold == pytest.approx(0.75)
    with pytest.raises(RecordError, match=r"\[SIM004\] .*\[1, 3\].*\[components.sts\]"):
        make_example(custom, {**GOOD, "score": 4.2})


def test_a_bad_record_in_a_corpus_names_the_file_and_line(tmp_path, nlp):
    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"text_a": "A.", "text_b": "B.", "score": 1}\n'
        '{"text_a": "A.", "text_b": "B.", "score": 9}\n',
        encoding="utf8",
    )
    corpus = MultiTaskCorpus({"similarity": path})
    with pytest.raises(DataError, match=r"train.jsonl, line 2: .*\[SIM004\]"):
        list(corpus(nlp))
    path.write_text('{"text_a": "A.", "text_b": " ", "score": 1}\n', encoding="utf8")
    with pytest.raises(DataError, match=r"\[E080\] .*train.jsonl, line 1: field 'text_b'"):
        list(MultiTaskCorpus({"similarity": path})(nlp))


@pytest.mark.parametrize(
    "setting, code",
    [
        ({"mode": "few-shot"}, "SIM010"),
        ({"score_range": [5, 0]}, "SIM011"),
        ({"score_range": [0]}, "SIM011"),
        ({"score_range": [0, "5"]}, "SIM011"),
        ({"score_range": [0, 1, 2]}, "SIM011"),
        ({"loss_weight": 0}, "SIM013"),
        ({"loss_weight": -2.0}, "SIM013"),
    ],
)
def test_bad_settings_are_refused_with_their_code(setting, code):
    with pytest.raises(ConfigError, match=rf"\[{code}\] Component 'similarity'"):
        spacy.blank("en").add_pipe(FACTORY, name="similarity", config=setting)
    # spaCy's config refuses NaN, infinity and booleans first; the check does too.
    for value in ([0, math.inf], [math.nan, 5], [True, 5], (0, 5, 1), None):
        with pytest.raises(ConfigError, match=r"\[SIM011\]"):
            check_score_range(value)


def test_the_scorer_counts_the_examples_with_gold_only(nlp):
    examples = []
    for score, predicted in ((0.5, 0.2), (2.5, 0.5), (4.5, 0.7), (5.0, 0.65)):
        example = make_example(nlp, {**GOOD, "score": score})
        example.predicted._.similarity = predicted
        examples.append(example)
    other = Example(nlp.make_doc("Another task."), nlp.make_doc("Another task."))
    scores = score_similarity([*examples, other])
    assert scores["similarity_spearman"] == pytest.approx(0.8)
    assert 0.0 < scores["similarity_pearson"] < 1.0
    assert score_similarity([other]) == {"similarity_spearman": None, "similarity_pearson": None}
    assert score_similarity(examples[:1])["similarity_spearman"] is None


def test_default_score_weights_name_the_headline():
    from spacy.language import Language

    weights = Language.get_factory_meta(FACTORY).default_score_weights
    assert weights == {"similarity_spearman": 1.0, "similarity_pearson": None}


@pytest.mark.slow
def test_check_task_trains_saves_and_reloads(tmp_path):
    from nlp_tasks.testing import check_task

    records = [
        {"text_a": "A man plays a flute.", "text_b": "A man is playing a flute.", "score": 4.8},
        {"text_a": "A dog runs in a park.", "text_b": "The bank raised its rates.", "score": 0.2},
        {"text_a": "A girl rides a bike.", "text_b": "A girl is riding a horse.", "score": 2.4},
        {"text_a": "Snow closed the road.", "text_b": "The road was shut by snow.", "score": 5.0},
    ]
    check = check_task("similarity", records, tmp_path, steps=20, learn_rate=0.003)
    assert check.loss_after < check.loss_before
    assert check.scores["similarity_spearman"] is not None
    # Each record's pair doc is scored; blank plain texts are no pairs: no output.
    assert all(0.0 <= output["score"] <= 1.0 for output in check.outputs)
    assert check.outputs[0]["score"] > check.outputs[1]["score"]
    assert check.blank_outputs == [None] * len(check.blank_outputs)


@pytest.mark.slow
def test_zero_shot_commands_of_the_readme(tmp_path):
    backbone = make_tiny_backbone(tmp_path / "bb", [GOOD["text_a"], GOOD["text_b"]])
    config = tmp_path / "similarity.cfg"
    output = tmp_path / "zero-shot"
    nlp_tasks_cli = str(Path(sys.executable).parent / "nlp-tasks")
    commands = [
        [nlp_tasks_cli, "init", "config", str(config), "--tasks", "similarity"],
        [sys.executable, "-m", "spacy", "assemble", str(config), str(output)],
    ]
    # The README's commands, on a tiny backbone rather than the default one.
    commands[0] += ["--backbone", str(backbone)]
    commands[1] += ["--components.similarity.mode", "zero-shot"]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    script = (
        "import sys, nlp_tasks\n"
        "from nlp_tasks_similarity import similarity\n"
        "nlp = nlp_tasks.load(sys.argv[1])\n"
        "assert nlp.get_pipe('similarity').mode == 'zero-shot'\n"
        "s = similarity(nlp, [('A cat sits.', 'A cat sits.'), ('A cat sits.', 'On a mat.')])\n"
        "assert s[0] > s[1], s\n"
        "print(s)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(output)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
