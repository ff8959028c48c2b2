"""The sentiment plugin's converter: DocBin docs and their top category, to records."""

import pytest
import spacy
from spacy.tokens import DocBin

from nlp_tasks.convert import convert, iter_records
from nlp_tasks.errors import ConvertError, DataError
from nlp_tasks.registry import get_task


def docbin(path, items):
    nlp = spacy.blank("en")
    docs = []
    for text, cats in items:
        doc = nlp.make_doc(text)
        doc.cats = cats
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)
    return path


def test_the_top_category_becomes_the_label(tmp_path):
    source = docbin(
        tmp_path / "train.spacy",
        [
            ("A wonderful film.", {"positive": 1.0, "negative": 0.0}),
            ("Dull and slow.", {"positive": 0.1, "negative": 0.9}),
        ],
    )
    records = list(iter_records("docbin-cats", source))
    assert records == [
        {"text": "A wonderful film.", "label": "positive"},
        {"text": "Dull and slow.", "label": "negative"},
    ]
    nlp = spacy.blank("en")
    for record in records:
        get_task("sentiment").make_example(nlp, record)


def test_labels_restrict_the_categories(tmp_path):
    source = docbin(
        tmp_path / "train.spacy",
        [("Great!", {"SPAM": 1.0, "positive": 0.8, "negative": 0.2})],
    )
    assert list(iter_records("docbin-cats", source))[0]["label"] == "SPAM"
    records = list(iter_records("docbin-cats", source, labels=["positive,negative"]))
    assert records == [{"text": "Great!", "label": "positive"}]
    with pytest.raises(DataError, match=r"\[SENT002\] .*train.spacy, doc 0 .*neutral"):
        list(iter_records("docbin-cats", source, labels=["neutral"]))


@pytest.mark.parametrize(
    "cats,code,expected",
    [
        ({}, "SENT001", "doc 1 has no categories"),
        ({"positive": 0.5, "negative": 0.5}, "SENT003", "positive and negative tie"),
        ({"positive": 0.0, "negative": 0.0}, "SENT003", "no category is above 0"),
    ],
)
def test_a_doc_without_one_top_category_is_named(tmp_path, cats, code, expected):
    source = docbin(tmp_path / "train.spacy", [("Fine.", {"positive": 1.0}), ("Hmm.", cats)])
    output = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=rf"\[{code}\] .*train.spacy") as error:
        convert("docbin-cats", source, output)
    assert expected in str(error.value)
    assert not output.exists() and sorted(tmp_path.iterdir()) == [source]


def test_bad_docbins_are_named(tmp_path):
    broken = tmp_path / "broken.spacy"
    broken.write_bytes(b"\x00\x01 not a docbin")
    with pytest.raises(ConvertError, match=r"\[SENT005\] .*broken.spacy"):
        list(iter_records("docbin-cats", broken))
    empty = docbin(tmp_path / "empty.spacy", [])
    with pytest.raises(DataError, match=r"\[E105\] .*empty.spacy holds no docs"):
        list(iter_records("docbin-cats", empty))
    blank = docbin(tmp_path / "blank.spacy", [(" ", {"positive": 1.0})])
    with pytest.raises(DataError, match=r"\[SENT004\] .*blank.spacy, doc 0 has no text"):
        list(iter_records("docbin-cats", blank))
