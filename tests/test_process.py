"""Batch processing: the iterator API, files, errors, resuming, processes and Ray."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.language import Language

from nlp_tasks import ExtraField, Task, TaskInputs, hookimpl
from nlp_tasks.batch import process_file, process_records
from nlp_tasks.batch.files import checkpoint_path
from nlp_tasks.batch.inputs import InputError
from nlp_tasks.batch.outputs import OutputError
from nlp_tasks.errors import ConfigError, OptionError, ProcessError
from nlp_tasks.inference import doc_to_json, pipeline_tasks

SEEN_EXTRAS: list = []
EXTRA_NAME: list = []
WORDS = "Jane Smith loved the wonderful film in Paris but hated the cold food at Acme Corp".split()


def text_for(i: int) -> str:
    # Varied lengths and words, so batches pad differently and outputs differ.
    n = 3 + (i * 7) % 17
    return " ".join(WORDS[(i + k * 3) % len(WORDS)] for k in range(n)) + "."


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf8")
    return path


def corpus_lines(n: int, bad: bool = True) -> list[str]:
    lines = [json.dumps({"id": f"doc-{i}", "text": text_for(i)}) for i in range(n)]
    if bad:
        lines[3] = '{"id": "doc-3", "text": "unterminated'
        lines[7] = json.dumps({"id": "doc-7", "body": "no text field"})
        lines[8] = ""
        lines[12] = json.dumps({"id": "doc-12", "text": ["not", "a", "string"]})
    return lines


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def assert_same_outputs(a: list[dict], b: list[dict]) -> None:
    """Equal records; scores equal up to float noise from another thread count."""
    assert [(r["line"], r.get("id")) for r in a] == [(r["line"], r.get("id")) for r in b]
    for x, y in zip(a, b):
        assert x["ner"] == y["ner"]
        assert x["sentiment"]["label"] == y["sentiment"]["label"]
        assert x["sentiment"]["cats"] == pytest.approx(y["sentiment"]["cats"], abs=1e-5)


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_lines(tmp_path / "corpus.jsonl", corpus_lines(40))


# The iterator API -----------------------------------------------------------------


def test_process_records_gives_each_heads_output_in_order(nlp):
    texts = [text_for(i) for i in range(25)]
    records = [{"id": i, "text": t} for i, t in enumerate(texts)]
    results = list(process_records(nlp, records, batch_size=4, batch_words=30))
    tasks = pipeline_tasks(nlp)
    assert [r.id for r in results] == list(range(25))
    assert [r.line for r in results] == list(range(1, 26))
    for result, text in zip(results, texts):
        expected = doc_to_json(nlp(text), tasks)
        assert result.ok and result.error is None
        assert result.output["ner"] == expected["ner"]
        assert result.output["sentiment"]["label"] == expected["sentiment"]["label"]
        assert result.output["sentiment"]["cats"] == pytest.approx(
            expected["sentiment"]["cats"], abs=1e-5
        )
    labels = {r.output["sentiment"]["label"] for r in results}
    scores = {round(r.output["sentiment"]["score"], 4) for r in results}
    assert len(scores) > 1, f"the heads should give text-dependent outputs ({labels})"


def test_process_records_reports_bad_records_and_goes_on(nlp):
    records = ["A fine text.", {"body": "x"}, {"text": 3}, "y" * 50, {"text": "Last."}]
    results = list(process_records(nlp, records, max_chars=40))
    assert [r.code for r in results] == [None, "E050", "E051", "E052", None]
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert all(r.error.startswith(f"[{r.code}] <records>, line {r.line}") for r in results[1:4])


def test_records_stream_instead_of_being_read_up_front(nlp):
    pulled = []

    def endless():
        while True:
            pulled.append(1)
            yield text_for(len(pulled))

    results = process_records(nlp, endless(), batch_size=8)
    first = [next(results) for _ in range(10)]
    assert [r.line for r in first] == list(range(1, 11))
    # Two chunks of 8 read for 10 results, plus the one record that closes a chunk.
    assert len(pulled) <= 17
    results.close()


def test_trf_data_is_freed_unless_asked_to_keep_it(nlp):
    texts = ["Jane Smith visited Paris.", "The food was cold."]
    freed = list(process_records(nlp, texts, return_docs=True))
    kept = list(process_records(nlp, texts, return_docs=True, keep_trf_data=True))
    assert all(r.doc is not None and r.doc._.trf_data is None for r in freed)
    assert all(r.doc._.trf_data is not None for r in kept)
    assert [r.doc.text for r in kept] == texts
    with pytest.raises(OptionError, match=r"\[E066\]"):
        list(process_records(nlp, texts, return_docs=True, n_process=2))


@Language.component("nlp_tasks_test_collect_extra")
def collect_extra(doc):
    SEEN_EXTRAS.append(getattr(doc._, EXTRA_NAME[0], None))
    return doc


class ExtraFieldPlugin:
    """Registers a task whose component reads an extra field of the records."""

    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def register_tasks(self, register):
        register(
            Task(
                name="collector",
                factory="nlp_tasks_test_collect_extra",
                make_example=None,
                to_json=lambda doc: {"seen": getattr(doc._, self.name)},
                inputs=TaskInputs(extras=(ExtraField(self.name),)),
            )
        )


@pytest.fixture
def collecting(nlp, fresh_plugins):
    def add(name):
        EXTRA_NAME[:] = [name]
        SEEN_EXTRAS.clear()
        fresh_plugins.register_plugin(ExtraFieldPlugin(name), "collector-plugin")
        nlp.add_pipe("nlp_tasks_test_collect_extra", name="collector", last=True)
        return nlp

    yield add
    if "collector" in nlp.pipe_names:
        nlp.remove_pipe("collector")


def test_a_declared_extra_field_reaches_the_doc_under_any_record_name(collecting):
    nlp = collecting("hints")
    records = [{"text": "Who went?", "tips": ["Who?"]}, {"text": "None here."}]
    results = list(process_records(nlp, records, fields={"hints": "tips"}))
    assert SEEN_EXTRAS == [["Who?"], None]
    assert results[0].output["collector"] == {"seen": ["Who?"]}
    assert "collector" not in results[1].output, "no extra field: the task has nothing to say"
    assert "sentiment" in results[1].output
    with pytest.raises(ConfigError, match=r"\[E083\].*'nothing'"):
        list(process_records(nlp, records, fields={"nothing": "tips"}))


def test_the_deprecated_questions_field_is_an_alias_of_a_field_mapping(collecting):
    nlp = collecting("questions")
    records = [{"text": "Who went?", "q": ["Who?"]}]
    with pytest.warns(DeprecationWarning, match="--field questions=q"):
        results = list(process_records(nlp, records, questions_field="q"))
    assert results[0].output["collector"] == {"seen": ["Who?"]}
    with pytest.warns(DeprecationWarning), pytest.raises(OptionError, match=r"\[E153\]"):
        list(process_records(nlp, records, questions_field="q", fields={"questions": "p"}))


def test_a_record_that_breaks_the_pipeline_fails_alone(nlp, monkeypatch):
    ner = nlp.get_pipe("ner")
    original = ner.pipe

    def fragile(docs, **kwargs):
        for batch_doc in original(docs, **kwargs):
            if "POISON" in batch_doc.text:
                raise RuntimeError("cannot handle this one")
            yield batch_doc

    monkeypatch.setattr(ner, "pipe", fragile)
    texts = ["Fine one.", "A POISON text.", "Fine two.", "Fine three."]
    results = list(process_records(nlp, texts, batch_size=4))
    assert [r.code for r in results] == [None, "E055", None, None]
    assert "RuntimeError: cannot handle this one" in results[1].error


def test_bad_settings_are_refused(nlp):
    with pytest.raises(OptionError, match=r"\[E065\] batch_size"):
        list(process_records(nlp, ["x"], batch_size=0))


@pytest.mark.parametrize("name", ["warnings", "line", "text"])
def test_a_component_named_like_a_record_field_is_refused(pipeline_dir, tmp_path, name):
    # Its output would replace the record's own field in every output record.
    from nlp_tasks import load, predict
    from nlp_tasks.errors import ConfigError

    renamed = load(pipeline_dir)
    renamed.rename_pipe("sentiment", name)
    expected = rf"\[E161\] Component '{name}' has the name of a field"
    with pytest.raises(ConfigError, match=expected):
        list(process_records(renamed, ["A fine day."]))
    with pytest.raises(ConfigError, match=expected):
        predict(renamed, ["A fine day."])
    # Refused from the saved config too, before any output or worker process.
    saved = tmp_path / "pipeline"
    renamed.to_disk(saved)
    corpus = write_lines(tmp_path / "in.jsonl", ['{"text": "A fine day."}'])
    output = tmp_path / "out.jsonl"
    with pytest.raises(ConfigError, match=expected):
        process_file(saved, corpus, output, n_process=2, progress=False)
    assert not output.exists() and not checkpoint_path(output).exists()
    renamed.rename_pipe(name, "mood")
    assert "mood" in predict(renamed, ["A fine day."])[0]


# Files ------------------------------------------------------------------------------


def test_process_file_writes_outputs_errors_and_summary(pipeline_dir, corpus, tmp_path):
    output = tmp_path / "out.jsonl"
    summary = process_file(pipeline_dir, corpus, output, batch_size=8, progress=False)
    assert (summary.processed, summary.failed, summary.skipped) == (36, 3, 1)
    assert summary.complete and summary.processed_now == 36
    records = read_jsonl(output)
    expected_lines = [i + 1 for i in range(40) if i not in (3, 7, 8, 12)]
    assert [r["line"] for r in records] == expected_lines
    assert [r["id"] for r in records] == [f"doc-{n - 1}" for n in expected_lines]
    assert set(records[0]) == {"line", "id", "sentiment", "ner"}
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [(e["line"], e["code"]) for e in errors] == [(4, "E048"), (8, "E050"), (13, "E051")]
    assert [e.get("id") for e in errors] == [None, "doc-7", "doc-12"]
    assert all(e["input"] == str(corpus) and f"line {e['line']}" in e["error"] for e in errors)
    state = json.loads(checkpoint_path(output).read_text())
    assert state["complete"] and state["done"] == 40


def test_rerunning_a_finished_job_does_nothing(pipeline_dir, corpus, tmp_path):
    output = tmp_path / "out.jsonl"
    process_file(pipeline_dir, corpus, output, progress=False)
    before = output.read_bytes()
    again = process_file(pipeline_dir, corpus, output, progress=False)
    assert again.already_complete and again.processed == 36 and again.processed_now == 0
    assert output.read_bytes() == before


def test_an_output_from_elsewhere_is_not_overwritten(pipeline_dir, corpus, tmp_path):
    output = tmp_path / "out.jsonl"
    output.write_text("precious\n")
    with pytest.raises(ProcessError, match=r"\[E069\].*--overwrite"):
        process_file(pipeline_dir, corpus, output, progress=False)
    assert output.read_text() == "precious\n"
    summary = process_file(pipeline_dir, corpus, output, overwrite=True, progress=False)
    assert summary.processed == 36 and len(read_jsonl(output)) == 36


def test_the_input_is_never_the_output(pipeline_dir, corpus):
    with pytest.raises(OptionError, match=r"\[E065\] the output must be another file"):
        process_file(pipeline_dir, corpus, corpus, overwrite=True, progress=False)
    assert len(read_jsonl_lines(corpus)) == 40


def read_jsonl_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf8").splitlines()


def test_a_changed_input_does_not_resume_an_old_checkpoint(pipeline_dir, corpus, tmp_path):
    output = tmp_path / "out.jsonl"
    state = checkpoint_path(output)
    process_file(pipeline_dir, corpus, output, progress=False)
    original, stat = corpus.read_bytes(), corpus.stat()
    write_lines(corpus, corpus_lines(41))
    with pytest.raises(OutputError, match=r"\[E169\] The input .* \(input size was [\d,]+ bytes"):
        process_file(pipeline_dir, corpus, output, progress=False)
    corpus.write_bytes(original)
    # Touched only: the same bytes, a new time. The advice must not be to rerun.
    with pytest.raises(OutputError, match=r"\[E169\].*input modified was 20\d\d-") as error:
        process_file(pipeline_dir, corpus, output, progress=False)
    assert "--overwrite" in str(error.value) and "Rerun the original" not in str(error.value)
    os.utime(corpus, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(OutputError, match=r"\[E070\].*text field was 'text', now 'body'"):
        process_file(pipeline_dir, corpus, output, text_field="body", progress=False)
    assert json.loads(state.read_text())["complete"], "the old job is untouched"


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda state: state.pop("job"), "it lacks 'job'"),
        (lambda state: state.update(done="99"), "its 'done' is '99'"),
        (lambda state: state.update(complete=1), "its 'complete' is 1"),
        (lambda state: state.update(warned=None), "its 'warned' is None"),
    ],
)
def test_a_damaged_checkpoint_is_named_not_a_traceback(
    pipeline_dir, corpus, tmp_path, damage, problem
):
    output = tmp_path / "out.jsonl"
    process_file(pipeline_dir, corpus, output, progress=False)
    kept = output.read_bytes()
    state = json.loads(checkpoint_path(output).read_text())
    damage(state)
    checkpoint_path(output).write_text(json.dumps(state))
    with pytest.raises(OutputError, match=rf"\[E071\].*cannot be read: {problem}"):
        process_file(pipeline_dir, corpus, output, progress=False)
    checkpoint_path(output).write_text("[1, 2]")
    with pytest.raises(OutputError, match=r"\[E071\].*holds list, not a JSON object"):
        process_file(pipeline_dir, corpus, output, progress=False)
    assert output.read_bytes() == kept


def test_a_checkpoint_from_before_the_warned_count_still_resumes(pipeline_dir, corpus, tmp_path):
    output = tmp_path / "out.jsonl"
    process_file(pipeline_dir, corpus, output, progress=False)
    state = json.loads(checkpoint_path(output).read_text())
    del state["warned"]  # as the release before it wrote them
    checkpoint_path(output).write_text(json.dumps(state))
    summary = process_file(pipeline_dir, corpus, output, progress=False)
    assert summary.already_complete and summary.warned == 0


def test_an_unreadable_input_leaves_no_output_behind(pipeline_dir, tmp_path):
    corpus = tmp_path / "in.csv"
    corpus.write_text("id,body\n1,Some text.\n", encoding="utf8")
    output = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=r"\[E060\].*--text-field"):
        process_file(pipeline_dir, corpus, output, progress=False)
    assert not output.exists() and not checkpoint_path(output).exists()
    summary = process_file(pipeline_dir, corpus, output, text_field="body", progress=False)
    assert summary.processed == 1 and read_jsonl(output)[0]["id"] == "1"


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_resume_after_an_interruption_gives_identical_output(
    pipeline_dir, corpus, tmp_path, suffix, stop_after
):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    settings = {
        "batch_size": 4,
        "checkpoint_seconds": 0,
        "parquet_part_rows": 6,
        "progress": False,
    }
    reference = tmp_path / f"reference{suffix}"
    process_file(pipeline_dir, corpus, reference, **settings)
    output = tmp_path / f"out{suffix}"
    with pytest.raises(stop_after.Stop):
        process_file(pipeline_dir, corpus, output, on_chunk=stop_after(3), **settings)
    state = json.loads(checkpoint_path(output).read_text())
    assert 0 < state["done"] < 40 and not state["complete"]
    if suffix == ".jsonl":
        # Bytes written after the checkpoint, as if killed before the next one.
        with output.open("ab") as file:
            file.write(b'{"line": 999, "partial')
    summary = process_file(pipeline_dir, corpus, output, **settings)
    assert summary.resumed_after == state["done"] > 0
    assert summary.processed == 36 and summary.failed == 3
    assert output.read_bytes() == reference.read_bytes()
    assert (tmp_path / "out.errors.jsonl").read_bytes() == (
        tmp_path / "reference.errors.jsonl"
    ).read_bytes()


def test_input_formats_give_the_same_outputs(pipeline_dir, tmp_path):
    import gzip

    texts = [text_for(i) for i in range(12)]
    jsonl = write_lines(tmp_path / "in.jsonl", [json.dumps({"text": t}) for t in texts])
    txt = write_lines(tmp_path / "in.txt", texts)
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("text\n" + "".join(f'"{t}"\n' for t in texts), encoding="utf8")
    gz = tmp_path / "in.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    inputs = [jsonl, txt, gz, csv_path]
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": texts}), tmp_path / "in.parquet")
    inputs.append(tmp_path / "in.parquet")
    outputs = []
    for path in inputs:
        out = tmp_path / f"{path.name}.out.jsonl"
        process_file(pipeline_dir, path, out, progress=False)
        outputs.append([{k: v for k, v in r.items() if k != "line"} for r in read_jsonl(out)])
    assert len(outputs[0]) == 12
    assert all(output == outputs[0] for output in outputs[1:])


def test_parquet_output_holds_the_jsonl_records(pipeline_dir, corpus, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    process_file(pipeline_dir, corpus, tmp_path / "out.jsonl", progress=False)
    process_file(
        pipeline_dir,
        corpus,
        tmp_path / "out.parquet",
        errors_path=tmp_path / "out.parquet.errors.jsonl",
        progress=False,
    )
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert rows == read_jsonl(tmp_path / "out.jsonl")
    assert not (tmp_path / "out.parquet.parts").exists()


def test_parquet_output_names_the_field_whose_type_is_mixed(tmp_path):
    pytest.importorskip("pyarrow")
    from nlp_tasks.batch.outputs import open_output

    checkpoint = tmp_path / "out.ckpt"
    output = open_output(tmp_path / "out.parquet", "parquet", {}, checkpoint=checkpoint)
    output.write([{"id": "a", "n": 1}, {"id": ["b"], "n": 2}], 1, 2)
    with pytest.raises(OutputError, match=r"\[E154\] Lines 1-2: the values of field 'id'"):
        output.commit(final=True)
    output = open_output(tmp_path / "two.parquet", "parquet", {}, checkpoint=checkpoint)
    output.write([{"id": "a", "n": 1}], 1, 1)
    output.commit(final=True)
    output.write([{"id": "b", "n": [2]}], 2, 2)
    with pytest.raises(OutputError, match=r"\[E072\] Lines 2-2 give Parquet column\(s\) 'n'"):
        output.commit(final=True)


# Command line: processes, exit status, kill and resume --------------------------------


def test_cli_several_processes_keep_order_and_completeness(pipeline_dir, tmp_path, cli):
    corpus = write_lines(tmp_path / "corpus.jsonl", corpus_lines(80))
    single = tmp_path / "single.jsonl"
    process_file(pipeline_dir, corpus, single, batch_size=8, progress=False)
    output = tmp_path / "multi.jsonl"
    args = [str(pipeline_dir), str(corpus), str(output), "--batch-size", "8", "--no-progress"]
    result = cli("process", *args, "--n-process", "2")
    assert result.returncode == 3, result.stderr  # records failed
    assert "76 processed, 3 failed, 1 skipped" in result.stderr
    assert "multi.errors.jsonl" in result.stderr
    multi = read_jsonl(output)
    assert len(multi) == 76 and len({r["id"] for r in multi}) == 76
    assert_same_outputs(multi, read_jsonl(single))
    again = cli("process", *args, "--allow-errors")
    assert again.returncode == 0, again.stderr
    assert "Already complete" in again.stderr


def test_cli_resumes_after_being_killed(pipeline_dir, tmp_path, cli, killed_run):
    corpus = write_lines(tmp_path / "corpus.jsonl", corpus_lines(300))
    reference = tmp_path / "reference.jsonl"
    settings = {"batch_size": 8, "progress": False}
    process_file(pipeline_dir, corpus, reference, **settings)
    output = tmp_path / "out.jsonl"
    checkpoint = checkpoint_path(output)
    args = [str(pipeline_dir), str(corpus), str(output), "--batch-size", "8", "--no-progress"]
    command = [sys.executable, "-c", "from nlp_tasks.cli import main; main()", "process", *args]
    state = killed_run(command, checkpoint)
    assert 0 < state["done"] < 300 and not state["complete"], "killed in mid-run"
    assert output.stat().st_size >= state["output"]["bytes"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert f"resumed after line {state['done']}" in result.stderr
    assert "296 processed, 3 failed, 1 skipped" in result.stderr
    assert output.read_bytes() == reference.read_bytes()
    assert (tmp_path / "out.errors.jsonl").read_bytes() == (
        tmp_path / "reference.errors.jsonl"
    ).read_bytes()


def _spawned_workers(pid: int) -> list[int]:
    """The pool workers among ``pid``'s children (not multiprocessing's resource tracker)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    workers = []
    for child in children:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(int(child))
        except OSError:
            pass
    return workers


