"""Empty and blank input to the sentiment head: no label, not a guess. Public API only."""

import pytest
import spacy
from spacy.training import Example

from nlp_tasks import is_blank, load
from nlp_tasks.registry import get_task
from nlp_tasks.testing import check_task, make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

TRAIN = [
    ("I loved it, wonderful and moving.", "positive"),
    ("Superb food and lovely staff.", "positive"),
    ("Awful, boring and far too long.", "negative"),
    ("Dull plot and terrible acting.", "negative"),
]
#: No tokens, or only whitespace tokens.
BLANK = ["", " ", "   ", "\n\t ", " \n"]
NO_LABEL = {"label": None, "score": None, "cats": {}}


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    # special_tokens: a real BERT tokenizer gives [CLS] [SEP] for a blank text.
    backbone = make_tiny_backbone(
        tmp_path_factory.mktemp("bb"), [t for t, _ in TRAIN], special_tokens=True
    )
    config = make_config(["sentiment"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["sentiment"] = "unused"
    config["corpora"]["dev"]["sources"]["sentiment"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {label: 1.0}}) for t, label in TRAIN]
    optimizer = nlp.initialize(lambda: examples)
    train_steps(nlp, optimizer, examples, steps=10, batch_size=4)
    return nlp


def test_blank_means_no_tokens_or_only_whitespace_tokens(nlp):
    for text in BLANK:
        assert is_blank(nlp.make_doc(text)), repr(text)
    for text in (".", " a ", "\u200b", "-"):
        assert not is_blank(nlp.make_doc(text)), repr(text)


@pytest.mark.parametrize("text", BLANK)
def test_blank_input_gets_no_label(nlp, text):
    doc = nlp(text)
    assert doc._.sentiment is None
    assert doc._.sentiment_score is None
    assert doc.cats == {}
    assert get_task("sentiment").to_json(doc) == NO_LABEL


def test_blank_docs_in_a_batch_do_not_shift_the_others(nlp):
    texts = [TRAIN[0][0], "", TRAIN[2][0], "   ", "Lovely staff but a dull plot."]
    alone = [nlp(text) for text in texts]
    batched = list(nlp.pipe(texts, batch_size=8))
    for one, other in zip(alone, batched):
        assert other._.sentiment == one._.sentiment
        assert other.cats == pytest.approx(one.cats, abs=1e-5)
    assert [get_task("sentiment").to_json(batched[i]) for i in (1, 3)] == [NO_LABEL] * 2
    assert all(batched[i]._.sentiment in ("positive", "negative") for i in (0, 2, 4))


@pytest.mark.slow
def test_check_task_pipeline_takes_whitespace_only_text(tmp_path):
    records = [{"text": text, "label": label} for text, label in TRAIN]
    check = check_task("sentiment", records, tmp_path, steps=20)
    assert check.blank_outputs == [NO_LABEL] * len(check.blank_outputs)
    assert len(check.blank_outputs) >= 2
    assert get_task("sentiment").to_json(load(check.model_path)(" ")) == NO_LABEL
