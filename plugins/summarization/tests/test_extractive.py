"""The extractive summarizer on a tiny backbone: overfit, real sentences, long and
empty docs, batching, save and load, length controls, modes."""

import json
import os

import pytest
import spacy
from spacy.tokens import Doc

import nlp_tasks
from nlp_tasks import ConfigError
from nlp_tasks.registry import get_task
from nlp_tasks.testing import train_steps


def texts_of(spans):
    return [span.text for span in spans]


def test_loss_falls_and_the_labelled_sentences_are_chosen(trained):
    history = [step["summarization"] for step in trained.history]
    assert history[-1] < history[0] / 10
    head = trained.get_pipe("summarization")
    for eg in trained.examples:
        doc = trained(eg.reference.text)
        bounds = head.get_sentences(doc)
        labels = head.labels_for(doc, eg.reference._.summary)
        expected = [doc[s:e].text for (s, e), label in zip(bounds, labels) if label]
        assert texts_of(doc._.summary_sents) == expected
        assert doc._.summary == " ".join(expected) == eg.reference._.summary


def test_summary_sentences_are_real_sentences_of_the_doc(trained, records):
    head = trained.get_pipe("summarization")
    task = get_task("summarization")
    for record in records:
        doc = trained(record["text"])
        sentences = {(s, e) for s, e in head.get_sentences(doc).tolist()}
        assert doc._.summary_sents
        for span in doc._.summary_sents:
            assert (span.start, span.end) in sentences
        output = task.to_json(doc)
        assert output["summary"] == doc._.summary
        starts = [sentence["start"] for sentence in output["sentences"]]
        assert starts == sorted(starts), "document order"
        for sentence in output["sentences"]:
            assert doc.text[sentence["start"] : sentence["end"]] == sentence["text"]
            assert 0.0 <= sentence["score"] <= 1.0
        json.dumps(output)


def test_empty_and_one_sentence_docs(trained):
    doc = trained("")
    assert doc._.summary is None
    assert doc._.summary_sents == []
    assert get_task("summarization").to_json(doc) == {"summary": None, "sentences": []}
    doc = trained("Only one sentence here about the bridge.")
    assert doc._.summary == "Only one sentence here about the bridge."
    assert texts_of(doc._.summary_sents) == [doc.text]
    doc = trained("  no final full stop  ")
    assert doc._.summary == "no final full stop"
    docs = list(trained.pipe(["", "A short one.", ""]))
    assert [d._.summary for d in docs] == [None, "A short one.", None]


def test_batching_gives_the_same_outputs_as_one_by_one(trained, records):
    texts = [r["text"] for r in records] + ["", "Work will start in May."]
    task = get_task("summarization")
    one_by_one = [task.to_json(trained(text)) for text in texts]
    for batch_size in (2, 8):
        batched = [task.to_json(doc) for doc in trained.pipe(texts, batch_size=batch_size)]
        for got, expected in zip(batched, one_by_one):
            assert got["summary"] == expected["summary"]
            assert [(s["start"], s["end"]) for s in got["sentences"]] == [
                (s["start"], s["end"]) for s in expected["sentences"]
            ]
            assert [s["score"] for s in got["sentences"]] == pytest.approx(
                [s["score"] for s in expected["sentences"]], abs=1e-5
            )


