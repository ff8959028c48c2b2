"""The translation head on a tiny backbone: overfit, decode, round-trip. Public API only."""

import json
import subprocess
import sys

import pytest
import spacy

from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

PAIRS = [
    ("the cat sleeps", "die Katze schläft"),
    ("the dog runs", "der Hund läuft"),
    ("a man sings", "ein Mann singt"),
    ("the woman reads a book", "die Frau liest ein Buch"),
    ("two children play outside", "zwei Kinder spielen draußen"),
]
RECORDS = [{"src": src, "tgt": tgt} for src, tgt in PAIRS]


def build(backbone, *, steps, tasks=("translation",), extra_records=()):
    config = make_config(list(tasks), backbone=str(backbone))
    # The examples are given in memory, not read from the corpus files.
    config["initialize"]["components"] = {}
    for task in tasks:
        config["corpora"]["train"]["sources"][task] = "unused"
        config["corpora"]["dev"]["sources"][task] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.003
    block = config["components"]["translation"]
    block["model"].update({"hidden_width": 32, "depth": 1, "heads": 2, "ffn_width": 64})
    block["model"]["dropout"] = 0.0
    block["target_vocab_size"] = 300
    block["label_smoothing"] = 0.0
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task("translation").make_example(nlp, r) for r in RECORDS]
    examples += [get_task(task).make_example(nlp, r) for task, r in extra_records]
    optimizer = nlp.initialize(lambda: examples)
    history = train_steps(nlp, optimizer, examples, steps=steps, batch_size=len(examples))
    return nlp, history


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    texts = [src for src, _ in PAIRS]
    return make_tiny_backbone(tmp_path_factory.mktemp("bb"), texts, hidden_size=32)


@pytest.fixture(scope="module")
def trained(backbone):
    return build(backbone, steps=150)


def test_overfits_a_handful_of_pairs_greedy_and_beam(trained):
    nlp, history = trained
    assert history[-1]["translation"] < history[0]["translation"] / 20
    translator = nlp.get_pipe("translation")
    for src, tgt in PAIRS:
        assert nlp(src)._.translation == tgt
        doc = nlp.make_doc(src)
        for name, proc in nlp.pipeline:
            if name != "translation":
                doc = proc(doc)
        assert translator.generate([doc], num_beams=1) == [tgt]
        assert translator.generate([doc], num_beams=3) == [tgt]


def test_batching_gives_the_same_outputs_as_one_by_one(trained):
    nlp, _ = trained
    sources = [src for src, _ in PAIRS] + ["the cat reads", "a dog"]
    one_by_one = [nlp(src)._.translation for src in sources]
    batched = [doc._.translation for doc in nlp.pipe(sources, batch_size=4)]
    assert batched == one_by_one


def test_empty_doc_gives_no_translation(trained):
    nlp, _ = trained
    assert nlp("")._.translation is None
    assert [d._.translation for d in nlp.pipe(["", "the dog runs", ""])] == [
        None,
        "der Hund läuft",
        None,
    ]


def test_generation_settings_per_call(trained):
    nlp, _ = trained
    doc = nlp("the woman reads a book", component_cfg={"translation": {"max_new_tokens": 2}})
    assert len(doc._.translation) < len("die Frau liest ein Buch")
    with pytest.raises(ValueError, match="E020"):
        nlp("the dog runs", component_cfg={"translation": {"num_beam": 2}})


def test_a_loaded_pipeline_decodes_with_the_settings_of_its_config(trained, tmp_path):
    nlp, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    override = {"components": {"translation": {"generation": {"max_new_tokens": 2}}}}
    short = spacy.load(tmp_path / "pipeline", config=override)
    settings = short.get_pipe("translation").cfg["generation"]
    assert settings["max_new_tokens"] == 2 and settings["num_beams"] == 4
    assert len(short("the woman reads a book")._.translation) < len("die Frau liest ein Buch")
    assert spacy.load(tmp_path / "pipeline")("the cat sleeps")._.translation == "die Katze schläft"


@pytest.mark.slow
def test_round_trip_in_a_fresh_interpreter(trained, tmp_path):
    nlp, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    code = (
        "import json, sys, nlp_tasks\n"
        "nlp = nlp_tasks.load(sys.argv[1])\n"
        "print(json.dumps([d._.translation for d in nlp.pipe(json.loads(sys.argv[2]))]))\n"
    )
    sources = [src for src, _ in PAIRS]
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pipeline"), json.dumps(sources)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [tgt for _, tgt in PAIRS]