def _checkpointed(output: Path) -> int:
    try:
        return json.loads(checkpoint_path(output).read_text())["done"]
    except (OSError, ValueError, KeyError):
        return 0


def _running(pid: int) -> bool:
    try:  # a zombie waits only for its parent to be reaped; it runs no code
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
    reason="finds the workers in /proc/PID/task/PID/children",
)
@pytest.mark.parametrize("moment", ["workers loading", "mid-run"])
def test_ctrl_c_with_workers_stops_quietly_and_resumes(pipeline_dir, tmp_path, moment):
    import signal
    import time

    corpus = write_lines(tmp_path / "corpus.jsonl", corpus_lines(300))
    reference = tmp_path / "reference.jsonl"
    process_file(pipeline_dir, corpus, reference, batch_size=8, progress=False)
    output = tmp_path / "out.jsonl"
    args = [str(pipeline_dir), str(corpus), str(output), "--batch-size", "8", "--no-progress"]
    command = [sys.executable, "-c", "from nlp_tasks.cli import main; main()", "process", *args]
    command += ["--n-process", "2", "--checkpoint-seconds", "0"]
    # Its own process group, as a shell gives a command: Ctrl+C reaches every process in it.
    # SIGINT at its default, as in a terminal: a test run started in the background
    # (`pytest &`) hands on SIGINT ignored, and process rightly keeps ignoring it then.
    run = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while run.poll() is None and time.monotonic() < deadline:
            workers = _spawned_workers(run.pid)
            if len(workers) == 2 and moment == "workers loading":
                break
            if moment == "mid-run" and _checkpointed(output) >= 24:
                break
            time.sleep(0.01)
        assert run.poll() is None, run.stderr.read()
        os.killpg(run.pid, signal.SIGINT)
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130, stderr
    assert "Interrupted. Rerun the same command to resume." in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    time.sleep(1.5)  # a worker the parent left would notice it is gone within a second
    assert not [w for w in workers if _running(w)]
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 3, again.stderr
    assert "296 processed, 3 failed, 1 skipped" in again.stderr
    assert output.read_bytes() == reference.read_bytes()


