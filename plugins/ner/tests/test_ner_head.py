"""The NER head on a tiny backbone: overfit, then round-trip. Uses the core's public API."""

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

RECORDS = [
    {"text": "Jane Smith visited Paris .", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
    {"text": "Acme Corp opened in London .", "entities": [[0, 9, "ORG"], [20, 26, "LOC"]]},
    {
        "tokens": ["Tom", "Lee", "joined", "Globex", "."],
        "tags": ["B-PER", "I-PER", "O", "B-ORG", "O"],
    },
    {"text": "Nothing happened today .", "entities": []},
]


def trained_on(records, path, *, batch_size=4):
    """An NER pipeline on a tiny backbone, trained 60 steps on ``records``;
    ``nlp.history`` holds the losses."""
    texts = [r.get("text") or " ".join(r["tokens"]) for r in records]
    backbone = make_tiny_backbone(path, texts)
    config = make_config(["ner"], backbone=str(backbone))
    config["corpora"]["train"]["sources"]["ner"] = "unused"
    config["corpora"]["dev"]["sources"]["ner"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    task = get_task("ner")
    examples = [task.make_example(nlp, r) for r in records]
    optimizer = nlp.initialize(lambda: examples)
    nlp.history = train_steps(nlp, optimizer, examples, steps=60, batch_size=batch_size)
    return nlp


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    return trained_on(RECORDS, tmp_path_factory.mktemp("bb"))


def ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def test_overfits_a_handful_of_examples(nlp):
    assert nlp.history[-1]["ner"] < nlp.history[0]["ner"] / 10
    assert ents(nlp("Jane Smith visited Paris .")) == [("Jane Smith", "PER"), ("Paris", "LOC")]
    assert ents(nlp("Tom Lee joined Globex .")) == [("Tom Lee", "PER"), ("Globex", "ORG")]
    assert ents(nlp("Nothing happened today .")) == []


def test_round_trip_and_pipe_agree_with_call(nlp, tmp_path):
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    texts = ["Jane Smith visited Paris .", "Acme Corp opened in London ."]
    for _ in range(2):
        assert [ents(d) for d in loaded.pipe(texts)] == [ents(nlp(t)) for t in texts]


def test_to_json_gives_character_offsets(nlp):
    doc = nlp("Acme Corp opened in London .")
    output = get_task("ner").to_json(doc)
    for ent in output["ents"]:
        assert doc.text[ent["start"] : ent["end"]] == ent["text"]


def test_surface_features_need_one_table_size_per_attribute():
    from nlp_tasks_ner.model import build_listener_with_shape
    from thinc.api import Linear

    from nlp_tasks import ConfigError

    with pytest.raises(ConfigError, match=r"\[NER001\] attrs and rows differ in length"):
        build_listener_with_shape(Linear(), attrs=["SHAPE", "PREFIX"], rows=[2500])


def test_a_head_trained_on_documents_tags_each_sentence_and_single_sentences(tmp_path):
    from nlp_tasks_ner.convert import join_documents

    sentences = [
        {
            "tokens": ["Jane", "Smith", "visited", "Paris", "."],
            "tags": ["B-PER", "I-PER", "O", "B-LOC", "O"],
        },
        {
            "tokens": ["Acme", "Corp", "opened", "in", "London", "."],
            "tags": ["B-ORG", "I-ORG", "O", "O", "B-LOC", "O"],
        },
        {
            "tokens": ["Tom", "Lee", "joined", "Globex", "."],
            "tags": ["B-PER", "I-PER", "O", "B-ORG", "O"],
        },
        {"tokens": ["Nothing", "happened", "today", "."], "tags": ["O", "O", "O", "O"]},
    ]
    for i, sentence in enumerate(sentences):
        sentence["doc_id"] = i // 2
    documents = list(join_documents(sentences))
    assert [d["sentences"] for d in documents] == [[5, 6], [5, 4]]
    nlp = trained_on(documents, tmp_path / "bb", batch_size=2)
    assert nlp.history[-1]["ner"] < nlp.history[0]["ner"] / 10
    task = get_task("ner")
    examples = [task.make_example(nlp, d) for d in documents]
    # Each predicted entity lies in its sentence, at that sentence's characters.
    predicted = nlp.pipe(eg.predicted for eg in examples)
    by_sentence = []
    for doc in predicted:
        for sent in doc.sents:
            found = [e for e in doc.ents if e.sent == sent]
            assert all(doc.text[e.start_char : e.end_char] == e.text for e in found)
            by_sentence.append([(e.start_char - sent.start_char, e.text, e.label_) for e in found])
    expected = []
    for eg in (task.make_example(nlp, s) for s in sentences):
        expected.append([(e.start_char, e.text, e.label_) for e in eg.reference.ents])
    assert by_sentence == expected
    # A single sentence, with no document around it, still gets its entities.
    assert ents(nlp("Jane Smith visited Paris .")) == [("Jane Smith", "PER"), ("Paris", "LOC")]
