"""`nlp-tasks add-task`: a new head on a trained pipeline, the old heads untouched."""

import json

import pytest

from nlp_tasks import load
from nlp_tasks.testing import backbone_parameters, check_task
from nlp_tasks.training.corpus import DataError
from nlp_tasks.training.extend import add_task, add_tasks, compare_outputs

SENTIMENT = [
    {"text": "I loved this film, it was wonderful.", "label": "positive"},
    {"text": "A great and moving story, superb acting.", "label": "positive"},
    {"text": "Wonderful food and friendly staff.", "label": "positive"},
    {"text": "Terrible plot and awful acting.", "label": "negative"},
    {"text": "The service was slow and the food cold.", "label": "negative"},
    {"text": "A boring, bland and dreadful book.", "label": "negative"},
]
TOPICS = [
    {"text": "The striker scored twice in the cup final.", "topics": ["sport"]},
    {"text": "The coach praised the team after the match.", "topics": ["sport"]},
    {"text": "Shares of the bank fell after weak profits.", "topics": ["business"]},
    {"text": "The retailer reported record quarterly sales.", "topics": ["business"]},
    {"text": "The film was a great and moving story.", "topics": []},
]
UNSEEN = ["A dreadful match, the team was awful.", "Profits were wonderful this year.", ""]


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    return path


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    root = tmp_path_factory.mktemp("extend")
    base = check_task("sentiment", SENTIMENT, root / "base", steps=20).model_path
    train = write_jsonl(root / "topics.jsonl", TOPICS)
    result = add_task(
        base,
        "topics",
        train=train,
        dev=train,
        output=root / "run",
        max_steps=100,
        eval_frequency=50,
        learn_rate=0.01,
    )
    return base, result, train


def test_extended_pipeline_has_the_new_head_after_the_old(extended):
    _, result, _ = extended
    nlp = load(result.model_path)
    assert nlp.pipe_names == ["transformer", "sentiment", "topics"]
    assert result.unchanged == ["sentiment"]
    assert result.checked_texts == len(TOPICS)


def test_backbone_and_old_head_weights_are_identical(extended):
    base, result, _ = extended
    before, after = load(base), load(result.model_path)
    old, new = backbone_parameters(before), backbone_parameters(after)
    assert old.keys() == new.keys()
    assert all((old[name] == new[name]).all() for name in old)
    assert before.get_pipe("sentiment").model.to_bytes() == (
        after.get_pipe("sentiment").model.to_bytes()
    )


def test_old_head_outputs_are_identical_on_unseen_texts(extended):
    base, result, _ = extended
    before, after = load(base), load(result.model_path)
    texts = [r["text"] for r in SENTIMENT] + UNSEEN
    compared = compare_outputs(before, after, texts)
    assert {name: (r.compared, r.changed) for name, r in compared.items()} == {
        "sentiment": (len(texts), 0)
    }
    assert [d.cats for d in before.pipe(texts)] == [d.cats for d in after.pipe(texts)]


def test_new_head_learns_on_the_frozen_backbone(extended):
    _, result, _ = extended
    nlp = load(result.model_path)
    assert set(nlp.get_pipe("topics").labels) == {"business", "sport"}
    predicted = [doc._.topics for doc in nlp.pipe(r["text"] for r in TOPICS)]
    assert predicted == [r["topics"] for r in TOPICS]


def test_compare_outputs_counts_a_real_change(extended):
    # The comparison itself must be able to fail: retrain the sentiment head
    # a little and the counts move off zero.
    base, _, _ = extended
    before, after = load(base), load(base)
    sentiment = after.get_pipe("sentiment")
    params = sentiment.model.get_ref("output_layer")
    params.set_param("b", params.get_param("b") + 0.5 * params.ops.asarray([1.0, -1.0]))
    compared = compare_outputs(before, after, [r["text"] for r in SENTIMENT])
    assert compared["sentiment"].changed > 0


def test_adding_a_task_the_pipeline_has_is_refused(extended, tmp_path):
    base, _, train = extended
    with pytest.raises(DataError, match=r"\[E037\].*'sentiment'"):
        add_task(base, "sentiment", train=train, dev=train, output=tmp_path)


