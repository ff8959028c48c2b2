"""The summarization task in the core's workflows: the plugin check, multi-task
training beside sentiment, and ``spacy train`` from a generated config."""

import json
import subprocess
import sys

import pytest
from spacy.training.initialize import init_nlp

from nlp_tasks.registry import get_task
from nlp_tasks.testing import backbone_parameters, check_task, train_steps
from nlp_tasks.training.config import make_config
from nlp_tasks.training.corpus import MultiTaskCorpus

NER = [
    {"text": "Jane Smith visited Paris.", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
    {"text": "Acme Corp opened in London.", "entities": [[0, 9, "ORG"], [20, 26, "LOC"]]},
]


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")


def changed(before, after):
    return sum(int(not (before[k] == after[k]).all()) for k in before)


@pytest.mark.slow
def test_passes_the_core_plugin_check(records, tmp_path):
    check = check_task("summarization", records, tmp_path, steps=30)
    assert check.loss_after < check.loss_before
    assert check.scores["summarization_rougeL"] is not None
    for output, record in zip(check.outputs, records):
        assert set(output) == {"summary", "sentences"}
        assert output["summary"] == " ".join(s["text"] for s in output["sentences"])
        for sentence in output["sentences"]:
            assert record["text"][sentence["start"] : sentence["end"]] == sentence["text"]


@pytest.fixture(scope="module")
def multitask(backbone, records, sentiment_records, tmp_path_factory):
    """Sentiment and summarization on one backbone; summarization is the last listener."""
    root = tmp_path_factory.mktemp("multitask")
    for task, task_records in (("sentiment", sentiment_records), ("summarization", records)):
        write_jsonl(root / task / "train.jsonl", task_records)
        write_jsonl(root / task / "dev.jsonl", task_records)
    config = make_config(["sentiment", "summarization"], backbone=str(backbone))
    config["paths"]["data"] = str(root)
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = init_nlp(config.interpolate())
    assert nlp.pipe_names[-1] == "summarization"
    sources = {task: root / task / "train.jsonl" for task in ("sentiment", "summarization")}
    examples = list(MultiTaskCorpus(sources)(nlp))
    return nlp, examples


@pytest.mark.parametrize("only", ["summarization", "sentiment"])
def test_a_single_task_batch_still_changes_the_backbone(multitask, only):
    """With summarization last in the pipeline, spacy-transformers runs the
    backbone's backward pass from its listener only: a batch without summaries
    must still send it a (zero) gradient, or sentiment's gradient is dropped."""
    nlp, examples = multitask
    summaries = [eg for eg in examples if eg.reference._.summary is not None]
    batch = summaries if only == "summarization" else [eg for eg in examples if eg.reference.cats]
    assert batch and len(batch) < len(examples)
    before = backbone_parameters(nlp)
    losses = train_steps(nlp, nlp.create_optimizer(), batch, steps=2, batch_size=4)
    assert changed(before, backbone_parameters(nlp)) > 0
    other = "sentiment" if only == "summarization" else "summarization"
    assert all(step[other] == 0.0 for step in losses), "the other head has no gold: no loss"


def test_both_heads_learn_in_one_run(multitask):
    nlp, examples = multitask
    history = train_steps(nlp, nlp.create_optimizer(), examples, steps=30, batch_size=5)
    for head in ("sentiment", "summarization"):
        first = sum(step[head] for step in history[:5])
        last = sum(step[head] for step in history[-5:])
        assert last < first, (head, first, last)
    scores = nlp.evaluate(examples)
    assert scores["sentiment_acc"] is not None
    assert scores["summarization_rougeL"] > 0.3


@pytest.mark.slow
def test_spacy_train_and_load_without_code(backbone, records, sentiment_records, tmp_path):
    """``nlp-tasks init config`` then ``python -m spacy train``, ``spacy.load``,
    ``nlp_tasks.load`` and ``nlp-tasks evaluate`` in fresh interpreters."""
    data = tmp_path / "data"
    for task, task_records in (
        ("sentiment", sentiment_records),
        ("ner", NER),
        ("summarization", records),
    ):
        write_jsonl(data / task / "train.jsonl", task_records)
        write_jsonl(data / task / "dev.jsonl", task_records)

    def run(*args):
        result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    cli = ("-c", "from nlp_tasks.cli import main; main()")
    config = tmp_path / "config.cfg"
    run(
        *cli,
        "init",
        "config",
        str(config),
        "--tasks",
        "sentiment,ner,summarization",
        "--backbone",
        str(backbone),
        "--max-steps",
        "4",
        "--eval-frequency",
        "2",
    )
    assert "nlp_tasks_summarization.Summarizer.v2" in config.read_text()
    run(
        "-m",
        "spacy",
        "train",
        str(config),
        "--output",
        str(tmp_path / "out"),
        "--paths.data",
        str(data),
    )
    model = str(tmp_path / "out" / "model-last")
    code = (
        "import sys, json, spacy, nlp_tasks\n"
        "for nlp in (spacy.load(sys.argv[1]), nlp_tasks.load(sys.argv[1])):\n"
        "    doc = nlp(sys.argv[2])\n"
        "    sents = [s.text for s in doc._.summary_sents]\n"
        "    print(json.dumps([nlp.pipe_names, doc._.summary, sents]))\n"
    )
    text = records[0]["text"]
    for line in run("-c", code, model, text).strip().splitlines():
        names, summary, sentences = json.loads(line)
        assert names == ["transformer", "sentiment", "ner", "summarization"]
        assert sentences and summary == " ".join(sentences)
        assert all(sentence in text for sentence in sentences)
    table = run(*cli, "evaluate", model, "--data", str(data))
    assert "summarization_rougeL" in table and "summarization_rouge2" in table
    # `spacy evaluate` reads a DocBin: reference docs with their summaries in user data.
    import spacy
    from spacy.tokens import DocBin

    blank = spacy.blank("en")
    task = get_task("summarization")
    references = [task.make_example(blank, record).reference for record in records]
    DocBin(docs=references, store_user_data=True).to_disk(tmp_path / "dev.spacy")
    scores = tmp_path / "scores.json"
    run(
        "-m",
        "spacy",
        "evaluate",
        model,
        str(tmp_path / "dev.spacy"),
        "--output",
        str(scores),
        "--per-component",
    )
    summarization = json.loads(scores.read_text())["summarization"]
    assert 0.0 < summarization["summarization_rouge1"] <= 1.0


def test_task_output_in_batch_processing(multitask, records):
    from nlp_tasks import predict

    nlp, _ = multitask
    outputs = predict(nlp, [records[0]["text"], ""])
    assert set(outputs[0]) == {"text", "sentiment", "summarization"}
    assert outputs[1]["summarization"] == {"summary": None, "sentences": []}
    assert outputs[1]["sentiment"] == {"label": None, "score": None, "cats": {}}
    assert get_task("summarization").to_json(nlp(records[1]["text"]))["summary"]
