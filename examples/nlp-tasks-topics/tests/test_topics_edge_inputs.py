"""Empty and blank input to the topics head: no topics and no scores, not a guess."""

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

TOPICS = [
    {"text": "The striker scored twice in the cup final.", "topics": ["sport"]},
    {"text": "Shares of the bank fell after weak profits.", "topics": ["business"]},
    {"text": "A new phone app encrypts every message.", "topics": ["tech"]},
]
BLANK = ["", " ", "\n\t "]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    texts = [r["text"] for r in TOPICS]
    # special_tokens: a real BERT tokenizer gives [CLS] [SEP] for a blank text.
    backbone = make_tiny_backbone(tmp_path_factory.mktemp("bb"), texts, special_tokens=True)
    config = make_config(["topics"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["topics"] = "unused"
    config["corpora"]["dev"]["sources"]["topics"] = "unused"
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task("topics").make_example(nlp, r) for r in TOPICS]
    optimizer = nlp.initialize(lambda: examples)
    train_steps(nlp, optimizer, examples, steps=10, batch_size=3)
    return nlp


@pytest.mark.parametrize("text", BLANK)
def test_blank_input_gets_no_topics(nlp, text):
    doc = nlp(text)
    assert doc._.topics is None and doc._.topic_scores is None
    assert get_task("topics").to_json(doc) == {"topics": [], "scores": {}}


def test_blank_docs_in_a_batch_do_not_shift_the_others(nlp):
    texts = [TOPICS[0]["text"], "", TOPICS[1]["text"], "  "]
    alone = [nlp(text)._.topic_scores for text in texts]
    batched = [doc._.topic_scores for doc in nlp.pipe(texts, batch_size=8)]
    assert batched[1] is None and batched[3] is None
    for i in (0, 2):
        assert batched[i] == pytest.approx(alone[i], abs=1e-5)
