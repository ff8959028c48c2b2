"""Batch jobs that cannot lose or mix records: locks, pipeline and option changes on
resume, paths that would destroy the input, missing folders, full disks (issue 18)."""

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nlp_tasks.batch import process_file
from nlp_tasks.batch.files import checkpoint_path
from nlp_tasks.batch.outputs import AppendFile, OutputError
from nlp_tasks.errors import OptionError

WORDS = "Jane Smith loved the wonderful film in Paris but hated the cold food at Acme Corp".split()
FAST = {"batch_size": 4, "checkpoint_seconds": 0, "progress": False}


def text_for(i: int) -> str:
    n = 3 + (i * 7) % 17
    return " ".join(WORDS[(i + k * 3) % len(WORDS)] for k in range(n)) + "."


def write_corpus(path: Path, n: int, bad: bool = True) -> Path:
    lines = [json.dumps({"id": f"doc-{i}", "text": text_for(i)}) for i in range(n)]
    if bad:
        lines[3] = '{"id": "doc-3", "text": "unterminated'
        lines[7] = json.dumps({"id": "doc-7", "body": "no text field"})
        lines[12] = json.dumps({"id": "doc-12", "text": ["not", "a", "string"]})
    path.write_text("".join(line + "\n" for line in lines), encoding="utf8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus.jsonl", 40)


@pytest.fixture(scope="module")
def reference(pipeline_dir, tmp_path_factory) -> tuple[bytes, bytes]:
    """Output and errors file of an uninterrupted run over the 40-line corpus.

    The errors file names the input: as ``{input}``, to be filled in by the test.
    """
    root = tmp_path_factory.mktemp("reference")
    output, source = root / "out.jsonl", write_corpus(root / "corpus.jsonl", 40)
    process_file(pipeline_dir, source, output, **FAST)
    errors = (root / "out.errors.jsonl").read_text(encoding="utf8")
    return output.read_bytes(), errors.replace(str(source), "{input}")


def perturb(component) -> None:
    """Change a component's weights, as more training would."""
    for node in component.model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name) + 0.01)
                return


# 1. Two runs on one output ------------------------------------------------------------

#: The command line, each batch held back until a file appears: a run that is
#: certainly in mid-job (its lock held, its output half written) while another starts.
HELD_CLI = """
import os, time
from nlp_tasks.batch import processor
original = processor.RecordProcessor.__call__
def held(self, chunk):
    if chunk[0].line > 8:
        deadline = time.monotonic() + 120
        while not os.path.exists(os.environ["RELEASE"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    return original(self, chunk)
processor.RecordProcessor.__call__ = held
from nlp_tasks.cli import main
main()
"""


def test_a_second_run_on_the_same_output_is_refused(pipeline_dir, tmp_path, cli):
    corpus = write_corpus(tmp_path / "corpus.jsonl", 60, bad=False)
    reference = tmp_path / "reference.jsonl"
    process_file(pipeline_dir, corpus, reference, batch_size=4, progress=False)
    output = tmp_path / "out.jsonl"
    release = tmp_path / "release"
    args = [str(pipeline_dir), str(corpus), str(output), "--no-progress"]
    first = subprocess.Popen(
        [sys.executable, "-c", HELD_CLI, "process", *args, "--batch-size", "4"]
        + ["--checkpoint-seconds", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "RELEASE": str(release)},
    )
    try:
        deadline = time.monotonic() + 120
        done = 0
        while done < 8 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                done = json.loads(checkpoint_path(output).read_text())["done"]
            except (OSError, ValueError, KeyError):
                pass
        assert done == 8 and first.poll() is None, "the first run is in mid-job"
        second = cli("process", *args, "--batch-size", "40")
        release.touch()
        assert first.wait(timeout=120) == 0, first.stderr.read().decode()
    finally:
        release.touch()
        if first.poll() is None:
            first.kill()
    assert second.returncode == 1, second.stderr
    assert "[E073]" in second.stderr and "Traceback" not in second.stderr
    assert str(output) in second.stderr and "out.jsonl.lock" in second.stderr
    assert output.read_bytes() == reference.read_bytes()
    assert json.loads(checkpoint_path(output).read_text())["complete"]
    assert not (tmp_path / "out.jsonl.lock").exists()


