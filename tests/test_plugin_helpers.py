"""The helpers a task plugin builds on: Doc extensions, gold examples, gold-only scoring."""

import json

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example

import nlp_tasks
from nlp_tasks import ensure_doc_extensions, examples_with_gold, gold_example


@pytest.fixture
def extensions():
    """Names of test extensions; removed again after the test."""
    names = []
    yield names
    for name in names:
        Doc.remove_extension(name)


def test_plugin_helpers_are_public_and_declared_in_the_api_version():
    for name in (
        "ensure_doc_extensions",
        "gold_example",
        "examples_with_gold",
        "require_text",
        "TaskInputs",
        "ExtraField",
        "text_list",
        "segment_spans",
        "doc_segments",
        "accepted_docs",
        "render",
        "warn_doc",
        "clear_doc_warnings",
        "doc_warnings",
    ):
        assert name in nlp_tasks.__all__
        assert callable(getattr(nlp_tasks, name))
    assert nlp_tasks.PLUGIN_API_VERSION == "1.7"
    old = nlp_tasks.Task("t", "f", make_example=None, to_json=None, api_version=">=1.0,<2")
    new = nlp_tasks.Task("t", "f", make_example=None, to_json=None, api_version=">=1.1,<2")
    assert old.supports_api() and new.supports_api()
    assert not new.supports_api("1.0")


def test_every_exception_class_of_the_core_is_in_nlp_tasks_errors():
    # docs/plugins.md promises one place to import them from.
    import importlib
    import inspect
    import pkgutil

    import nlp_tasks.errors

    elsewhere = []
    for module in pkgutil.walk_packages(nlp_tasks.__path__, "nlp_tasks."):
        if module.name.endswith("__main__"):
            continue
        try:
            loaded = importlib.import_module(module.name)
        except ImportError:  # a module of an optional extra (ray, pyarrow...) not installed
            continue
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("nlp_tasks")
                and not name.startswith("_")
                and getattr(nlp_tasks.errors, name, None) is not value
            ):
                elsewhere.append(f"{value.__module__}.{name}")
    assert elsewhere == []


def test_ensure_doc_extensions_adds_values_and_getters(extensions):
    extensions += ["helper_gold", "helper_score", "helper_length"]
    ensure_doc_extensions("helper_gold", "helper_score", helper_length=len)
    doc = spacy.blank("en")("three short words")
    assert doc._.helper_gold is None and doc._.helper_score is None
    assert doc._.helper_length == 3
    doc._.helper_gold = ["x"]
    restored = Doc(doc.vocab).from_bytes(doc.to_bytes())
    assert restored._.helper_gold == ["x"]


def test_ensure_doc_extensions_keeps_what_is_registered(extensions):
    extensions += ["helper_gold", "helper_view"]
    Doc.set_extension("helper_gold", default="first")
    Doc.set_extension("helper_view", getter=lambda doc: "first")
    ensure_doc_extensions("helper_gold", helper_view=lambda doc: "second")
    ensure_doc_extensions("helper_gold", helper_view=lambda doc: "second")  # again: no error
    doc = spacy.blank("en")("text")
    assert doc._.helper_gold == "first" and doc._.helper_view == "first"


def test_gold_example_puts_gold_on_the_reference_only(extensions):
    extensions += ["helper_gold", "helper_question"]
    ensure_doc_extensions("helper_gold", "helper_question")
    nlp, text = spacy.blank("en"), "Who wrote it? Jane did."
    inputs = {"helper_question": ["Who?"]}
    example = gold_example(nlp, text, {"helper_gold": "Jane"}, inputs=inputs)
    predicted, reference = example.predicted, example.reference
    assert predicted is not reference
    tokens = [t.text for t in nlp.make_doc(text)]
    assert [t.text for t in predicted] == [t.text for t in reference] == tokens
    assert reference._.helper_gold == "Jane" and predicted._.helper_gold is None
    assert predicted._.helper_question == reference._.helper_question == ["Who?"]
    reference._.helper_question.append("When?")  # the docs do not share values
    assert predicted._.helper_question == ["Who?"]
    docs = DocBin(docs=[reference], store_user_data=True).to_bytes()
    (stored,) = DocBin().from_bytes(docs).get_docs(nlp.vocab)
    assert stored._.helper_gold == "Jane"


def test_gold_example_needs_the_extensions_registered():
    with pytest.raises(AttributeError):
        gold_example(spacy.blank("en"), "text", {"helper_never_registered": 1})


def test_examples_with_gold_by_extension_name(extensions):
    extensions.append("helper_gold")
    nlp = spacy.blank("en")
    plain = Example(nlp.make_doc("other task"), nlp.make_doc("other task"))
    assert examples_with_gold([plain], "helper_gold") == []  # not even registered
    ensure_doc_extensions("helper_gold")
    empty = gold_example(nlp, "no labels", {"helper_gold": []})
    tagged = gold_example(nlp, "labels", {"helper_gold": ["a"]})
    examples = [plain, empty, plain, tagged]
    # An empty list is gold (no label); only None is missing.
    assert examples_with_gold(examples, "helper_gold") == [empty, tagged]
    assert examples_with_gold(iter(examples), "helper_gold") == [empty, tagged]


def test_examples_with_gold_by_function():
    nlp = spacy.blank("en")
    positive = Example.from_dict(nlp.make_doc("good"), {"cats": {"pos": 1.0, "neg": 0.0}})
    negative = Example.from_dict(nlp.make_doc("bad"), {"cats": {"pos": 0.0, "neg": 1.0}})
    other = Example(nlp.make_doc("x"), nlp.make_doc("x"))
    unlabelled = Example.from_dict(nlp.make_doc("?"), {"cats": {"pos": 0.0, "neg": 0.0}})
    examples = [positive, other, negative, unlabelled]
    labelled = examples_with_gold(examples, lambda doc: any(doc.cats.values()))
    assert labelled == [positive, negative]
    # The function sees the reference doc, never the prediction.
    other.predicted.cats = {"pos": 1.0}
    assert examples_with_gold([other], lambda doc: doc.cats) == []


def test_coded_messages_refuse_a_code_given_twice():
    class Errors(metaclass=nlp_tasks.CodedMessages):
        KP001 = "first {x}"

    assert Errors.KP001.format(x=1) == "[KP001] first 1"
    with pytest.raises(TypeError, match="message code KP002 is defined twice"):

        class Clashing(metaclass=nlp_tasks.CodedMessages):
            KP002 = "one"
            KP002 = "two"  # noqa: PIE794 (the clash under test)


def test_every_tasks_to_json_works_where_no_component_was_made(python):
    # docs/plugins.md: to_json registers the extensions it reads, so a doc read
    # back from a DocBin, in a process that never built the component, has an
    # output (the empty one) instead of an AttributeError.
    code = (
        "import json, spacy\n"
        "from nlp_tasks.registry import get_tasks\n"
        "doc = spacy.blank('en')('Some text.')\n"
        "print(json.dumps({name: task.to_json(doc) for name, task in get_tasks().items()}))\n"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert {"sentiment", "ner", "qa", "translation", "topics"} <= set(outputs)
    assert outputs["translation"] == {"translation": None}
