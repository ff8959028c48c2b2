"""The multi-task corpus and the bad inputs it must name precisely."""

import json
from collections import Counter

import pytest
import spacy

from nlp_tasks.training.corpus import DataError, MultiTaskCorpus, read_jsonl


@pytest.fixture
def nlp():
    return spacy.blank("en")


def one_record(tmp_path, task, record, nlp):
    path = tmp_path / f"{task}.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf8")
    return list(MultiTaskCorpus({task: path})(nlp)), path


def test_malformed_line_names_file_and_line(tmp_path, nlp):
    path = tmp_path / "sentiment.jsonl"
    path.write_text('{"text": "fine", "label": "positive"}\n\n{"text": oops}\n', encoding="utf8")
    with pytest.raises(DataError, match=r"\[E029\] .*sentiment\.jsonl, line 3: invalid JSON"):
        list(MultiTaskCorpus({"sentiment": path})(nlp))


def test_json_nested_too_deep_names_file_and_line(tmp_path, nlp):
    path = tmp_path / "sentiment.jsonl"
    deep = '{"text": "fine", "label": "positive", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text('{"text": "fine", "label": "positive"}\n' + deep + "\n", encoding="utf8")
    with pytest.raises(DataError, match=r"\[E029\] .*sentiment\.jsonl, line 2: invalid JSON"):
        list(MultiTaskCorpus({"sentiment": path})(nlp))


def test_invalid_utf8_names_file_and_line_and_a_bom_is_dropped(tmp_path, nlp):
    path = tmp_path / "sentiment.jsonl"
    good = b'{"text": "fine", "label": "positive"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + good + good + b'{"text": "bad \xff", "label": "negative"}\n')
    with pytest.raises(DataError, match=r"\[E029\] .*sentiment\.jsonl, line 3: not valid UTF-8"):
        list(MultiTaskCorpus({"sentiment": path})(nlp))
    path.write_bytes(b"\xef\xbb\xbf" + good)
    assert [line for line, _ in read_jsonl(path)] == [1]
    assert len(list(MultiTaskCorpus({"sentiment": path})(nlp))) == 1


def test_an_empty_training_file_is_named_not_skipped(tmp_path, nlp):
    good = tmp_path / "sentiment.jsonl"
    good.write_text('{"text": "fine", "label": "positive"}\n', encoding="utf8")
    empty = tmp_path / "ner.jsonl"
    empty.write_text("\n", encoding="utf8")
    for sources in ({"ner": empty}, {"sentiment": good, "ner": empty}):
        corpus = MultiTaskCorpus(sources, shuffle=True)
        with pytest.raises(
            DataError, match=r"\[E146\] .*ner\.jsonl, the training data of task 'ner'"
        ):
            list(corpus(nlp))
    # A dev corpus is read in order; an empty one is evaluate's to refuse (E143).
    assert list(MultiTaskCorpus({"sentiment": good, "ner": empty})(nlp))


def test_missing_file_names_task_and_path(tmp_path):
    with pytest.raises(DataError, match=r"\[E030\].*'ner'.*nope\.jsonl"):
        MultiTaskCorpus({"ner": tmp_path / "nope.jsonl"})


def test_unknown_task_lists_available_tasks(tmp_path):
    from nlp_tasks.registry.manager import PluginError

    with pytest.raises(PluginError, match=r"\[E002\].*'summarize'.*'ner'.*'sentiment'"):
        MultiTaskCorpus({"summarize": tmp_path / "x.jsonl"})


@pytest.mark.parametrize(
    "task,record,reason",
    [
        ("sentiment", {"text": "", "label": "positive"}, "'text' is empty"),
        ("sentiment", {"text": 5, "label": "positive"}, "'text' must be a string, got int"),
        ("sentiment", {"text": "ok"}, "'label' must be a non-empty string"),
        ("sentiment", ["not", "an", "object"], "expected a JSON object, got list"),
        (
            "ner",
            {"text": "Jane Smith left.", "entities": [[0, 7, "PER"]]},
            "does not fall on token boundaries; the nearest tokens are 'Jane Smith'",
        ),
        ("ner", {"text": "Jane left.", "entities": [[0, 40, "PER"]]}, "outside the text"),
        ("ner", {"text": "Jane left.", "entities": [[0, 4]]}, "must be [start, end, label]"),
        (
            "ner",
            {"text": "Jane Smith", "entities": [[0, 4, "PER"], [0, 10, "PER"]]},
            "overlapping entities",
        ),
        ("ner", {"tokens": ["Jane", "left"], "tags": ["B-PER"]}, "2 tokens but 1 tags"),
        ("ner", {"tokens": ["Jane", "left"], "tags": ["I-PER", "O"]}, "IOB2 starts with B-"),
        ("ner", {"tokens": ["Jane", "left"], "tags": ["PER", "O"]}, "is not IOB2"),
        ("ner", {"tokens": ["Jane Smith"], "tags": ["B-PER"]}, "without spaces"),
        ("ner", {"title": "no text"}, "expected 'tokens' and 'tags', or 'text' and 'entities'"),
        ("ner", {"text": "  ", "entities": []}, "'text' is empty"),
    ],
)
def test_bad_record_names_file_line_and_reason(tmp_path, nlp, task, record, reason):
    with pytest.raises(DataError) as error:
        one_record(tmp_path, task, record, nlp)
    message = str(error.value)
    assert message.startswith("[E029]")
    assert f"{task}.jsonl, line 1: " in message
    assert reason in message


