import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from nlp_tasks.registry import manager as plugins
from nlp_tasks.testing import make_tiny_backbone

SENTIMENT = [
    ("I loved this film, it was wonderful.", "positive"),
    ("A great and moving story, superb acting.", "positive"),
    ("Wonderful food and friendly staff.", "positive"),
    ("The best concert I have been to.", "positive"),
    ("Terrible plot and awful acting.", "negative"),
    ("The service was slow and the food cold.", "negative"),
    ("A boring, bland and dreadful book.", "negative"),
    ("I hated every minute of it.", "negative"),
]
NER = [
    {"text": "Jane Smith visited Paris.", "entities": [[0, 10, "PER"], [19, 24, "LOC"]]},
    {"text": "Acme Corp opened in London.", "entities": [[0, 9, "ORG"], [20, 26, "LOC"]]},
    {
        "tokens": ["John", "Brown", "works", "for", "Acme", "Corp", "."],
        "tags": ["B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "O"],
    },
    {"tokens": ["Berlin", "is", "big", "."], "tags": ["B-LOC", "O", "O", "O"]},
    {"text": "Nothing happened today.", "entities": []},
]


def pytest_collection_modifyitems(items) -> None:
    # A test that starts a fresh interpreter (the `cli` and `python` fixtures) pays
    # for importing spaCy and torch there, 2-6 s: it belongs to the slow tier.
    for item in items:
        if {"cli", "python"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def write_jsonl(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    return path


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> Path:
    texts = [t for t, _ in SENTIMENT] + [r.get("text") or " ".join(r["tokens"]) for r in NER]
    return make_tiny_backbone(tmp_path_factory.mktemp("backbone"), texts)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    sentiment = [{"text": t, "label": lb} for t, lb in SENTIMENT]
    for split in ("train", "dev"):
        write_jsonl(root / "sentiment" / f"{split}.jsonl", sentiment)
        write_jsonl(root / "ner" / f"{split}.jsonl", NER)
    return root


@pytest.fixture(scope="session")
def nlp(tiny_backbone, data_dir):
    """A sentiment + NER pipeline on the tiny backbone, trained a few steps so the
    heads' outputs differ from text to text. Shared: tests must not change it."""
    from spacy.training.initialize import init_nlp

    from nlp_tasks.testing import train_steps
    from nlp_tasks.training.config import make_config
    from nlp_tasks.training.corpus import MultiTaskCorpus

    tasks = ("sentiment", "ner")
    config = make_config(list(tasks), backbone=str(tiny_backbone), max_steps=10)
    config["paths"]["data"] = str(data_dir)
    config["training"]["optimizer"]["learn_rate"] = 0.002
    nlp = init_nlp(config.interpolate())
    examples = list(MultiTaskCorpus({t: data_dir / t / "train.jsonl" for t in tasks})(nlp))
    train_steps(nlp, nlp.create_optimizer(), examples, steps=8, batch_size=13)
    return nlp


@pytest.fixture(scope="session")
def pipeline_dir(nlp, tmp_path_factory) -> Path:
    """The ``nlp`` fixture saved to disk. Shared: copy it before changing it."""
    path = tmp_path_factory.mktemp("trained") / "pipeline"
    nlp.to_disk(path)
    return path


@pytest.fixture
def fresh_plugins():
    """Plugin state loaded anew for one test, and forgotten after it."""
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture
def register_odd_task(fresh_plugins):
    """Register a task "odd" of plugin "odd-plugin" with some ``Task`` fields set,
    and return the tasks the plugins then give: ``register_odd_task(**fields)``."""
    from nlp_tasks import Task, hookimpl

    registered = []

    def register(**fields):
        class Plugin:
            @hookimpl
            def register_tasks(self, register):
                task = Task(
                    name="odd",
                    factory="odd",
                    make_example=lambda nlp, record: None,
                    to_json=lambda doc: {},
                    **fields,
                )
                register(task)

        fresh_plugins.register_plugin(Plugin(), name="odd-plugin")
        registered.append("odd-plugin")
        return fresh_plugins.get_tasks()

    yield register
    for name in registered:
        fresh_plugins.unregister_plugin(name)


@pytest.fixture
def python():
    """Run code in a fresh interpreter: ``python(code, env=...)``."""
    return run_python


@pytest.fixture
def cli():
    """Run ``nlp-tasks`` in a fresh interpreter: ``cli("plugins", env=...)``."""
    return run_cli


def run_python(code: str, *, env: dict | None = None, cwd: Path | None = None):
    """Run code in a fresh interpreter; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, cwd=cwd
    )


def kill_after_checkpoint(command: list[str], checkpoint: Path, done: int = 24) -> dict:
    """Start ``command`` (a ``process`` run checkpointing after every batch), SIGKILL it
    once its checkpoint counts ``done`` lines, and return that checkpoint's state."""
    import signal
    import time

    process = subprocess.Popen(
        [*command, "--checkpoint-seconds", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while seen < done and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            try:
                seen = json.loads(checkpoint.read_text())["done"]
            except (OSError, ValueError):
                pass
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    return json.loads(checkpoint.read_text())


@pytest.fixture
def killed_run():
    """``kill_after_checkpoint``: run a ``process`` command, SIGKILL it mid-run."""
    return kill_after_checkpoint


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Run the nlp-tasks command line in a fresh interpreter."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from nlp_tasks.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
    )


# -- batch jobs stopped in mid-run (issue 19, helper B1)


class StopAfter:
    """Makes ``on_chunk`` callbacks that stop a file run after so many chunks.

    ``process_file(..., on_chunk=stop_after(3))`` raises ``stop_after.Stop`` once
    three chunks are written, as a crash at that point would.
    """

    class Stop(Exception):
        """The run was stopped on purpose."""

    def __call__(self, chunks: int):
        written = 0

        def on_chunk(summary) -> None:
            nonlocal written
            written += 1
            if written == chunks:
                raise self.Stop

        return on_chunk


@pytest.fixture
def stop_after() -> StopAfter:
    """Stop a ``process_file`` run after N chunks: see ``StopAfter``."""
    return StopAfter()


@contextmanager
def serving(pipeline: Path, log_path: Path, *args: str):
    """`nlp-tasks serve PIPELINE` in a subprocess on a free loopback port, once it
    answers /health (60 s at most); yields its base URL and stops it afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = log_path.open("w+")
    command = "from nlp_tasks.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", command, "serve", str(pipeline), "--port", str(port), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    assert json.load(response)["status"] == "ok"
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def start_server():
    """``serving``: start `nlp-tasks serve` on loopback for the length of a with block."""
    return serving