@pytest.mark.slow
def test_round_trip_in_a_fresh_interpreter(trained, records, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "pipeline"
    trained.to_disk(path)
    texts = [r["text"] for r in records]
    task = get_task("summarization")
    expected = [task.to_json(doc) for doc in trained.pipe(texts)]
    in_process = spacy.load(path)
    assert [task.to_json(doc)["summary"] for doc in in_process.pipe(texts)] == [
        e["summary"] for e in expected
    ]
    script = (
        "import json, sys, spacy, nlp_tasks\n"
        "from nlp_tasks.registry import get_task\n"
        "task = get_task('summarization')\n"
        "texts = json.loads(sys.stdin.read())\n"
        "for nlp in (nlp_tasks.load(sys.argv[1]), spacy.load(sys.argv[1])):\n"
        "    print(json.dumps([task.to_json(doc) for doc in nlp.pipe(texts)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    for line in result.stdout.strip().splitlines():
        loaded = json.loads(line)
        assert [o["summary"] for o in loaded] == [e["summary"] for e in expected]
        for got, want in zip(loaded, expected):
            assert [s["score"] for s in got["sentences"]] == pytest.approx(
                [s["score"] for s in want["sentences"]], abs=1e-5
            )


def test_summary_survives_doc_serialization(trained, records):
    doc = trained(records[0]["text"])
    restored = Doc(trained.vocab).from_bytes(doc.to_bytes())
    assert restored._.summary == doc._.summary
    assert texts_of(restored._.summary_sents) == texts_of(doc._.summary_sents)


def test_a_doc_several_windows_long_is_scored_whole(build_pipeline, records):
    """The one labelled sentence sits past the backbone's first windows of 128 tokens."""
    filler = [
        "Residents said the old crossing was unsafe.",
        "Schools stayed open as usual.",
        "Visitors queued in the sun.",
        "The coach blamed the wet pitch.",
    ]
    key = "A rare painting returned to the main hall after forty years."
    sentences = [filler[i % len(filler)] for i in range(80)]
    sentences[70] = key
    text = " ".join(sentences)
    nlp = build_pipeline(ratio=0.0, max_sentences=1)
    task = get_task("summarization")
    examples = [task.make_example(nlp, {"text": text, "summary": key})]
    examples += [task.make_example(nlp, record) for record in records[:3]]
    optimizer = nlp.initialize(lambda: examples)
    train_steps(nlp, optimizer, examples, steps=40, batch_size=4)
    doc = nlp(text)
    assert len(doc) > 4 * 128
    assert doc._.trf_data.align.lengths.min() > 0, "every token reaches the backbone"
    assert texts_of(doc._.summary_sents) == [key]
    assert doc._.summary_sents[0].start > 400


def test_sentence_context_layers_attend_in_blocks(build_pipeline, records):
    """With transformer layers over sentences, a doc's scores do not depend on the
    batch, and a doc of hundreds of sentences is scored block by block."""
    nlp = build_pipeline(model={"n_layers": 1, "n_heads": 2, "window": 4}, ratio=0.3)
    task = get_task("summarization")
    examples = [task.make_example(nlp, record) for record in records]
    train_steps(nlp, nlp.initialize(lambda: examples), examples, steps=5, batch_size=3)
    texts = [r["text"] for r in records]
    head = nlp.get_pipe("summarization")
    alone = [head.predict([nlp.get_pipe("transformer")(nlp.make_doc(t))])[0] for t in texts]
    together = head.predict(list(nlp.get_pipe("transformer").pipe(nlp.make_doc(t) for t in texts)))
    for a, b in zip(alone, together):
        assert a == pytest.approx(b, abs=1e-5)
    long_text = " ".join(["Work will start in May."] * 300)
    doc = nlp(long_text)
    assert len(head.get_sentences(doc)) == 300
    assert doc._.summary_sents


def test_length_controls(trained, records):
    head = trained.get_pipe("summarization")
    text = records[0]["text"]
    saved = (head.ratio, head.max_sentences, head.max_tokens, head.threshold)
    try:
        head.threshold, head.ratio = 0.0, 0.0
        assert len(trained(text)._.summary_sents) == 4, "no limit: every sentence"
        head.max_sentences = 2
        assert len(trained(text)._.summary_sents) == 2
        head.max_sentences, head.max_tokens = 0, 15
        chosen = trained(text)._.summary_sents
        assert sum(len([t for t in s if not t.is_space]) for s in chosen) <= 15
        head.max_tokens, head.ratio = 0, 0.5
        doc = trained(text)
        assert len([t for s in doc._.summary_sents for t in s]) <= len(doc) * 0.5
        head.ratio = 0.01
        assert len(trained(text)._.summary_sents) == 1, "the best sentence is always taken"
    finally:
        head.ratio, head.max_sentences, head.max_tokens, head.threshold = saved


def test_length_controls_are_checked(build_pipeline):
    with pytest.raises(ConfigError, match=r"\[SUM003\] ratio must be a number from 0 to 1"):
        build_pipeline(ratio=1.5)
    with pytest.raises(ValueError, match=r"\[SUM003\] max_sentences must be an integer >= 0"):
        build_pipeline(max_sentences=-1)


def test_unknown_mode_is_refused(build_pipeline):
    from thinc.api import Config

    config = Config().from_str(build_pipeline().config.to_str())
    model = config["components"]["summarization"]["model"]
    model["@architectures"] = "nlp_tasks_summarization.Summarizer.v1"
    model["mode"] = "generative"
    with pytest.raises(ConfigError, match=r"\[SUM002\] Unknown summarization mode 'generative'"):
        spacy.util.load_model_from_config(config, auto_fill=True)


def test_generated_config_uses_summarizer_v2_which_has_no_mode(build_pipeline):
    from thinc.api import Config

    config = Config().from_str(build_pipeline().config.to_str())
    model = config["components"]["summarization"]["model"]
    assert model["@architectures"] == "nlp_tasks_summarization.Summarizer.v2"
    assert "mode" not in model
    model["mode"] = "extractive"
    with pytest.raises(ValueError, match="unexpected argument: 'mode'"):
        spacy.util.load_model_from_config(config, auto_fill=True)


def test_a_summarizer_v1_pipeline_still_loads_and_agrees_with_v2(build_pipeline, records, tmp_path):
    # Pipelines trained before Summarizer.v2 name v1, with mode = "extractive".
    from thinc.api import Config

    v1 = build_pipeline(
        model={"@architectures": "nlp_tasks_summarization.Summarizer.v1", "mode": "extractive"}
    )
    task = get_task("summarization")
    examples = [task.make_example(v1, record) for record in records]
    v1.initialize(lambda: examples)
    v1.to_disk(tmp_path / "v1")
    loaded = spacy.load(tmp_path / "v1")
    model = loaded.config["components"]["summarization"]["model"]
    assert model["@architectures"] == "nlp_tasks_summarization.Summarizer.v1"
    assert model["mode"] == "extractive"
    config = Config().from_str(loaded.config.to_str())
    model = config["components"]["summarization"]["model"]
    model["@architectures"] = "nlp_tasks_summarization.Summarizer.v2"
    del model["mode"]
    v2 = spacy.util.load_model_from_config(config, auto_fill=True)
    v2.from_disk(tmp_path / "v1")
    texts = [record["text"] for record in records]
    expected = [task.to_json(doc) for doc in v1.pipe(texts)]
    assert [task.to_json(doc) for doc in loaded.pipe(texts)] == expected
    assert [task.to_json(doc) for doc in v2.pipe(texts)] == expected


def test_factory_declares_its_contract():
    from nlp_tasks_summarization.component import make_summarizer  # noqa: F401

    meta = spacy.Language.get_factory_meta("nlp_tasks_summarization")
    assert {"doc._.summary", "doc._.summary_sents"} <= set(meta.assigns)
    assert meta.default_score_weights["summarization_rougeL"] == 1.0
    assert get_task("summarization").factory == "nlp_tasks_summarization"
    assert get_task("summarization").supports_api(nlp_tasks.PLUGIN_API_VERSION)


@pytest.mark.parametrize(
    "setting, code",
    [
        ({"hidden_width": 0}, r"\[SUM005\] hidden_width must be a positive integer, got 0"),
        ({"window": 2.5}, r"\[SUM005\] window must be a positive integer, got 2.5"),
        ({"n_layers": -1}, r"\[SUM006\] n_layers must be an integer >= 0"),
        ({"n_heads": 3}, r"\[SUM007\] n_heads \(3\) must divide hidden_width \(256\)"),
        ({"dropout": 1.0}, r"\[SUM008\] dropout must be in \[0, 1\), got 1.0"),
    ],
)
def test_bad_model_settings_are_coded_config_errors(setting, code):
    from nlp_tasks_summarization.model import build_summarizer, build_summarizer_v1
    from thinc.api import Linear

    for build in (build_summarizer, build_summarizer_v1):
        with pytest.raises(ConfigError, match=code):
            build(Linear(), lambda doc: None, **setting)
