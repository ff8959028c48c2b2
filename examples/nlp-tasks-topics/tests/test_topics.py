"""The topics plugin through the core's public API: the plugin check, a
multi-task run beside the built-in heads, and batch output."""

import json

import pytest
import spacy
from spacy.training.initialize import init_nlp

from nlp_tasks import RecordError, predict
from nlp_tasks.registry import get_task
from nlp_tasks.testing import check_task, make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config
from nlp_tasks.training.corpus import MultiTaskCorpus

TOPICS = [
    {"text": "The striker scored twice in the cup final.", "topics": ["sport"]},
    {"text": "The coach praised the team after the match.", "topics": ["sport"]},
    {"text": "Shares of the bank fell after weak profits.", "topics": ["business"]},
    {"text": "The retailer reported record quarterly sales.", "topics": ["business"]},
    {"text": "The chip maker's profits rose on phone sales.", "topics": ["business", "tech"]},
    {"text": "A new phone app encrypts every message.", "topics": ["tech"]},
    {"text": "The software update fixes the laptop battery.", "topics": ["tech"]},
    {"text": "We had soup for lunch and then a walk.", "topics": []},
]
SENTIMENT = [
    {"text": "I loved this film, it was wonderful.", "label": "positive"},
    {"text": "A great and moving story.", "label": "positive"},
    {"text": "Terrible plot and awful acting.", "label": "negative"},
    {"text": "I hated every minute of it.", "label": "negative"},
]
NER = [
    {"text": "Jane Smith visited Paris.", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
    {"text": "Acme Corp opened in London.", "entities": [[0, 9, "ORG"], [20, 26, "LOC"]]},
]


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")


@pytest.mark.slow
def test_passes_the_core_plugin_check(tmp_path):
    check = check_task("topics", TOPICS, tmp_path, steps=40)
    assert check.loss_after < check.loss_before
    for output in check.outputs:
        assert set(output["topics"]) <= {"business", "sport", "tech"}
        assert set(output["scores"]) == {"business", "sport", "tech"}
    assert check.scores["topics_micro_f"] is not None


@pytest.fixture(scope="module")
def multitask(tmp_path_factory):
    root = tmp_path_factory.mktemp("multitask")
    for task, records in (("topics", TOPICS), ("sentiment", SENTIMENT), ("ner", NER)):
        write_jsonl(root / "data" / task / "train.jsonl", records)
        write_jsonl(root / "data" / task / "dev.jsonl", records)
    texts = [r["text"] for r in TOPICS + SENTIMENT + NER]
    backbone = make_tiny_backbone(root / "backbone", texts)
    config = make_config(["sentiment", "ner", "topics"], backbone=str(backbone), max_steps=40)
    config["paths"]["data"] = str(root / "data")
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = init_nlp(config.interpolate())
    tasks = ("sentiment", "ner", "topics")
    sources = {task: root / "data" / task / "train.jsonl" for task in tasks}
    examples = list(MultiTaskCorpus(sources)(nlp))
    history = train_steps(nlp, nlp.create_optimizer(), examples, steps=40, batch_size=7)
    return nlp, history


def test_trains_with_the_builtin_heads_in_one_run(multitask):
    nlp, history = multitask
    assert nlp.pipe_names == ["transformer", "sentiment", "ner", "topics"]
    for name in ("sentiment", "ner", "topics"):
        first = sum(step[name] for step in history[:5])
        last = sum(step[name] for step in history[-5:])
        assert last < first, (name, first, last)


def test_topic_gold_stays_out_of_the_sentiment_head(multitask):
    nlp, _ = multitask
    assert set(nlp.get_pipe("sentiment").labels) == {"positive", "negative"}
    assert set(nlp.get_pipe("topics").labels) == {"business", "sport", "tech"}


def test_appears_in_batch_output_beside_the_other_heads(multitask):
    nlp, _ = multitask
    records = predict(nlp, ["The striker scored in London.", ""])
    assert set(records[0]) == {"text", "sentiment", "ner", "topics"}
    assert set(records[0]["topics"]["scores"]) == {"business", "sport", "tech"}
    assert records[1]["text"] == "" and isinstance(records[1]["topics"]["topics"], list)
    json.dumps(records)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"topics": ["sport"]}, "'text' must be a string"),
        ({"text": " ", "topics": []}, "'text' is empty"),
        ({"text": "A match.", "topics": "sport"}, "'topics' must be a list"),
        ({"text": "A match.", "topics": ["sport", ""]}, "'topics' must be a list"),
    ],
)
def test_bad_records_are_refused_with_a_reason(record, message):
    with pytest.raises(RecordError, match=message):
        get_task("topics").make_example(spacy.blank("en"), record)
