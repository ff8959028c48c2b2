"""Shared fixtures of the summarization plugin's tests: records and a tiny trained pipeline.

Only the core's public API is used; nothing touches the network.
"""

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

# Short news items; each summary is one or two of the item's own sentences,
# not always the first, so the head has to read the sentences.
RECORDS = [
    {
        "text": "The council approved a new bridge over the river on Monday. Work will start "
        "in May. Residents said the old crossing was unsafe. The bridge will cost four "
        "million pounds.",
        "summary": "The council approved a new bridge over the river on Monday. The bridge "
        "will cost four million pounds.",
    },
    {
        "text": "It rained all night. Heavy floods closed two roads in the valley. Schools "
        "stayed open as usual. Forecasters expect more storms on Friday.",
        "summary": "Heavy floods closed two roads in the valley.",
    },
    {
        "text": "A small bakery in the old town won a national prize for its bread. The owner "
        "thanked her staff. She opened the shop ten years ago.",
        "summary": "A small bakery in the old town won a national prize for its bread.",
    },
    {
        "text": "The museum reopened after a long repair. Visitors queued in the sun. A "
        "rare painting returned to the main hall after forty years. Entry is free "
        "until June.",
        "summary": "A rare painting returned to the main hall after forty years.",
    },
    {
        "text": "The city team lost at home on Saturday. The coach blamed the wet pitch. "
        "Two players were injured. The club said ticket prices will fall next season.",
        "summary": "The city team lost at home on Saturday. The club said ticket prices "
        "will fall next season.",
    },
    {
        "text": "Train fares will rise by three percent in January. Passenger groups called "
        "the increase unfair. The operator said the money pays for new carriages.",
        "summary": "Train fares will rise by three percent in January.",
    },
]

SENTIMENT = [
    {"text": "I loved this film, it was wonderful.", "label": "positive"},
    {"text": "A great and moving story.", "label": "positive"},
    {"text": "Terrible plot and awful acting.", "label": "negative"},
    {"text": "I hated every minute of it.", "label": "negative"},
]


def _build_pipeline(backbone, tasks=("summarization",), model=None, **component):
    config = make_config(list(tasks), backbone=str(backbone))
    for task in tasks:
        config["corpora"]["train"]["sources"][task] = "unused"
        config["corpora"]["dev"]["sources"][task] = "unused"
    config["components"]["summarization"].update(component)
    config["components"]["summarization"]["model"].update(model or {})
    config["training"]["optimizer"]["learn_rate"] = 0.002
    return spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


@pytest.fixture(scope="session")
def records():
    """Summarization records: ``{"text", "summary"}``."""
    return [dict(record) for record in RECORDS]


@pytest.fixture(scope="session")
def sentiment_records():
    """Sentiment records, for multi-task runs."""
    return [dict(record) for record in SENTIMENT]


@pytest.fixture(scope="session")
def build_pipeline(backbone):
    """``build_pipeline(tasks=("summarization",), model=None, **settings)``: an
    uninitialized pipeline from the generated config, on the tiny backbone, with
    these settings of the summarization component and of its model."""

    def build(tasks=("summarization",), model=None, **component):
        return _build_pipeline(backbone, tasks, model, **component)

    return build


@pytest.fixture(scope="session")
def backbone(tmp_path_factory):
    texts = [r["text"] for r in RECORDS] + [r["text"] for r in SENTIMENT]
    return make_tiny_backbone(tmp_path_factory.mktemp("summarization-backbone"), texts)


@pytest.fixture(scope="session")
def trained(backbone):
    """A summarization pipeline overfit on RECORDS.

    Selection by threshold only (ratio 0), so the summary is every sentence the
    head believes in: the labelled ones, once it has learnt them.
    """
    nlp = _build_pipeline(backbone, ratio=0.0, threshold=0.5)
    task = get_task("summarization")
    examples = [task.make_example(nlp, record) for record in RECORDS]
    optimizer = nlp.initialize(lambda: examples)
    nlp.history = train_steps(nlp, optimizer, examples, steps=60, batch_size=6)
    nlp.examples = examples
    return nlp
