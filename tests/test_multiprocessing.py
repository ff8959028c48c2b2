"""Pipelines across processes, and what loading a backbone or weights may accept.

``nlp.pipe(n_process=2)`` must finish under both start methods and give what
one process gives; every component must pickle; a directory that is no model
is refused as a backbone; weights load without unpickling arbitrary objects.
"""

import json
import os
import pickle
import signal
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
import spacy
import srsly

import nlp_tasks
from nlp_tasks.components.backbone import BackboneError, resolve_backbone
from nlp_tasks.registry.manager import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

WORDS = "Jane Smith loved the wonderful film in Paris but hated the cold food at Acme Corp".split()
#: A run of n_process=2 that takes longer than this has hung (it takes seconds).
HANG_TIMEOUT_S = 240


def text_for(i: int) -> str:
    # Varied lengths and words, so batches pad differently and outputs differ.
    n = 3 + (i * 7) % 17
    return " ".join(WORDS[(i + k * 3) % len(WORDS)] for k in range(n)) + "."


def outputs(docs) -> list[dict]:
    return [
        {"cats": doc.cats, "ents": [(e.start_char, e.end_char, e.label_) for e in doc.ents]}
        for doc in docs
    ]


def assert_same_outputs(a: list[dict], b: list[dict]) -> None:
    """Equal entities; scores equal up to float noise from another thread count."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert [list(e) for e in x["ents"]] == [list(e) for e in y["ents"]]
        assert x["cats"] == pytest.approx(y["cats"], abs=1e-5)


# nlp.pipe(n_process=2) ------------------------------------------------------------

PIPE_SCRIPT = """
import json, multiprocessing, sys
import torch

def outputs(docs):
    return [
        {"cats": doc.cats, "ents": [(e.start_char, e.end_char, e.label_) for e in doc.ents]}
        for doc in docs
    ]

if __name__ == "__main__":
    import nlp_tasks
    path, method, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    multiprocessing.set_start_method(method, force=True)
    nlp = nlp_tasks.load(path)
    threads = torch.get_num_threads()
    # Run once in this process first: PyTorch's thread pool is then started, as
    # it is for anyone who uses a pipeline before piping it with workers.
    one = outputs(nlp.pipe(texts, batch_size=4))
    two = outputs(nlp.pipe(texts, batch_size=4, n_process=2))
    print(json.dumps({"one": one, "two": two, "threads": [threads, torch.get_num_threads()]}))
