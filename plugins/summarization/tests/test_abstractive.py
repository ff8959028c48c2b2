"""The abstractive mode: the core's decoder, warm-started from a tiny backbone, on short news.

Public API only; the decoder's model block is the one the plugin documents
(``ABSTRACTIVE_MODEL_CONFIG``), so these tests also prove that switching modes
is a change to the model block alone.
"""

import pytest
import spacy
from nlp_tasks_summarization.component import ABSTRACTIVE_MODEL_CONFIG
from nlp_tasks_summarization.reader import to_json
from thinc.api import Config

from nlp_tasks.registry import get_task
from nlp_tasks.testing import train_steps
from nlp_tasks.training.config import make_config

from .conftest import RECORDS

# Three items whose summaries the decoder must learn to write word for word;
# the first summary has two sentences, for the max_sentences control.
TRAIN = [RECORDS[0], RECORDS[1], RECORDS[5]]


def abstractive_pipeline(backbone, **component):
    config = make_config(["summarization"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["summarization"] = "unused"
    config["corpora"]["dev"]["sources"]["summarization"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.002
    block = config["components"]["summarization"]
    block["model"] = Config().from_str(ABSTRACTIVE_MODEL_CONFIG)["model"]
    block["label_smoothing"] = 0.0
    block.update(component)
    return spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)


def written(summarizer, text):
    """A text as the summarizer's target tokenizer can write it."""
    tokenizer = summarizer.target_tokenizer
    return tokenizer.decode(tokenizer.encode([text], max_tokens=256)[0][0])


@pytest.fixture(scope="module")
def trained(backbone):
    nlp = abstractive_pipeline(backbone)
    examples = [get_task("summarization").make_example(nlp, r) for r in TRAIN]
    optimizer = nlp.initialize(lambda: examples)
    history = train_steps(nlp, optimizer, examples, steps=120, batch_size=len(examples))
    return nlp, history


def test_the_model_block_selects_the_abstractive_component(backbone):
    from nlp_tasks import GenerativeHead

    summarizer = abstractive_pipeline(backbone).get_pipe("summarization")
    assert isinstance(summarizer, GenerativeHead)
    assert summarizer.cfg["target_tokenizer"] == "backbone"


def test_overfits_a_handful_of_summaries_greedy_and_beam(trained):
    nlp, history = trained
    assert history[-1]["summarization"] < history[0]["summarization"] / 20
    summarizer = nlp.get_pipe("summarization")
    for record in TRAIN:
        # Word for word, as the target tokenizer writes it: the warm start reuses
        # the backbone's tokenizer, which here (like all-MiniLM-L6-v2) is uncased.
        expected = written(summarizer, record["summary"])
        assert expected.startswith(record["summary"][:20].lower())
        doc = nlp(record["text"])
        assert doc._.summary == expected
        assert doc._.summary_sents == []  # written text, not spans of the doc
        assert to_json(doc) == {"summary": expected, "sentences": []}
        encoded = nlp.get_pipe("transformer")(nlp.make_doc(record["text"]))
        assert summarizer.generate([encoded], num_beams=1) == [expected]


def test_batching_gives_the_same_summaries_as_one_by_one(trained):
    nlp, _ = trained
    texts = [r["text"] for r in RECORDS]
    one_by_one = [nlp(text)._.summary for text in texts]
    assert [doc._.summary for doc in nlp.pipe(texts, batch_size=4)] == one_by_one


def test_empty_doc_gets_no_summary(trained):
    nlp, _ = trained
    assert nlp("")._.summary is None


def test_max_sentences_cuts_the_written_summary(trained, backbone, tmp_path):
    nlp, _ = trained
    first, second = "the council approved a new bridge over the river on monday.", "the bridge"
    assert nlp(TRAIN[0]["text"])._.summary.startswith(f"{first} {second}")
    nlp.to_disk(tmp_path / "model")
    cut = spacy.load(
        tmp_path / "model", config={"components": {"summarization": {"max_sentences": 1}}}
    )
    assert cut(TRAIN[0]["text"])._.summary == first
    # max_tokens caps the generated target tokens.
    short = spacy.load(
        tmp_path / "model", config={"components": {"summarization": {"max_tokens": 4}}}
    )
    summarizer = short.get_pipe("summarization")
    assert summarizer.cfg["generation"]["max_new_tokens"] == 4
    summary = short(TRAIN[0]["text"])._.summary
    assert 0 < len(summarizer.target_tokenizer.tokenizer.tokenize(summary)) <= 4


def test_round_trip_keeps_the_summaries(trained, tmp_path):
    nlp, _ = trained
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    for record in RECORDS:
        assert loaded(record["text"])._.summary == nlp(record["text"])._.summary


def test_warm_start_needs_the_backbone_tokenizer(backbone):
    with pytest.raises(ValueError, match="E022"):
        abstractive_pipeline(backbone, target_tokenizer="train")


def test_extractive_architecture_points_to_the_abstractive_one(build_pipeline):
    config = Config().from_str(build_pipeline().config.to_str())
    model = config["components"]["summarization"]["model"]
    model["@architectures"] = "nlp_tasks_summarization.Summarizer.v1"
    model["mode"] = "abstractive"
    with pytest.raises(ValueError, match=r"\[SUM001\].*AbstractiveSummarizer\.v1"):
        spacy.util.load_model_from_config(config, auto_fill=True)
