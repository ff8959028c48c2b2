"""Empty and blank input to both summarization modes: no summary (None). Public API only."""

import pytest
import spacy
from nlp_tasks_summarization.component import ABSTRACTIVE_MODEL_CONFIG
from thinc.api import Config

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

from .conftest import RECORDS

BLANK = ["", " ", "   ", "\n\t ", " \n"]
NO_SUMMARY = {"summary": None, "sentences": []}


@pytest.fixture(scope="module")
def edge_backbone(tmp_path_factory):
    # special_tokens: a real BERT tokenizer gives [CLS] [SEP] for a blank text.
    texts = [r["text"] for r in RECORDS]
    return make_tiny_backbone(tmp_path_factory.mktemp("edge-bb"), texts, special_tokens=True)


def pipeline(backbone, *, abstractive, steps):
    config = make_config(["summarization"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["summarization"] = "unused"
    config["corpora"]["dev"]["sources"]["summarization"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.002
    block = config["components"]["summarization"]
    if abstractive:
        block["model"] = Config().from_str(ABSTRACTIVE_MODEL_CONFIG)["model"]
        block["generation"] = {"num_beams": 2, "max_new_tokens": 16}
    else:
        block.update({"ratio": 0.0, "threshold": 0.5})
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task("summarization").make_example(nlp, r) for r in RECORDS[:3]]
    optimizer = nlp.initialize(lambda: examples)
    train_steps(nlp, optimizer, examples, steps=steps, batch_size=3)
    return nlp


@pytest.fixture(scope="module", params=["extractive", "abstractive"])
def nlp(request, edge_backbone):
    return pipeline(edge_backbone, abstractive=request.param == "abstractive", steps=10)


@pytest.mark.parametrize("text", BLANK)
def test_blank_input_gets_no_summary(nlp, text):
    doc = nlp(text)
    assert doc._.summary is None
    assert doc._.summary_sents == []
    assert "summary" not in doc.spans
    assert get_task("summarization").to_json(doc) == NO_SUMMARY


def test_blank_docs_in_a_batch_do_not_shift_the_others(nlp):
    texts = [RECORDS[0]["text"], "", RECORDS[1]["text"], "   ", RECORDS[4]["text"]]
    to_json = get_task("summarization").to_json
    alone = [to_json(nlp(text)) for text in texts]
    batched = [to_json(doc) for doc in nlp.pipe(texts, batch_size=8)]
    assert batched[1] == batched[3] == NO_SUMMARY
    for one, other in zip(alone, batched):
        assert other["summary"] == one["summary"]
        assert [s["start"] for s in other["sentences"]] == [s["start"] for s in one["sentences"]]
        assert [s["score"] for s in other["sentences"]] == pytest.approx(
            [s["score"] for s in one["sentences"]], abs=1e-5
        )
    assert all(isinstance(batched[i]["summary"], str) for i in (0, 2, 4))
