"""Empty and blank input to the translation head: no translation (None). Public API only."""

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

PAIRS = [
    ("the cat sleeps", "die Katze schläft"),
    ("the dog runs", "der Hund läuft"),
    ("a man sings", "ein Mann singt"),
]
BLANK = ["", " ", "   ", "\n\t ", " \n"]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    # special_tokens: a real BERT tokenizer gives [CLS] [SEP] for a blank text.
    backbone = make_tiny_backbone(
        tmp_path_factory.mktemp("bb"), [src for src, _ in PAIRS], special_tokens=True
    )
    config = make_config(["translation"], backbone=str(backbone))
    # The examples are given in memory, not read from the corpus files.
    config["initialize"]["components"] = {}
    config["corpora"]["train"]["sources"]["translation"] = "unused"
    config["corpora"]["dev"]["sources"]["translation"] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.003
    block = config["components"]["translation"]
    block["model"].update({"hidden_width": 32, "depth": 1, "heads": 2, "ffn_width": 64})
    block["model"]["dropout"] = 0.0
    block["target_vocab_size"] = 300
    block["generation"] = {"num_beams": 2, "max_new_tokens": 12}
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    task = get_task("translation")
    examples = [task.make_example(nlp, {"src": s, "tgt": t}) for s, t in PAIRS]
    optimizer = nlp.initialize(lambda: examples)
    train_steps(nlp, optimizer, examples, steps=20, batch_size=len(examples))
    return nlp


@pytest.mark.parametrize("text", BLANK)
def test_blank_input_gets_no_translation(nlp, text):
    doc = nlp(text)
    assert doc._.translation is None
    assert get_task("translation").to_json(doc) == {"translation": None}


def test_generate_gives_none_for_a_blank_doc(nlp):
    translator = nlp.get_pipe("translation")
    docs = [nlp.make_doc(text) for text in ("  ", "the cat sleeps", "")]
    for name, proc in nlp.pipeline:
        if name != "translation":
            docs = list(proc.pipe(docs))
    texts = translator.generate(docs, num_beams=1)
    assert texts[0] is None and texts[2] is None and isinstance(texts[1], str)


def test_blank_docs_in_a_batch_do_not_shift_the_others(nlp):
    texts = ["the cat sleeps", "", "the dog runs", "   ", "a man runs"]
    alone = [nlp(text)._.translation for text in texts]
    batched = [doc._.translation for doc in nlp.pipe(texts, batch_size=8)]
    assert batched == alone
    assert batched[1] is None and batched[3] is None
    assert all(isinstance(batched[i], str) for i in (0, 2, 4))


@pytest.fixture
def short_sources(nlp):
    """The module's pipeline reading at most 3 source tokens, for one test."""
    head = nlp.get_pipe("translation")
    before = head.cfg["max_source_tokens"]
    head.cfg["max_source_tokens"] = 3
    yield head
    head.cfg["max_source_tokens"] = before


def test_a_cut_source_is_marked_in_its_output_record(nlp, short_sources, tmp_path):
    import json
    import warnings

    from nlp_tasks import doc_warnings, predict
    from nlp_tasks.batch import process_file

    texts = ["the cat sleeps", "the cat sleeps and the dog runs", "   "]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W005, once per head
        records = predict(nlp, texts)
        corpus = tmp_path / "corpus.jsonl"
        corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        summary = process_file(nlp, corpus, tmp_path / "out.jsonl", progress=False)
        again = process_file(nlp, corpus, tmp_path / "out.jsonl", progress=False)
    assert (summary.processed, summary.warned) == (3, 1)
    assert again.already_complete and again.warned == 1  # counted from the checkpoint
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    for record in (records, written):
        assert "warnings" not in record[0] and "warnings" not in record[2]
        assert record[1]["warnings"] == [
            {
                "component": "translation",
                "code": "W013",
                "message": "[W013] 'translation' read the first 3 of this document's 7 "
                "tokens (max_source_tokens), so its output covers only that part. Raise "
                "[components.translation] max_source_tokens to read more.",
            }
        ]
        assert isinstance(record[1]["translation"]["translation"], str)
    doc = nlp(texts[1])
    assert [w["code"] for w in doc_warnings(doc)] == ["W013"]
    short_sources(doc)  # again: one warning, not two
    assert len(doc_warnings(doc)) == 1
    short_sources.cfg["max_source_tokens"] = 512
    assert doc_warnings(short_sources(doc)) == []


def test_a_docs_warnings_survive_serialization(nlp, short_sources):
    import warnings

    from spacy.tokens import DocBin

    from nlp_tasks import doc_warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = nlp("the cat sleeps and the dog runs")
    bin_ = DocBin(store_user_data=True, docs=[doc])
    again = next(DocBin(store_user_data=True).from_bytes(bin_.to_bytes()).get_docs(nlp.vocab))
    assert doc_warnings(again) == doc_warnings(doc) != []