def test_missing_training_file_is_named(extended, tmp_path, cli):
    base, _, train = extended
    result = cli(
        "add-task",
        str(base),
        "topics",
        "--train",
        str(tmp_path / "nope.jsonl"),
        "--dev",
        str(train),
        "--output",
        str(tmp_path / "run"),
    )
    assert result.returncode == 1
    assert "[E030]" in result.stderr and "nope.jsonl" in result.stderr


def test_an_added_generative_head_reads_its_whole_training_file(extended, tmp_path):
    # As in a generated config: the target tokenizer learns from every target
    # of the new task's file, a head without a vocabulary of its own gets nothing.
    from nlp_tasks.training.extend import add_task_config

    base, _, train = extended
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"src": "a film", "tgt": "ein Film"}])
    nlp = load(base)
    config = add_task_config(nlp, "translation", train=pairs, dev=pairs)
    assert config["initialize"]["components"]["translation"] == {
        "train_path": "${paths.translation_train}"
    }
    config = add_task_config(nlp, "topics", train=train, dev=train)
    assert "topics" not in config["initialize"]["components"]


def test_check_records_fit_each_tasks_inputs():
    from nlp_tasks import TaskInputs
    from nlp_tasks.training.extend import check_records

    texts = ["First text.", "", "Second text."]
    assert check_records(TaskInputs(), texts) == [{"text": t} for t in texts]
    pairs = check_records(TaskInputs(segments=("text_a", "text_b")), texts)
    assert pairs == [
        {"text_a": "First text.", "text_b": "Second text."},
        {"text_a": "Second text.", "text_b": "First text."},
    ]
    long = "one two three four five six seven eight nine ten"
    asked = check_records(TaskInputs(extras=("questions",)), [*texts, long])
    assert asked[0] == {"text": "First text.", "questions": ["First text."]}
    assert asked[1] == {"text": ""}
    assert asked[3]["questions"] == ["one two three four five six seven eight"]


@pytest.mark.parametrize("where", ["the pipeline", "its parent"])
def test_an_output_over_the_pipeline_is_refused_untouched(pipeline_dir, tmp_path, where):
    # --output the pipeline itself wrote the run's config.cfg over the pipeline's own
    # (it then failed to load, RecursionError); --output the folder holding it as
    # model-best would have replaced it with the extended pipeline.
    import shutil

    base = tmp_path / "training" / "model-best"
    shutil.copytree(pipeline_dir, base)
    before = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}
    train = write_jsonl(tmp_path / "topics.jsonl", TOPICS)
    output = base if where == "the pipeline" else base.parent
    with pytest.raises(DataError, match=r"\[E047\].*would overwrite the pipeline"):
        add_task(base, "topics", train=train, dev=train, output=output, max_steps=1)
    assert {p: p.read_bytes() for p in base.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in base.parent.iterdir()) == ["model-best"]
    assert load(base).pipe_names == ["transformer", "sentiment", "ner"]