"""


def run_with_hard_timeout(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a command in its own process group; kill the whole group if it outlives ``timeout``."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The workers are the script's children: end them too, not only the script.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"nlp.pipe(n_process=2) did not finish in {timeout} s: it hung")
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pipe_with_two_processes_finishes_and_equals_one_process(pipeline_dir, method):
    texts = [text_for(i) for i in range(20)]
    args = [sys.executable, "-c", PIPE_SCRIPT, str(pipeline_dir), method, json.dumps(texts)]
    result = run_with_hard_timeout(args, HANG_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(found["two"]) == len(texts)
    assert_same_outputs(found["two"], found["one"])
    # The parent keeps its threads: only forked workers run on one.
    assert found["threads"][1] == found["threads"][0]


def test_every_component_pickles_and_the_copy_gives_the_same_outputs(nlp):
    texts = [text_for(i) for i in range(12)]
    copy = pickle.loads(pickle.dumps(nlp))
    assert copy.pipe_names == nlp.pipe_names
    assert_same_outputs(outputs(copy.pipe(texts)), outputs(nlp.pipe(texts)))


def multi_head_pipeline(path: Path, tasks: tuple[str, ...], **summarization):
    records = {
        "sentiment": {"text": "I loved this film.", "label": "positive"},
        "ner": {"text": "Jane Smith visited Paris.", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
        "qa": {
            "id": "who",
            "context": "Marta founded the bakery in 1987.",
            "question": "Who founded the bakery?",
            "answers": {"text": ["Marta"], "answer_start": [0]},
        },
        "summarization": {
            "text": "It rained all night. Floods closed two roads. Schools stayed open.",
            "summary": "Floods closed two roads.",
        },
        "translation": {"src": "the cat sleeps", "tgt": "die Katze schläft"},
    }
    texts = [r.get("text") or r.get("context") or r.get("src") for r in records.values()]
    texts += ["Who founded the bakery?", "Awful and boring."]
    backbone = make_tiny_backbone(path, texts, special_tokens=True)
    config = make_config(list(tasks), backbone=str(backbone))
    # The examples are given in memory, not read from the corpus files.
    config["initialize"]["components"] = {}
    for task in tasks:
        config["corpora"]["train"]["sources"][task] = "unused"
        config["corpora"]["dev"]["sources"][task] = "unused"
    if "translation" in tasks:
        block = config["components"]["translation"]
        block["model"].update({"hidden_width": 32, "depth": 1, "heads": 2, "ffn_width": 64})
        block["target_vocab_size"] = 300
    if "summarization" in tasks and summarization:
        from nlp_tasks_summarization.component import ABSTRACTIVE_MODEL_CONFIG
        from thinc.api import Config

        block = config["components"]["summarization"]
        block["model"] = Config().from_str(ABSTRACTIVE_MODEL_CONFIG)["model"]
        block.update(summarization)
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task(task).make_example(nlp, records[task]) for task in tasks]
    if "sentiment" in tasks:
        negative = {"text": "Awful and boring.", "label": "negative"}
        examples.append(get_task("sentiment").make_example(nlp, negative))
    train_steps(nlp, nlp.initialize(lambda: examples), examples, steps=2, batch_size=8)
    return nlp


def head_outputs(nlp, texts: list[str]) -> list[dict]:
    def make(text):
        doc = nlp.make_doc(text)
        doc._.questions = ["Who loved the film?"]
        return doc

    return [
        {
            "cats": doc.cats,
            "ents": [(e.start, e.end, e.label_) for e in doc.ents],
            "answers": [(a.start, a.end) if a else None for a in doc._.answers or []],
            "summary": doc._.summary,
            "translation": doc._.translation,
        }
        for doc in nlp.pipe(make(text) for text in texts)
    ]


@pytest.mark.filterwarnings("ignore:\\[W014\\]")  # a decoder trained with other heads, on purpose
def test_a_pipeline_with_every_kind_of_head_pickles(tmp_path):
    # Sentiment and NER (spaCy pipes), QA (its own pass on the backbone's
    # weights), abstractive summarization and translation (the core's decoder).
    tasks = ("sentiment", "ner", "qa", "summarization", "translation")
    trained = multi_head_pipeline(tmp_path / "backbone", tasks, label_smoothing=0.0)
    # As users pipe it: loaded. (In memory right after training, the pipeline
    # holds its optimizer, whose thinc 8.3 learning-rate schedule is a
    # generator, and spawn pickles the whole Language.)
    trained.to_disk(tmp_path / "pipeline")
    nlp = nlp_tasks.load(tmp_path / "pipeline")
    texts = ["Jane Smith loved the film in Paris.", "It rained. The cat sleeps."]
    copy = pickle.loads(pickle.dumps(nlp))
    found, expected = head_outputs(copy, texts), head_outputs(nlp, texts)
    assert [x["answers"] for x in expected] != [[], []], "QA should have answered"
    for x, y in zip(found, expected):
        assert x.pop("cats") == pytest.approx(y.pop("cats"), abs=1e-5)
        assert x == y


def test_extractive_summarization_pickles(tmp_path):
    multi_head_pipeline(tmp_path / "backbone", ("summarization",)).to_disk(tmp_path / "p")
    nlp = nlp_tasks.load(tmp_path / "p")
    copy = pickle.loads(pickle.dumps(nlp))
    text = "It rained all night. Floods closed two roads. Schools stayed open."
    assert copy(text)._.summary == nlp(text)._.summary


# Backbones that are no model --------------------------------------------------------


def test_a_directory_that_is_no_model_is_refused_as_a_backbone(tmp_path, tiny_backbone):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BackboneError, match=r"\[E015\].*empty.*no config\.json, no weights"):
        resolve_backbone(str(empty))
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    (config_only / "config.json").write_text((tiny_backbone / "config.json").read_text())
    with pytest.raises(BackboneError, match=r"\[E015\].*config-only.*no weights.*no tokenizer"):
        resolve_backbone(str(config_only))
    a_file = tmp_path / "weights.bin"
    a_file.write_bytes(b"")
    with pytest.raises(BackboneError, match=r"\[E015\].*weights\.bin.*a file, not a directory"):
        resolve_backbone(str(a_file))
    assert resolve_backbone(str(tiny_backbone)) == str(tiny_backbone)


def test_init_config_refuses_a_directory_that_is_no_model(cli, tmp_path):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    output = tmp_path / "c.cfg"
    result = cli("init", "config", str(output), "--tasks", "sentiment", "--backbone", str(empty))
    assert result.returncode != 0
    assert "[E015]" in result.stderr and str(empty) in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


# Loading weights never unpickles arbitrary objects ----------------------------------

UNPICKLED: list[str] = []


def _record_unpickling() -> dict:
    UNPICKLED.append("called")
    return {}


class _Payload:
    """Pickles as a call of ``_record_unpickling``: a stand-in for a malicious object."""

    def __reduce__(self):
        return (_record_unpickling, ())


def malicious_state() -> bytes:
    import torch

    buffer = BytesIO()
    torch.save({"weight": _Payload()}, buffer)
    return buffer.getvalue()


def test_backbone_weights_with_a_pickled_object_are_refused(pipeline_dir):
    # spacy-transformers' HFShim.from_bytes calls torch.load without weights_only.
    # A copy: a failed from_bytes may leave the shim's model re-created.
    nlp = nlp_tasks.load(pipeline_dir)
    shim = next(s for s in nlp.get_pipe("transformer").model.walk() for s in s.shims)
    msg = srsly.msgpack_loads(shim.to_bytes())
    msg["state"] = malicious_state()
    UNPICKLED.clear()
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        shim.from_bytes(srsly.msgpack_dumps(msg))
    assert UNPICKLED == []


def test_head_weights_with_a_pickled_object_are_refused():
    # thinc's PyTorchShim (PyTorchWrapper heads: QA, summarization) calls
    # torch.load without weights_only.
    import torch
    from thinc.api import PyTorchWrapper_v2

    shim = PyTorchWrapper_v2(torch.nn.Linear(2, 2)).shims[0]
    msg = srsly.msgpack_loads(shim.to_bytes())
    msg["state"] = malicious_state()
    UNPICKLED.clear()
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        shim.from_bytes(srsly.msgpack_dumps(msg))
    assert UNPICKLED == []


def test_a_saved_pipeline_with_a_pickled_object_in_its_weights_does_not_load(nlp, tmp_path):
    path = tmp_path / "pipeline"
    nlp.to_disk(path)
    model_file = path / "transformer" / "model"
    model = srsly.msgpack_loads(model_file.read_bytes())
    for shims in model["shims"]:
        for i, data in enumerate(shims):
            msg = srsly.msgpack_loads(data)
            msg["state"] = malicious_state()
            shims[i] = srsly.msgpack_dumps(msg)
    model_file.write_bytes(srsly.msgpack_dumps(model))
    UNPICKLED.clear()
    # Raised as is, or wrapped in a coded error that names the file.
    with pytest.raises(Exception) as info:
        nlp_tasks.load(path)
    chain = [info.value, info.value.__cause__, info.value.__context__]
    assert any("Weights only load failed" in str(error) for error in chain if error)
    assert UNPICKLED == []
