"""Feed a trained pipeline and the command line bad input, races and kills; tabulate.

Each case runs in a fresh interpreter (the ``nlp-tasks`` command, or a short
script) in its own scratch directory, with a time limit, and is classified by
what a user would see:

- ``ok``: processed correctly, every record accounted for;
- ``refused [CODE]``: stopped with a coded one-paragraph message, no traceback;
- ``traceback``: a Python traceback reached the user;
- ``HANG``: still running at the time limit;
- ``LOSS``/``WRONG``: exit 0 (or a refusal) while records were lost, mixed,
  duplicated, deleted or made up.

    python bench/bad_input_matrix.py training/model-best --json after.json
    python bench/bad_input_matrix.py --table before.json after.json   # markdown

The pipeline should have the five built-in heads (the README main job's
``training/model-best``). Run it against an older checkout by putting that
checkout's package folders first on PYTHONPATH.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CLI = [sys.executable, "-c", "from nlp_tasks.cli import main; main()"]
CODE = re.compile(r"\[([A-Z]+\d{3})\]")
CASES: list[tuple[str, Callable[[Path, Path], str]]] = []


def case(name: str) -> Callable:
    def add(function: Callable[[Path, Path], str]) -> Callable:
        CASES.append((name, function))
        return function

    return add


def run(args: list[str], cwd: Path, timeout: float = 300, env: dict | None = None):
    """Run a command; None if it is still running after ``timeout`` seconds.

    The command gets a process group of its own, killed whole at the time limit:
    worker processes it started would otherwise hold its pipes open.
    """
    process = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def cli(*args: str, cwd: Path, **kw):
    return run([*CLI, *args], cwd, **kw)


def python(code: str, cwd: Path, **kw):
    return run([sys.executable, "-c", code], cwd, **kw)


def verdict(result, ok_when: bool | None = None, api: bool = False) -> str:
    """What a user saw: HANG, traceback, refused [CODE], usage error, or ok.

    api: the case calls the Python API, where raising a coded exception is the
    refusal (its traceback is the caller's to handle); on the command line any
    traceback is a defect.
    """
    if result is None:
        return "HANG"
    output = result.stdout + result.stderr
    if "Traceback (most recent call last)" in output:
        last = [line for line in result.stderr.strip().splitlines() if line.strip()][-1:]
        codes = CODE.findall(last[0]) if last else []
        if api and codes:
            return f"raises [{codes[0]}] {last[0].split(':')[0].split('.')[-1]}"
        return f"traceback ({last[0][:70]})" if last else "traceback"
    codes = CODE.findall(result.stderr)
    if result.returncode == 2 and "Usage:" in result.stderr:
        return "usage error, exit 2"
    if result.returncode == 3 and "processed" in result.stderr:
        return "done, exit 3 (failed records in the errors file)"
    if result.returncode != 0:
        return f"refused [{codes[0]}]" if codes else f"exit {result.returncode}, no code"
    if ok_when is False:
        return "WRONG (exit 0)"
    return "ok"


def lines(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(encoding="utf8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            records.append({"unparsable": line})
    return records


def corpus(path: Path, n: int) -> Path:
    texts = [
        f"Record {i}: Nadia Okafor loved the new cafe in Lisbon, said the council."
        for i in range(n)
    ]
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


# Batch jobs ----------------------------------------------------------------------


@case("two `process` runs on one output, the second started mid-run")
def concurrent_runs(m: Path, tmp: Path) -> str:
    n = 400
    corpus(tmp / "in.jsonl", n)
    common = [*CLI, "process", str(m), "in.jsonl", "o.jsonl", "--checkpoint-seconds", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    first = subprocess.Popen([*common, "--batch-size", "4"], cwd=tmp, env=env, **pipes)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        output = tmp / "o.jsonl"
        if output.exists() and len(output.read_bytes().splitlines()) >= 8:
            break
        time.sleep(0.1)
    overlapped = first.poll() is None
    second = subprocess.Popen([*common, "--batch-size", "40"], cwd=tmp, env=env, **pipes)
    outs = [p.communicate(timeout=900) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    records = lines(tmp / "o.jsonl") if (tmp / "o.jsonl").exists() else []
    good = [r for r in records if "unparsable" not in r]
    complete = sorted(r["id"] for r in good) == list(range(n)) and len(records) == n
    refused = [CODE.findall(err) for (_, err), code in zip(outs, codes) if code != 0]
    if not complete:
        bad = len(records) - len(good)
        return f"LOSS: exits {codes}, {len(records)}/{n} lines, {bad} unparsable"
    if refused:
        return f"refused [{refused[0][0] if refused[0] else '?'}] (second run); output complete"
    if overlapped:
        return f"UNSAFE: both ran at once, exits {codes}; output whole this time, by timing"
    return f"ok: exits {codes}, output complete (the runs did not overlap)"


@case("CSV with an unterminated quote")
def csv_quote(m: Path, tmp: Path) -> str:
    (tmp / "b.csv").write_text('id,text\nx1,"unterminated quote\nx2,ok row\n')
    result = cli("process", str(m), "b.csv", "o.jsonl", "--include-text", cwd=tmp)
    out = lines(tmp / "o.jsonl") if (tmp / "o.jsonl").exists() else []
    errors = tmp / "o.errors.jsonl"
    failed = lines(errors) if errors.exists() else []
    swallowed = any("x2" in (r.get("text") or "") for r in out)
    if swallowed:
        return (
            f"LOSS: row x2 swallowed into x1's text (exit {result.returncode if result else '?'})"
        )
    ids = sorted(str(r.get("id")) for r in out) + sorted(
        f"{r.get('code')}@{r['line']}" for r in failed
    )
    return f"{verdict(result)}: {', '.join(ids)}"


#: A run over in.jsonl into o.jsonl that checkpoints after every batch of 2.
RESUMABLE = ["in.jsonl", "o.jsonl", "--batch-size", "2", "--checkpoint-seconds", "0"]


def kill_midway(m: Path, tmp: Path) -> None:
    process = subprocess.Popen(
        [*CLI, "process", str(m), *RESUMABLE],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (tmp / "o.jsonl").exists() and len((tmp / "o.jsonl").read_bytes().splitlines()) >= 4:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()


@case("kill -9, rerun: output vs an uninterrupted run")
def kill_rerun(m: Path, tmp: Path) -> str:
    corpus(tmp / "in.jsonl", 30)
    reference = cli("process", str(m), "in.jsonl", "ref.jsonl", "--batch-size", "2", cwd=tmp)
    kill_midway(m, tmp)
    result = cli("process", str(m), *RESUMABLE, cwd=tmp)
    if reference is None or result is None:
        return "HANG"
    same = (tmp / "o.jsonl").read_bytes() == (tmp / "ref.jsonl").read_bytes()
    return f"{verdict(result)}, {'byte-identical' if same else 'LOSS: differs'}"


@case("resume after the pipeline was changed (translation num_beams)")
def changed_pipeline(m: Path, tmp: Path) -> str:
    copy = tmp / "M"
    shutil.copytree(m, copy)
    corpus(tmp / "in.jsonl", 30)
    kill_midway(copy, tmp)
    config = (copy / "config.cfg").read_text()
    config = re.sub(r"num_beams = \d+", "num_beams = 1", config)
    config = re.sub(r"max_new_tokens = \d+", "max_new_tokens = 3", config)
    (copy / "config.cfg").write_text(config)
    result = cli("process", str(copy), "in.jsonl", "o.jsonl", "--batch-size", "2", cwd=tmp)
    if result is not None and result.returncode == 0:
        return "WRONG: resumed, old and new outputs mixed"
    return verdict(result)


@case("resume with another --batch-size")
def changed_batch_size(m: Path, tmp: Path) -> str:
    corpus(tmp / "in.jsonl", 30)
    kill_midway(m, tmp)
    result = cli("process", str(m), "in.jsonl", "o.jsonl", "--batch-size", "7", cwd=tmp)
    if result is not None and result.returncode == 0:
        return "ok: resumed (bytes may differ at ~1e-6)"
    return verdict(result)


@case("input named o.jsonl.checkpoint.json, output o.jsonl, --overwrite")
def input_deleted(m: Path, tmp: Path) -> str:
    corpus(tmp / "o.jsonl.checkpoint.json", 3)
    result = cli(
        "process",
        str(m),
        "o.jsonl.checkpoint.json",
        "o.jsonl",
        "--input-format",
        "jsonl",
        "--overwrite",
        cwd=tmp,
    )
    exists = (tmp / "o.jsonl.checkpoint.json").exists()
    original = (
        exists
        and len(lines(tmp / "o.jsonl.checkpoint.json")) == 3
        and "text" in (lines(tmp / "o.jsonl.checkpoint.json")[0])
    )
    if not original:
        return f"LOSS: input deleted or overwritten ({verdict(result)})"
    return verdict(result)


@case("disk full mid-run, then rerun with room")
def disk_full(m: Path, tmp: Path) -> str:
    disk = tmp / "disk"
    disk.mkdir()
    mounted = run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(disk)], tmp)
    if mounted is None or mounted.returncode != 0:
        return "(not run: needs root to mount a small tmpfs)"
    try:
        corpus(tmp / "in.jsonl", 300)
        args = ["in.jsonl", "--include-text", "--batch-size", "8", "--checkpoint-seconds", "0"]
        cli("process", str(m), args[0], "ref.jsonl", *args[1:], cwd=tmp)
        full = cli("process", str(m), args[0], str(disk / "o.jsonl"), *args[1:], cwd=tmp)
        run(["mount", "-o", "remount,size=8m", str(disk)], tmp)
        again = cli("process", str(m), args[0], str(disk / "o.jsonl"), *args[1:], cwd=tmp)
        same = (disk / "o.jsonl").read_bytes() == (tmp / "ref.jsonl").read_bytes()
        rerun = "rerun byte-identical" if same else "LOSS: rerun differs"
        return f"{verdict(full)}; after making room: {verdict(again)}, {rerun}"
    finally:
        run(["umount", str(disk)], tmp)


@case("output in a directory that does not exist")
def missing_out_dir(m: Path, tmp: Path) -> str:
    corpus(tmp / "in.jsonl", 3)
    result = cli("process", str(m), "in.jsonl", "no/such/dir/o.jsonl", cwd=tmp)
    made = (tmp / "no/such/dir/o.jsonl").exists()
    return verdict(result) + (" (3 records written)" if made and result.returncode == 0 else "")


@case("truncated .gz input")
def truncated_gzip(m: Path, tmp: Path) -> str:
    corpus(tmp / "in.jsonl", 400)
    data = gzip.compress((tmp / "in.jsonl").read_bytes())
    (tmp / "in.jsonl.gz").write_bytes(data[: len(data) // 2])
    return verdict(cli("process", str(m), "in.jsonl.gz", "o.jsonl", cwd=tmp))


@case("UTF-8 BOM on a JSONL input")
def bom_jsonl(m: Path, tmp: Path) -> str:
    corpus(tmp / "in.jsonl", 3)
    (tmp / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + (tmp / "in.jsonl").read_bytes())
    result = cli("process", str(m), "in.jsonl", "o.jsonl", cwd=tmp)
    n = len(lines(tmp / "o.jsonl")) if (tmp / "o.jsonl").exists() else 0
    return f"{verdict(result)}, {n}/3 processed"


@case("UTF-8 BOM on a CSV input")
def bom_csv(m: Path, tmp: Path) -> str:
    (tmp / "in.csv").write_bytes(b"\xef\xbb\xbftext,id\nA fine day.,1\n")
    result = cli("process", str(m), "in.csv", "o.jsonl", cwd=tmp)
    n = len(lines(tmp / "o.jsonl")) if (tmp / "o.jsonl").exists() else 0
    return f"{verdict(result)}, {n}/1 processed"


@case("UTF-8 BOM on a text input")
def bom_txt(m: Path, tmp: Path) -> str:
    (tmp / "in.txt").write_bytes(b"\xef\xbb\xbfA fine day.\n")
    result = cli("process", str(m), "in.txt", "o.jsonl", "--include-text", cwd=tmp)
    out = lines(tmp / "o.jsonl") if (tmp / "o.jsonl").exists() else []
    kept = out and out[0].get("text", "").startswith("\ufeff")
    return verdict(result) + (": BOM kept in the text" if kept else "")


# Python API and pipeline ----------------------------------------------------------


@case("`nlp.pipe(texts, n_process=2)`")
def pipe_processes(m: Path, tmp: Path) -> str:
    code = (
        "import nlp_tasks\n"
        f"nlp = nlp_tasks.load({str(m)!r})\n"
        "texts = [f'Text {i} about Lisbon.' for i in range(20)]\n"
        "one = [d._.sentiment for d in nlp.pipe(texts)]\n"
        "two = [d._.sentiment for d in nlp.pipe(texts, n_process=2, batch_size=4)]\n"
        "assert one == two, (one, two)\n"
    )
    code = "if __name__ == '__main__':\n" + "".join(f"    {line}\n" for line in code.splitlines())
    (tmp / "pipe.py").write_text(code)
    result = run([sys.executable, "pipe.py"], tmp, timeout=240)
    return verdict(result)


def script_verdict(m: Path, tmp: Path, body: str, accepted: str = "ok") -> str:
    code = f"import nlp_tasks\nnlp = nlp_tasks.load({str(m)!r})\n{body}"
    result = python(code, tmp)
    if result is not None and result.returncode == 0:
        return accepted
    return verdict(result, api=True)


SILENT = "WRONG: accepted silently"


@case('`nlp("")`: sentiment')
def empty_sentiment(m: Path, tmp: Path) -> str:
    result = python(
        f"import nlp_tasks\nnlp = nlp_tasks.load({str(m)!r})\nd = nlp('')\n"
        "print(repr(d._.sentiment), d.cats)",
        tmp,
    )
    if result is not None and result.returncode == 0 and not result.stdout.startswith("None"):
        return f"WRONG: a label for no text: {result.stdout.strip()}"
    return f"{verdict(result, api=True)}: {result.stdout.strip()}" if result else "HANG"


@case('`nlp("   ")`: translation')
def blank_translation(m: Path, tmp: Path) -> str:
    result = python(
        f"import nlp_tasks\nnlp = nlp_tasks.load({str(m)!r})\n"
        "print(repr(nlp('   ')._.translation))",
        tmp,
    )
    if result is not None and result.returncode == 0 and result.stdout.strip() != "None":
        return f"WRONG: a translation of no text: {result.stdout.strip()}"
    return f"{verdict(result, api=True)}: {result.stdout.strip()}" if result else "HANG"


@case("`qa.ask(doc, q, top_k=-1)`")
def qa_top_k_negative(m: Path, tmp: Path) -> str:
    return script_verdict(
        m, tmp, "print(nlp.get_pipe('qa').ask(nlp('Jo is in Rome.'), 'Where?', top_k=-1))", SILENT
    )


@case("`qa.ask(doc, q, top_k=2.5)`")
def qa_top_k_float(m: Path, tmp: Path) -> str:
    return script_verdict(
        m, tmp, "print(nlp.get_pipe('qa').ask(nlp('Jo is in Rome.'), 'Where?', top_k=2.5))"
    )


@case("`qa.ask(doc, q, threshold=nan)`")
def qa_threshold_nan(m: Path, tmp: Path) -> str:
    return script_verdict(
        m,
        tmp,
        "print(nlp.get_pipe('qa').ask(nlp('Jo is in Rome.'), 'Where?', threshold=float('nan')))",
        SILENT,
    )


@case('`doc._.questions = "a string"`')
def questions_string(m: Path, tmp: Path) -> str:
    result = python(
        f"import nlp_tasks\nnlp = nlp_tasks.load({str(m)!r})\n"
        "doc = nlp.make_doc('Jo is in Rome.')\ndoc._.questions = 'Where is Jo?'\n"
        "print(nlp(doc)._.answers)",
        tmp,
    )
    if result is not None and result.returncode == 0:
        return f"ok: {result.stdout.strip()[:60]}"
    return verdict(result, api=True)


@case("`predict(nlp, [b'bytes'])`")
def predict_bytes(m: Path, tmp: Path) -> str:
    return script_verdict(m, tmp, "print(nlp_tasks.predict(nlp, [b'A text.']))")


@case("`predict(nlp, ['lone \\ud800 surrogate'])`")
def predict_surrogate(m: Path, tmp: Path) -> str:
    return script_verdict(m, tmp, "print(nlp_tasks.predict(nlp, ['lone \\ud800 surrogate']))")


@case("a component's weights file truncated")
def corrupt_weights(m: Path, tmp: Path) -> str:
    copy = tmp / "M"
    shutil.copytree(m, copy)
    model = copy / "sentiment" / "model"
    model.write_bytes(model.read_bytes()[:100])
    return verdict(python(f"import nlp_tasks\nnlp_tasks.load({str(copy)!r})", tmp), api=True)


@case("meta.json with junk")
def corrupt_meta(m: Path, tmp: Path) -> str:
    copy = tmp / "M"
    shutil.copytree(m, copy)
    (copy / "meta.json").write_text("{not json")
    return verdict(python(f"import nlp_tasks\nnlp_tasks.load({str(copy)!r})", tmp), api=True)


# Plugins ----------------------------------------------------------------------------


def broken_plugin(tmp: Path, gate: bool) -> dict:
    """A plugin distribution whose module raises on import, on PYTHONPATH.

    gate: its ``spacy_factories`` entry point names nlp-tasks' gate, as the
    ``new-plugin`` template writes it; otherwise its own module, as before.
    """
    site = tmp / "site"
    (site / "broken_head").mkdir(parents=True)
    (site / "broken_head" / "__init__.py").write_text("raise RuntimeError('broken on import')\n")
    info = site / "nlp_tasks_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nlp-tasks-broken\nVersion: 0.1\n")
    spacy_target = "nlp_tasks.registry:spacy_factories" if gate else "broken_head:make"
    (info / "entry_points.txt").write_text(
        "[nlp_tasks]\nbroken = broken_head\n\n"
        "[nlp_tasks_factories]\nbroken = broken_head:make\n\n"
        f"[spacy_factories]\nbroken = {spacy_target}\n"
    )
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


BLANK = "import spacy; spacy.blank('en')"


def load_and_run(m: Path) -> str:
    return f"import nlp_tasks; nlp_tasks.load({str(m)!r})('A text.')"


@case("a broken plugin, template entry points: `spacy.blank('en')`")
def broken_gate_blank(m: Path, tmp: Path) -> str:
    return verdict(python(BLANK, tmp, env=broken_plugin(tmp, gate=True)), api=True)


@case("a broken plugin, template entry points: load M")
def broken_gate_load(m: Path, tmp: Path) -> str:
    return verdict(python(load_and_run(m), tmp, env=broken_plugin(tmp, gate=True)), api=True)


@case("a broken plugin naming its own module in `spacy_factories`: `spacy.blank('en')`")
def broken_own_blank(m: Path, tmp: Path) -> str:
    return verdict(python(BLANK, tmp, env=broken_plugin(tmp, gate=False)), api=True)


@case("NLP_TASKS_BLOCK_PLUGINS=nlp-tasks-qa, load M")
def blocked_qa(m: Path, tmp: Path) -> str:
    code = (
        "import sys, nlp_tasks\n"
        f"nlp = nlp_tasks.load({str(m)!r})\n"
        "print('qa imported' if 'nlp_tasks_qa' in sys.modules else 'qa not imported')"
    )
    result = python(code, tmp, env={"NLP_TASKS_BLOCK_PLUGINS": "nlp-tasks-qa"})
    if result is not None and result.returncode == 0:
        return f"WRONG: loaded, {result.stdout.strip()}"
    return verdict(result, api=True)


@case("NLP_TASKS_LOAD_PLUGINS='' , load M")
def load_none(m: Path, tmp: Path) -> str:
    result = python(
        f"import nlp_tasks; nlp_tasks.load({str(m)!r})", tmp, env={"NLP_TASKS_LOAD_PLUGINS": ""}
    )
    if result is not None and result.returncode == 0:
        return "WRONG: every head loaded"
    return verdict(result, api=True)


@case("NLP_TASKS_LOAD_PLUGINS=',' (odd value)")
def odd_allow(m: Path, tmp: Path) -> str:
    result = cli("plugins", cwd=tmp, env={"NLP_TASKS_LOAD_PLUGINS": ","})
    warned = result is not None and re.search(r"\[W\d{3}\]", result.stderr)
    return verdict(result) + (" with a warning" if warned else ", no warning")


# Command line -----------------------------------------------------------------------


@case("`nlp-tasks nosuchcommand`")
def no_such_command(m: Path, tmp: Path) -> str:
    return verdict(cli("nosuchcommand", cwd=tmp))


@case("`process --batch-size 0`")
def batch_size_zero(m: Path, tmp: Path) -> str:
    corpus(tmp / "in.jsonl", 2)
    return verdict(cli("process", str(m), "in.jsonl", "o.jsonl", "--batch-size", "0", cwd=tmp))


@case("`evaluate --data /missing`")
def evaluate_missing(m: Path, tmp: Path) -> str:
    result = cli("evaluate", str(m), "--data", "/missing", cwd=tmp)
    named = result is not None and "/missing" in result.stderr
    return verdict(result) + ("" if named else " (does not name /missing)")


@case('`predict M ""`')
def predict_empty(m: Path, tmp: Path) -> str:
    result = cli("predict", str(m), "", cwd=tmp)
    if result is not None and result.returncode == 0 and not result.stdout.strip():
        return "WRONG: exit 0, prints nothing"
    return verdict(result)


@case("`predict --file missing.txt`")
def predict_missing_file(m: Path, tmp: Path) -> str:
    return verdict(cli("predict", str(m), "--file", "missing.txt", cwd=tmp))


@case("`predict --file` with bad UTF-8")
def predict_bad_utf8(m: Path, tmp: Path) -> str:
    (tmp / "bad.txt").write_bytes(b"fine\n\xff\xfe bad\n")
    return verdict(cli("predict", str(m), "--file", "bad.txt", cwd=tmp))


@case('`init config --tasks ""`')
def init_no_tasks(m: Path, tmp: Path) -> str:
    return verdict(cli("init", "config", "c.cfg", "--tasks", "", cwd=tmp))


@case("`init config --tasks sentiment,sentiment`")
def init_duplicate(m: Path, tmp: Path) -> str:
    return verdict(cli("init", "config", "c.cfg", "--tasks", "sentiment,sentiment", cwd=tmp))


@case("`init config --backbone EMPTY_DIR`")
def init_empty_backbone(m: Path, tmp: Path) -> str:
    (tmp / "empty").mkdir()
    result = cli("init", "config", "c.cfg", "--tasks", "sentiment", "--backbone", "empty", cwd=tmp)
    if result is not None and result.returncode == 0:
        return "WRONG: accepted"
    return verdict(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pipeline", nargs="?", type=Path, help="A trained five-head pipeline.")
    parser.add_argument("--json", type=Path, help="Write the verdicts here.")
    parser.add_argument(
        "--only", action="append", help="Run the cases whose name contains this (repeatable)."
    )
    parser.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.table:
        before, after = (json.loads(p.read_text()) for p in args.table)
        print("| case | before | after |\n| --- | --- | --- |")
        for name in after:
            cells = [name.replace("|", "/"), before.get(name, "(not run)"), after[name]]
            print("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
        return
    pipeline = args.pipeline.resolve()
    verdicts = {}
    for name, function in CASES:
        if args.only and not any(part in name for part in args.only):
            continue
        with tempfile.TemporaryDirectory(prefix="bad-input-") as tmp:
            start = time.monotonic()
            try:
                verdicts[name] = function(pipeline, Path(tmp))
            except Exception as error:  # the matrix goes on; the case says what broke
                verdicts[name] = f"(harness: {type(error).__name__}: {error})"
        print(f"{name}: {verdicts[name]}  ({time.monotonic() - start:.0f} s)", flush=True)
    if args.json:
        # With --only, the other cases' verdicts of an earlier run are kept.
        earlier = json.loads(args.json.read_text()) if args.only and args.json.exists() else {}
        merged = {name: verdicts.get(name, earlier.get(name)) for name, _ in CASES}
        merged = {name: verdict for name, verdict in merged.items() if verdict is not None}
        args.json.write_text(json.dumps(merged, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