def test_a_held_lock_refuses_before_touching_any_file(pipeline_dir, corpus, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    output = tmp_path / "out.jsonl"
    process_file(pipeline_dir, corpus, output, batch_size=4, progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    lock = tmp_path / "out.jsonl.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputError, match=r"\[E073\].*out\.jsonl.*out\.jsonl\.lock"):
            process_file(pipeline_dir, corpus, output, overwrite=True, progress=False)
        # Another output, but the same (default) errors file: out.errors.jsonl.
        errors_lock = tmp_path / "out.errors.jsonl.lock"
        with errors_lock.open("w") as held_errors:
            fcntl.flock(held_errors, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with pytest.raises(OutputError, match=r"\[E073\].*out\.errors\.jsonl"):
                process_file(pipeline_dir, corpus, tmp_path / "out.json", progress=False)
        errors_lock.unlink()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == {**before, "out.jsonl.lock": b""}, "nothing was touched"
    assert not (tmp_path / "out.json").exists()
    # The lock file outlives its holder (as after kill -9) but blocks nobody.
    summary = process_file(pipeline_dir, corpus, output, overwrite=True, progress=False)
    assert summary.complete and summary.processed_now == 37
    assert not lock.exists()


# 2. Resume with another pipeline ------------------------------------------------------


def test_resume_refuses_a_changed_pipeline_directory(
    pipeline_dir, corpus, tmp_path, reference, stop_after
):
    import spacy

    pipeline = tmp_path / "pipeline"
    shutil.copytree(pipeline_dir, pipeline)
    output = tmp_path / "out.jsonl"
    with pytest.raises(stop_after.Stop):
        process_file(pipeline, corpus, output, on_chunk=stop_after(2), **FAST)
    retrained = spacy.load(pipeline)
    perturb(retrained.get_pipe("sentiment"))
    retrained.to_disk(pipeline)
    with pytest.raises(OutputError, match=r"\[E074\].*changed: sentiment/model\b") as info:
        process_file(pipeline, corpus, output, **FAST)
    assert "--overwrite" in str(info.value)
    shutil.rmtree(pipeline)
    shutil.copytree(pipeline_dir, pipeline)
    config = pipeline / "config.cfg"
    config.write_text(config.read_text() + "\n# edited\n")
    with pytest.raises(OutputError, match=r"\[E074\].*changed: config\.cfg\)"):
        process_file(pipeline, corpus, output, **FAST)
    # The pipeline as it was: the run resumes, as if it had never stopped.
    shutil.copy(pipeline_dir / "config.cfg", config)
    summary = process_file(pipeline, corpus, output, **FAST)
    assert summary.resumed_after > 0 and summary.complete
    assert output.read_bytes() == reference[0]


def test_resume_refuses_a_changed_loaded_pipeline(
    pipeline_dir, corpus, tmp_path, reference, stop_after
):
    import spacy

    nlp = spacy.load(pipeline_dir)
    output = tmp_path / "out.jsonl"
    with pytest.raises(stop_after.Stop):
        process_file(nlp, corpus, output, on_chunk=stop_after(2), **FAST)
    same = spacy.load(pipeline_dir)
    perturb(same.get_pipe("ner"))
    with pytest.raises(OutputError, match=r"\[E074\].*changed: component 'ner'"):
        process_file(same, corpus, output, **FAST)
    summary = process_file(spacy.load(pipeline_dir), corpus, output, **FAST)
    assert summary.resumed_after > 0 and output.read_bytes() == reference[0]


# 3. Files the run writes or removes that would destroy the input ------------------------


@pytest.mark.parametrize(
    "input_name,output_name,role",
    [
        ("o.jsonl.checkpoint.json", "o.jsonl", "checkpoint"),
        ("o.jsonl.checkpoint.json.tmp", "o.jsonl", "checkpoint's temporary file"),
        ("o.jsonl.lock", "o.jsonl", "output's lock file"),
        ("o.errors.jsonl.lock", "o.jsonl", "errors file's lock file"),
        ("o.parquet.tmp", "o.parquet", "output's temporary file"),
        ("o.parquet.parts/part.jsonl", "o.parquet", "Parquet parts folder"),
    ],
)
def test_no_file_the_run_writes_or_removes_is_the_input(
    pipeline_dir, tmp_path, input_name, output_name, role
):
    source = tmp_path / input_name
    source.parent.mkdir(exist_ok=True)
    write_corpus(source, 20)
    kept = source.read_bytes()
    with pytest.raises(OptionError, match=rf"\[E077\] The {role} '.*' is .*the input"):
        process_file(
            pipeline_dir,
            source,
            tmp_path / output_name,
            input_format="jsonl",
            overwrite=True,
            progress=False,
        )
    assert source.read_bytes() == kept
    assert not (tmp_path / output_name).exists()


@pytest.mark.parametrize(
    "folder, role",
    [
        ("out.jsonl", "output"),
        ("errors", "errors file"),
        ("out.jsonl.checkpoint.json", "checkpoint"),
    ],
)
def test_a_folder_where_a_file_goes_is_refused_not_removed(
    pipeline_dir, corpus, tmp_path, folder, role
):
    kept = tmp_path / folder / "keep.txt"
    kept.parent.mkdir()
    kept.write_text("a user's file", encoding="utf8")
    errors = tmp_path / "errors" if folder == "errors" else None
    for overwrite in (False, True):
        with pytest.raises(OptionError, match=rf"\[E077\] The {role} '.*{folder}' is a folder"):
            process_file(
                pipeline_dir,
                corpus,
                tmp_path / "out.jsonl",
                errors_path=errors,
                overwrite=overwrite,
                progress=False,
            )
        assert kept.read_text(encoding="utf8") == "a user's file"


def test_a_pipe_where_the_output_goes_is_refused_not_replaced(pipeline_dir, corpus, tmp_path):
    # The run renames a temporary file into place, which would swap a device or a
    # pipe (as root, /dev/null itself) for a regular file.
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    for overwrite in (False, True):
        with pytest.raises(OptionError, match=r"\[E077\] The output .* is not a regular file"):
            process_file(pipeline_dir, corpus, fifo, overwrite=overwrite, progress=False)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_links_to_the_input_are_refused(pipeline_dir, tmp_path):
    source = write_corpus(tmp_path / "in.jsonl", 20)
    kept = source.read_bytes()
    hard = tmp_path / "hard.jsonl"
    os.link(source, hard)
    with pytest.raises(OptionError, match=r"\[E077\] The output .* \(a hard link\)"):
        process_file(pipeline_dir, source, hard, progress=False)
    soft = tmp_path / "o.jsonl.checkpoint.json"
    soft.symlink_to(source)
    with pytest.raises(OptionError, match=r"\[E077\] The checkpoint .* a link to the input"):
        process_file(pipeline_dir, source, tmp_path / "o.jsonl", overwrite=True, progress=False)
    assert source.read_bytes() == kept and soft.exists()


def test_no_file_the_run_writes_is_part_of_the_pipeline(pipeline_dir, corpus, tmp_path, stop_after):
    pipeline = tmp_path / "pipeline"
    shutil.copytree(pipeline_dir, pipeline)
    meta = (pipeline / "meta.json").read_bytes()
    with pytest.raises(OptionError, match=r"\[E077\] The output .* part of the pipeline"):
        process_file(pipeline, corpus, pipeline / "meta.json", overwrite=True, progress=False)
    assert (pipeline / "meta.json").read_bytes() == meta
    with pytest.raises(OptionError, match=r"\[E077\] The output .* inside part of the pipeline"):
        process_file(pipeline, corpus, pipeline / "sentiment" / "o.jsonl", progress=False)
    # Beside the pipeline's own files is fine, and resumes (the output is no part of it).
    output = pipeline / "predictions.jsonl"
    with pytest.raises(stop_after.Stop):
        process_file(pipeline, corpus, output, on_chunk=stop_after(2), **FAST)
    assert process_file(pipeline, corpus, output, **FAST).complete


# 4. An output folder that does not exist ----------------------------------------------


def test_missing_output_folders_are_created(pipeline_dir, corpus, tmp_path):
    output = tmp_path / "new" / "deeper" / "out.jsonl"
    errors = tmp_path / "elsewhere" / "errors.jsonl"
    summary = process_file(pipeline_dir, corpus, output, errors_path=errors, progress=False)
    assert summary.complete and len(read_jsonl(output)) == 37
    assert [e["line"] for e in read_jsonl(errors)] == [4, 8, 13]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match=r"\[E075\] Cannot write '.*a-file'.*No record was"):
        process_file(pipeline_dir, corpus, blocker / "out.jsonl", progress=False)


# 5. A full disk ----------------------------------------------------------------------


class FullDisk:
    """A file whose disk fills up after ``room`` more bytes."""

    def __init__(self, file, room: int) -> None:
        self.file = file
        self.room = room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.file.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


@pytest.mark.parametrize("full", ["out.jsonl", "out.errors.jsonl", "out.jsonl.checkpoint.json"])
def test_a_full_disk_stops_cleanly_and_the_rerun_resumes(
    pipeline_dir, corpus, tmp_path, reference, monkeypatch, full
):
    calls = []
    if full.endswith(".checkpoint.json"):
        real_replace = os.replace

        def replace(src, dst):
            if str(dst).endswith(full):
                calls.append(dst)
                if len(calls) == 4:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
    else:
        real_write = AppendFile.write

        def write(self, lines):
            lines = list(lines)
            if self.path.name == full and lines:
                calls.append(lines)
                if len(calls) == 2:
                    self._file = FullDisk(self._file, room=len(lines[0]) // 2)
            return real_write(self, lines)

        monkeypatch.setattr(AppendFile, "write", write)
    output = tmp_path / "out.jsonl"
    with pytest.raises(OutputError, match=r"\[E075\]") as info:
        process_file(pipeline_dir, corpus, output, **FAST)
    message = str(info.value)
    assert f"Cannot write '{tmp_path / full}'" in message and "No space left" in message
    assert "rerun the same command" in message and "byte for byte" in message
    monkeypatch.undo()
    state = json.loads(checkpoint_path(output).read_text())
    assert 0 < state["done"] < 40 and not state["complete"]
    summary = process_file(pipeline_dir, corpus, output, **FAST)
    assert summary.resumed_after == state["done"] and summary.complete
    assert output.read_bytes() == reference[0]
    errors = (tmp_path / "out.errors.jsonl").read_text(encoding="utf8")
    assert errors == reference[1].replace("{input}", str(corpus))


# 6. Settings that change the output's bytes -------------------------------------------


def test_resume_refuses_settings_that_change_the_bytes(
    pipeline_dir, corpus, tmp_path, reference, stop_after
):
    output = tmp_path / "out.jsonl"
    with pytest.raises(stop_after.Stop):
        process_file(pipeline_dir, corpus, output, on_chunk=stop_after(2), **FAST)
    other = {**FAST, "batch_size": 8}
    with pytest.raises(OutputError, match=r"\[E070\].*batch size \(--batch-size.*was 4, now 8"):
        process_file(pipeline_dir, corpus, output, **other)
    with pytest.raises(OutputError, match=r"\[E070\].*batch words .*was 16384, now 30"):
        process_file(pipeline_dir, corpus, output, batch_words=30, **FAST)
    summary = process_file(pipeline_dir, corpus, output, **FAST)
    assert summary.resumed_after > 0 and output.read_bytes() == reference[0]
    # A finished job has nothing left to batch: any settings find it complete.
    assert process_file(pipeline_dir, corpus, output, **other).already_complete


def test_an_unknown_output_ending_names_the_output_endings(pipeline_dir, corpus, tmp_path):
    with pytest.raises(OutputError, match=r"\[E078\].*\.jsonl.*\.parquet") as info:
        process_file(pipeline_dir, corpus, tmp_path / "out.txt", progress=False)
    assert "--input-format" not in str(info.value)


def test_another_jobs_errors_file_is_not_deleted(pipeline_dir, corpus, tmp_path):
    # out.jsonl and out.json share the default errors file out.errors.jsonl.
    process_file(pipeline_dir, corpus, tmp_path / "out.jsonl", **FAST)
    errors = (tmp_path / "out.errors.jsonl").read_bytes()
    assert errors
    with pytest.raises(Exception, match=r"\[E079\].*out\.errors\.jsonl.*--errors"):
        process_file(pipeline_dir, corpus, tmp_path / "out.json", **FAST)
    assert (tmp_path / "out.errors.jsonl").read_bytes() == errors
    assert not (tmp_path / "out.json").exists()


def test_resume_keeps_the_precision_it_started_with(pipeline_dir, corpus, tmp_path, stop_after):
    output = tmp_path / "out.jsonl"
    with pytest.raises(stop_after.Stop):
        process_file(pipeline_dir, corpus, output, precision="bf16", on_chunk=stop_after(2), **FAST)
    for other in ({}, {"precision": "fp32"}):
        with pytest.raises(OutputError, match=r"\[E070\].*precision"):
            process_file(pipeline_dir, corpus, output, **other, **FAST)
    summary = process_file(pipeline_dir, corpus, output, precision="bf16", **FAST)
    assert summary.resumed_after > 0 and summary.complete


def test_a_loaded_pipeline_at_a_precision_resumes_with_the_same_call(
    pipeline_dir, corpus, tmp_path, stop_after
):
    import spacy

    nlp = spacy.load(pipeline_dir)
    output = tmp_path / "out.jsonl"
    with pytest.raises(stop_after.Stop):
        process_file(nlp, corpus, output, precision="bf16", on_chunk=stop_after(2), **FAST)
    summary = process_file(nlp, corpus, output, precision="bf16", **FAST)
    assert summary.resumed_after > 0 and summary.complete


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_run_stopped_by_bad_input_closes_its_output(tmp_path):
    import gzip

    import spacy

    from nlp_tasks.errors import NlpTasksError

    lines = "".join(json.dumps({"text": f"text number {i} " * 50}) + "\n" for i in range(3000))
    blob = gzip.compress(lines.encode("utf8"))
    source = tmp_path / "in.jsonl.gz"
    source.write_bytes(blob[: len(blob) // 2])
    output = tmp_path / "out.jsonl"
    # The error's traceback keeps the job alive: its file must be closed all the same,
    # not left to the garbage collector.
    with pytest.raises(NlpTasksError) as info:
        process_file(spacy.blank("en"), source, output, **FAST)

    def open_files():
        for fd in os.listdir("/proc/self/fd"):
            try:
                yield os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                pass

    assert output.stat().st_size > 0 and str(output) not in set(open_files())
    assert "E061" in str(info.value)