def test_a_worker_told_to_stop_refuses_the_chunks_queued_for_it(monkeypatch):
    import signal

    from nlp_tasks.batch import local

    seen = []
    monkeypatch.setattr(local, "_worker_processor", lambda chunk: seen.append(chunk) or [])
    monkeypatch.setattr(local, "_worker_stopping", False)
    assert local._worker_run(["first"]) == []
    local._worker_interrupted(signal.SIGINT, None)  # idle: no error, but it is stopping
    with pytest.raises(KeyboardInterrupt):
        local._worker_run(["queued before the Ctrl+C"])
    assert seen == [["first"]]


def test_cli_reads_fields_under_other_names(pipeline_dir, tmp_path, cli):
    corpus = write_lines(tmp_path / "c.jsonl", [json.dumps({"body": "Jane Smith was here."})])
    output = tmp_path / "o.jsonl"
    args = [str(pipeline_dir), str(corpus), str(output), "--no-progress"]
    result = cli("process", *args, "--field", "text=body")
    assert result.returncode == 0, result.stderr
    assert set(read_jsonl(output)[0]) == {"line", "sentiment", "ner"}
    wrong = cli("process", *args, "--field", "txt=body", "--overwrite")
    assert wrong.returncode == 1 and "[E083]" in wrong.stderr and "'txt'" in wrong.stderr
    bad = cli("process", *args, "--field", "text", "--overwrite")
    assert bad.returncode == 2 and "TASK_FIELD=FIELD" in bad.stderr
    old = cli("process", *args, "--text-field", "body", "--questions-field", "q", "--overwrite")
    assert old.returncode == 0, old.stderr
    assert "--questions-field is deprecated" in old.stderr and "--field questions=q" in old.stderr