def test_trained_target_tokenizer_writes_any_character(trained):
    nlp, _ = trained
    tokenizer = nlp.get_pipe("translation").target_tokenizer
    text = "Grüße aus Łódź: ½ € — ✓"
    ids, cut = tokenizer.encode([text], max_tokens=200)
    assert cut == 0
    assert tokenizer.tokenizer.unk_token_id not in ids[0]
    assert tokenizer.decode(ids[0]) == text


def test_scores_bleu_and_chrf(trained):
    nlp, _ = trained
    examples = [get_task("translation").make_example(nlp, r) for r in RECORDS]
    scores = nlp.evaluate(examples)
    assert scores["translation_bleu"] == pytest.approx(1.0)
    assert scores["translation_chrf"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"src": "a cat"}, "'tgt' must be a string"),
        ({"src": "", "tgt": "eine Katze"}, "'src' is empty"),
        ({"src": 3, "tgt": "drei"}, "'src' must be a string"),
    ],
)
def test_bad_records(record, message):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=message):
        get_task("translation").make_example(nlp, record)


@pytest.mark.filterwarnings("ignore:\\[W014\\]")  # a decoder trained with other heads, on purpose
@pytest.mark.parametrize("only", ["translation", "sentiment"])
def test_a_batch_of_one_task_still_trains_the_shared_backbone(backbone, only):
    """Translation is the last listener: a batch of one task must still move the backbone."""
    from nlp_tasks.testing import backbone_parameters

    config = make_config(["sentiment", "translation"], backbone=str(backbone))
    # The examples are given in memory, not read from the corpus files.
    config["initialize"]["components"] = {}
    config["components"]["translation"]["model"].update(
        {"hidden_width": 32, "depth": 1, "heads": 2, "ffn_width": 64}
    )
    config["components"]["translation"]["target_vocab_size"] = 1000
    config["training"]["optimizer"]["learn_rate"] = 0.001
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    assert nlp.pipe_names[-1] == "translation"
    sentiment = [
        get_task("sentiment").make_example(nlp, {"text": src, "label": label})
        for (src, _), label in zip(PAIRS, ["pos", "neg", "pos", "neg", "pos"])
    ]
    translation = [get_task("translation").make_example(nlp, r) for r in RECORDS]
    optimizer = nlp.initialize(lambda: sentiment + translation)
    batch = translation if only == "translation" else sentiment
    before = backbone_parameters(nlp)
    losses = train_steps(nlp, optimizer, batch, steps=1, batch_size=len(batch))[0]
    after = backbone_parameters(nlp)
    assert losses[only] > 0
    assert any(not (before[k] == after[k]).all() for k in before)


@pytest.mark.filterwarnings("ignore:\\[W014\\]")  # a decoder trained with other heads, on purpose
def test_a_multi_task_run_learns_the_target_vocabulary_from_every_target(backbone, tmp_path):
    # spaCy initializes from the first 100 examples of a streamed corpus, of
    # every task; the target tokenizer reads the whole translation file. Each
    # rare word is in two of its 150 targets: whole in the vocabulary only if
    # both were read.
    from spacy.training.initialize import init_nlp

    rare = ["Apfelbaum", "Birnenkorb", "Dachrinne", "Eisbahn", "Fahrstuhl"]
    rare += ["Gartenzaun", "Holzbank", "Kirchturm", "Lichtmast", "Mauerwerk"]
    words = {10 + 14 * k + extra: word for k, word in enumerate(rare) for extra in (0, 7)}
    translation = [
        {"src": f"{s} {i}", "tgt": f"{t} {words.get(i, i)}"}
        for i in range(150)
        for s, t in PAIRS[:1]
    ]
    sentiment = [{"text": f"film {i}", "label": "pos" if i % 2 else "neg"} for i in range(300)]
    for task, records in (("translation", translation), ("sentiment", sentiment)):
        for split in ("train", "dev"):
            path = tmp_path / task / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    config = make_config(["sentiment", "translation"], backbone=str(backbone))
    assert config["initialize"]["components"]["translation"] == {
        "train_path": "${paths.translation_train}"
    }
    assert "sentiment" not in config["initialize"]["components"]
    config["paths"]["data"] = str(tmp_path)
    config["components"]["translation"]["target_vocab_size"] = 1000
    nlp = init_nlp(config)
    tokenizer = nlp.get_pipe("translation").target_tokenizer
    target = PAIRS[0][1]
    counts = tokenizer.count_tokens([target] + [f"{target} {word}" for word in rare])
    assert [count - counts[0] for count in counts[1:]] == [1] * len(rare)