def test_examples_are_annotated_for_their_own_task_only(tmp_path, nlp):
    (sentiment,), _ = one_record(tmp_path, "sentiment", {"text": "Great!", "label": "pos"}, nlp)
    (ner,), _ = one_record(
        tmp_path, "ner", {"text": "Jane left.", "entities": [[0, 4, "PER"]]}, nlp
    )
    assert sentiment.reference.cats == {"pos": 1.0}
    assert not sentiment.reference.has_annotation("ENT_IOB")  # missing, not "no entities"
    assert ner.reference.cats == {}
    assert [(e.text, e.label_) for e in ner.reference.ents] == [("Jane", "PER")]
    assert [t.ent_iob_ for t in ner.reference] == ["B", "O", "O"]  # the rest is "outside"


def test_both_ner_formats_give_the_same_annotation(tmp_path, nlp):
    (offsets,), _ = one_record(
        tmp_path,
        "ner",
        {"text": "Jane Smith visited Paris .", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
        nlp,
    )
    (tokens,), _ = one_record(
        tmp_path,
        "ner",
        {
            "tokens": ["Jane", "Smith", "visited", "Paris", "."],
            "tags": ["B-PER", "I-PER", "O", "B-LOC", "O"],
        },
        nlp,
    )

    def as_tuples(eg):
        return [(e.text, e.label_) for e in eg.reference.ents]

    assert as_tuples(offsets) == as_tuples(tokens) == [("Jane Smith", "PER"), ("Paris", "LOC")]


def test_label_outside_a_trained_component_names_the_line(tmp_path, nlp):
    path = tmp_path / "sentiment.jsonl"
    records = [{"text": "good", "label": "positive"}, {"text": "meh", "label": "neutral"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    from nlp_tasks.registry.manager import get_task

    corpus = MultiTaskCorpus({"sentiment": path})
    assert len(list(corpus(nlp))) == 2  # no sentiment head with labels yet: nothing to check
    head = nlp.add_pipe(
        get_task("sentiment").factory, name="sentiment", config={"model": _tiny_textcat()}
    )
    head.add_label("positive")
    head.add_label("negative")
    with pytest.raises(DataError, match=r"\[E031\] .*line 2: label 'neutral'.*'sentiment'"):
        list(corpus(nlp))


def _tiny_textcat():
    return {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": True,
        "ngram_size": 1,
        "no_output_layer": False,
        "length": 1024,
    }


def share_of_ner(tmp_path, nlp, n_texts, n_tags, **settings):
    """The share of NER examples in one shuffled epoch of a sentiment file of
    ``n_texts`` records and an NER file of ``n_tags``."""
    texts = tmp_path / f"texts{n_texts}.jsonl"
    tags = tmp_path / f"tags{n_tags}.jsonl"
    texts.write_text(
        "".join(json.dumps({"text": f"a{i}", "label": "x"}) + "\n" for i in range(n_texts)),
        encoding="utf8",
    )
    tags.write_text(
        "".join(json.dumps({"tokens": [f"b{i}"], "tags": ["O"]}) + "\n" for i in range(n_tags)),
        encoding="utf8",
    )
    reader = spacy.registry.readers.get("nlp_tasks.MultiTaskCorpus.v1")
    corpus = reader({"sentiment": texts, "ner": tags}, shuffle=True, seed=1, **settings)
    counts = Counter("ner" if not eg.reference.cats else "sentiment" for eg in corpus(nlp))
    total = n_texts + n_tags
    assert sum(counts.values()) == total + 1  # + one leading example of label "x"
    return counts["ner"] / total


def test_shuffled_corpus_samples_tasks_by_temperature(tmp_path, nlp):
    def share(temperature):
        return share_of_ner(tmp_path, nlp, 900, 100, temperature=temperature)

    assert 0.07 < share(1.0) < 0.13  # proportional: 10%
    assert 0.44 < share(1000.0) < 0.56  # nearly uniform
    assert share(2.0) > share(1.0)


def test_a_task_weight_multiplies_how_often_the_task_is_drawn(tmp_path, nlp):
    # Equal files at temperature 1: a weight of 3 on one task gives it 3/4 of draws.
    def share(weights):
        return share_of_ner(tmp_path, nlp, 500, 500, weights=weights)

    assert 0.45 < share(None) < 0.55
    assert 0.70 < share({"ner": 3}) < 0.80
    assert 0.20 < share({"ner": 1 / 3}) < 0.30


@pytest.mark.parametrize(
    "weights,problem",
    [
        ({"translation": 2.0}, "no source of that task"),
        ({"ner": 0}, "above 0"),
        ({"ner": float("nan")}, "above 0"),
        ({"ner": "3"}, "must be a number"),
        ({"ner": True}, "must be a number"),
    ],
)
def test_a_bad_task_weight_is_named(tmp_path, weights, problem):
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps({"tokens": ["a"], "tags": ["O"]}) + "\n", encoding="utf8")
    task = next(iter(weights))
    with pytest.raises(DataError, match=rf"\[E168\] Task weight '{task}'.*{problem}"):
        MultiTaskCorpus({"ner": data}, shuffle=True, weights=weights)


def test_first_shuffled_pass_leads_with_every_label(tmp_path, nlp):
    # spaCy initializes a streamed corpus's components from its first 100
    # examples: a label seen only deep in the file must be among them.
    path = tmp_path / "s.jsonl"
    labels = ["common"] * 5000 + ["rare"]
    path.write_text(
        "".join(json.dumps({"text": f"t{i}", "label": lb}) + "\n" for i, lb in enumerate(labels)),
        encoding="utf8",
    )
    corpus = MultiTaskCorpus({"sentiment": path}, shuffle=True, seed=3)
    first = [eg for _, eg in zip(range(100), corpus(nlp))]
    assert {label for eg in first for label in eg.reference.cats} == {"common", "rare"}
    second = list(corpus(nlp))
    assert len(second) == len(labels) + 2
    assert [eg.reference.cats for eg in second[:2]] == [{"common": 1.0}, {"rare": 1.0}]


def test_dev_corpus_keeps_file_order_and_every_record(tmp_path, nlp):
    path = tmp_path / "s.jsonl"
    texts = [f"text number {i}" for i in range(25)]
    path.write_text(
        "".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in texts), encoding="utf8"
    )
    corpus = MultiTaskCorpus({"sentiment": path})
    assert [eg.reference.text for eg in corpus(nlp)] == texts
    assert [
        eg.reference.text for eg in MultiTaskCorpus({"sentiment": path}, limit=3)(nlp)
    ] == texts[:3]


def test_read_jsonl_skips_blank_lines_and_counts_lines(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n', encoding="utf8")
    assert list(read_jsonl(path)) == [(1, {"a": 1}), (3, {"a": 2})]


def test_read_jsonl_refuses_cr_only_and_utf16_files_whole(tmp_path):
    # Lines ending at "\r" alone were one line: "invalid JSON (Extra data)" at line 1.
    path = tmp_path / "dev.jsonl"
    path.write_bytes(b'{"a": 1}\r{"a": 2}\r')
    with pytest.raises(DataError, match=r"\[E171\] .*dev\.jsonl .*carriage return alone"):
        list(read_jsonl(path))
    path.write_bytes(b"\xff\xfe" + '{"a": 1}\n'.encode("utf-16-le"))
    with pytest.raises(DataError, match=r"\[E170\] .*dev\.jsonl is UTF-16 text"):
        list(read_jsonl(path))


def test_an_empty_dev_file_of_a_training_config_is_named(tmp_path):
    # spacy train with an empty <task>/dev.jsonl trained on, scored the head 0.00 at
    # every evaluation and chose model-best by the other tasks, saying nothing.
    good = tmp_path / "sentiment.jsonl"
    good.write_text('{"text": "fine", "label": "positive"}\n', encoding="utf8")
    empty = tmp_path / "ner.jsonl"
    empty.write_text("\n", encoding="utf8")
    reader = spacy.registry.readers.get("nlp_tasks.MultiTaskCorpus.v1")
    with pytest.raises(DataError, match=r"\[E164\] .*ner\.jsonl, the dev data of task 'ner'"):
        reader({"sentiment": str(good), "ner": str(empty)}, shuffle=False)
    assert reader({"sentiment": str(good)}, shuffle=False)
    # Training sources are checked when read (E146), as before.
    assert reader({"sentiment": str(good), "ner": str(empty)}, shuffle=True)


def test_a_folder_given_as_a_data_file_is_called_a_folder(tmp_path):
    (tmp_path / "dev.jsonl").mkdir()
    with pytest.raises(DataError, match=r"\[E030\].*dev\.jsonl \(it is a directory\)"):
        MultiTaskCorpus({"ner": tmp_path / "dev.jsonl"})
