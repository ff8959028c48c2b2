"""Warnings about one doc's output (nlp_tasks.doc_warnings), on the doc itself."""

import pytest
import spacy
from spacy.tokens import DocBin

from nlp_tasks import clear_doc_warnings, doc_warnings, warn_doc
from nlp_tasks.errors import ArgumentError


@pytest.fixture
def doc():
    return spacy.blank("en")("A long text that a head read only in part.")


def test_one_warning_per_component_and_code_in_the_order_made(doc):
    warn_doc(doc, component="b", code="X1", message="first")
    warn_doc(doc, component="a", code="X1", message="other component")
    warn_doc(doc, component="b", code="X2", message="other code")
    warn_doc(doc, component="b", code="X1", message="again")  # replaces "first"
    assert [(w["component"], w["code"], w["message"]) for w in doc_warnings(doc)] == [
        ("a", "X1", "other component"),
        ("b", "X2", "other code"),
        ("b", "X1", "again"),
    ]


def test_clearing_one_code_or_all_of_a_components_warnings(doc):
    for component, code in (("a", "X1"), ("a", "X2"), ("b", "X1")):
        warn_doc(doc, component=component, code=code, message="m")
    clear_doc_warnings(doc, component="a", code="X2")
    assert [(w["component"], w["code"]) for w in doc_warnings(doc)] == [("a", "X1"), ("b", "X1")]
    clear_doc_warnings(doc, component="a")
    assert [(w["component"], w["code"]) for w in doc_warnings(doc)] == [("b", "X1")]
    clear_doc_warnings(doc, component="b")
    assert doc_warnings(doc) == [] and doc.user_data == {}  # nothing left behind
    clear_doc_warnings(doc, component="b")  # nothing to clear: no error


def test_what_doc_warnings_returns_is_a_copy(doc):
    warn_doc(doc, component="a", code="X1", message="m")
    doc_warnings(doc)[0]["message"] = "changed"
    assert doc_warnings(doc)[0]["message"] == "m"


def test_warnings_travel_with_the_docs_user_data(doc):
    warn_doc(doc, component="a", code="X1", message="m")
    vocab = spacy.blank("en").vocab
    restored = list(DocBin(store_user_data=True, docs=[doc]).get_docs(vocab))[0]
    assert doc_warnings(restored) == doc_warnings(doc)
    assert doc_warnings(list(DocBin(docs=[doc]).get_docs(vocab))[0]) == []


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"component": "a", "code": "X1", "message": ValueError("m")}, "message"),
        ({"component": "a", "code": "", "message": "m"}, "code"),
        ({"component": None, "code": "X1", "message": "m"}, "component"),
    ],
)
def test_a_warning_that_could_not_go_into_a_json_record_is_refused(doc, arguments, named):
    with pytest.raises(ArgumentError, match=rf"\[E152\] warn_doc: {named} must be a non-empty str"):
        warn_doc(doc, **arguments)
    assert doc_warnings(doc) == []


def test_each_function_names_an_argument_it_cannot_use(doc):
    with pytest.raises(ArgumentError, match=r"\[E152\] doc_warnings: doc must be a Doc, not str"):
        doc_warnings("a text")
    with pytest.raises(ArgumentError, match=r"\[E152\] warn_doc: doc must be a Doc"):
        warn_doc("a text", component="a", code="X1", message="m")
    with pytest.raises(ArgumentError, match=r"clear_doc_warnings: component must be a non-empty"):
        clear_doc_warnings(doc, component=5)
    clear_doc_warnings(doc, component="a", code=None)  # None: every code
