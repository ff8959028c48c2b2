"""Empty and blank input to the NER head: no entities. Uses the core's public API."""

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

RECORDS = [
    {"text": "Jane Smith visited Paris .", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
    {"text": "Acme Corp opened in London .", "entities": [[0, 9, "ORG"], [20, 26, "LOC"]]},
    {"text": "Nothing happened today .", "entities": []},
]
BLANK = ["", " ", "   ", "\n\t ", " \n"]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    texts = [r["text"] for r in RECORDS]
    # special_tokens: a real BERT tokenizer gives [CLS] [SEP] for a blank text.
    backbone = make_tiny_backbone(tmp_path_factory.mktemp("bb"), texts, special_tokens=True)
    config = make_config(["ner"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["ner"] = "unused"
    config["corpora"]["dev"]["sources"]["ner"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task("ner").make_example(nlp, r) for r in RECORDS]
    optimizer = nlp.initialize(lambda: examples)
    train_steps(nlp, optimizer, examples, steps=30, batch_size=3)
    return nlp


def ents(doc):
    return [(e.text, e.start_char, e.label_) for e in doc.ents]


@pytest.mark.parametrize("text", BLANK)
def test_blank_input_gets_no_entities(nlp, text):
    # spaCy's NER transitions never start an entity on a whitespace token.
    doc = nlp(text)
    assert doc.ents == ()
    assert all(token.ent_iob_ in ("O", "") for token in doc)
    assert get_task("ner").to_json(doc) == {"ents": []}


def test_blank_docs_in_a_batch_do_not_shift_the_others(nlp):
    texts = [RECORDS[0]["text"], "", RECORDS[1]["text"], "   ", "Jane Smith opened in Paris ."]
    alone = [ents(nlp(text)) for text in texts]
    batched = [ents(doc) for doc in nlp.pipe(texts, batch_size=8)]
    assert batched == alone
    assert batched[1] == batched[3] == []