def test_cli_reports_a_bad_setup_without_a_traceback(pipeline_dir, tmp_path, cli):
    missing, output = str(tmp_path / "nope.jsonl"), str(tmp_path / "o.jsonl")
    result = cli("process", str(pipeline_dir), missing, output)
    assert result.returncode == 1
    assert "[E059]" in result.stderr and "Traceback" not in result.stderr


# Ray --------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_engine_gives_the_same_output_as_the_local_engine(nlp, pipeline_dir, corpus, tmp_path):
    pytest.importorskip("ray.data")
    local = tmp_path / "local.jsonl"
    process_file(pipeline_dir, corpus, local, batch_size=4, progress=False)
    output = tmp_path / "ray.jsonl"
    # A loaded pipeline is saved for the actors to load.
    summary = process_file(
        nlp,
        corpus,
        output,
        batch_size=4,
        engine="ray",
        n_process=2,
        threads=1,
        ray_init={"num_cpus": 2},
        progress=False,
    )
    assert (summary.processed, summary.failed, summary.skipped) == (36, 3, 1)
    assert_same_outputs(read_jsonl(output), read_jsonl(local))
    assert (tmp_path / "ray.errors.jsonl").read_bytes() == (
        tmp_path / "local.errors.jsonl"
    ).read_bytes()