NER_RECORDS = [
    {"text": "Jane Smith praised the film.", "entities": [[0, 10, "PER"]]},
    {"text": "The bank in London reported profits.", "entities": [[12, 18, "LOC"]]},
    {"text": "A boring and dreadful book.", "entities": []},
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """<root>/<task>/{train,dev}.jsonl for topics and NER, as `add-task --data` reads."""
    root = tmp_path_factory.mktemp("add-data")
    for task, records in (("topics", TOPICS), ("ner", NER_RECORDS)):
        for split in ("train", "dev"):
            write_jsonl(root / task / f"{split}.jsonl", records)
    return root


@pytest.fixture(scope="module")
def added_in_turn(extended, data_root, tmp_path_factory):
    base, _, _ = extended
    output = tmp_path_factory.mktemp("in-turn") / "run"
    results = add_tasks(
        base, ["topics", "ner"], data=data_root, output=output, max_steps=30, eval_frequency=15
    )
    return base, output, results


def test_tasks_are_added_one_after_another_and_the_last_pipeline_is_copied(added_in_turn):
    base, output, results = added_in_turn
    topics, ner = results
    assert topics.model_path == output / "topics" / "model-best"
    assert ner.model_path == output / "ner" / "model-best"
    # The second run starts from the first one's pipeline and checks its new head too.
    assert topics.unchanged == ["sentiment"]
    assert ner.unchanged == ["sentiment", "topics"]
    final = load(output / "model-best")
    assert final.pipe_names == ["transformer", "sentiment", "topics", "ner"]
    texts = [r["text"] for r in SENTIMENT + NER_RECORDS] + UNSEEN
    last = load(ner.model_path)
    assert [
        (d.cats, d._.topics, [(e.text, e.label_) for e in d.ents]) for d in final.pipe(texts)
    ] == [(d.cats, d._.topics, [(e.text, e.label_) for e in d.ents]) for d in last.pipe(texts)]
    old, new = backbone_parameters(load(base)), backbone_parameters(final)
    assert all((old[name] == new[name]).all() for name in old)


@pytest.mark.parametrize(
    "tasks,missing,error",
    [
        (["topics", "similarity"], "similarity", r"\[E030\] The train file for task 'similarity'"),
        (["topics", "topics"], None, r"\[E035\] Task 'topics' is given more than once"),
        (["topics", "sentiment"], None, r"\[E037\].*task 'sentiment'"),
    ],
)
def test_every_task_is_checked_before_the_first_trains(
    extended, data_root, tmp_path, tasks, missing, error
):
    # A bad second task used to be found only after the first had trained.
    base, _, _ = extended
    output = tmp_path / "run"
    with pytest.raises(DataError, match=error):
        add_tasks(base, tasks, data=data_root, output=output, max_steps=1)
    assert not output.exists()


def test_no_task_to_add_copies_the_pipeline(extended, data_root, tmp_path):
    base, _, _ = extended
    assert add_tasks(base, [], data=data_root, output=tmp_path / "run") == []
    copy = load(tmp_path / "run" / "model-best")
    assert copy.pipe_names == load(base).pipe_names
    texts = [r["text"] for r in SENTIMENT]
    assert [d.cats for d in copy.pipe(texts)] == [d.cats for d in load(base).pipe(texts)]


def test_tasks_in_turn_never_write_over_the_pipeline(pipeline_dir, tmp_path):
    import shutil

    base = tmp_path / "training" / "model-best"
    shutil.copytree(pipeline_dir, base)
    data = tmp_path / "data"
    pairs = [{"text_a": "A film.", "text_b": "A movie.", "score": 4.5}]
    for split in ("train", "dev"):
        write_jsonl(data / "topics" / f"{split}.jsonl", TOPICS)
        write_jsonl(data / "similarity" / f"{split}.jsonl", pairs)
    with pytest.raises(DataError, match=r"\[E047\].*would overwrite the pipeline"):
        add_tasks(base, ["topics", "similarity"], data=data, output=base.parent)
    with pytest.raises(DataError, match=r"\[E047\].*would overwrite the pipeline"):
        add_tasks(base, [], data=data, output=base.parent)
    assert sorted(p.name for p in base.parent.iterdir()) == ["model-best"]
    assert load(base).pipe_names == ["transformer", "sentiment", "ner"]


def test_add_task_cli_takes_several_tasks_from_data_only(extended, data_root, tmp_path, cli):
    base, _, train = extended
    common = ["--output", str(tmp_path / "run"), "--max-steps", "1"]
    several = cli(
        "add-task", str(base), "topics,ner", "--train", str(train), "--dev", str(train), *common
    )
    assert several.returncode == 2 and "2 tasks need --data DIR" in several.stderr
    both = cli(
        "add-task", str(base), "topics", "--data", str(data_root), "--train", str(train), *common
    )
    assert both.returncode == 2 and "Give --data, or --train and --dev, not both" in both.stderr
    nothing = cli("add-task", str(base), "", "--data", str(data_root), *common)
    assert nothing.returncode == 0, nothing.stderr
    assert "No task to add: copied the pipeline" in nothing.stdout
    assert load(tmp_path / "run" / "model-best").pipe_names == load(base).pipe_names
