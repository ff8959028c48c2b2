"""Helpers for .gpu/run.sh (the GPU check kit; source: bench/gpu/). Subcommands:

env GPU_ID                      versions, CUDA / CuPy / thinc checks
make-backbone SRC DST           randomly initialised model of SRC's config + SRC's tokenizer
make-input ASSETS N OUT         N JSONL records (cycled) from the sample corpus texts
check-output IN OUT WALL_S LOG LABEL    one output line per input? docs/s, words/s
project-times LOG               seconds per `spacy project run` command (stamped log)
train-speed LOG META            spacy train eval rows, seconds per step, meta speed
"""

import json
import re
import sys
import time
from pathlib import Path


def env(gpu_id: str) -> int:
    import importlib.metadata as md

    gpu = int(gpu_id)
    failed = 0
    print("python", sys.version.split()[0], sys.executable)
    for dist in (
        "torch spacy thinc spacy-transformers transformers tokenizers huggingface-hub "
        "cupy-cuda13x cupy-cuda12x numpy typer click rich pydantic nlp-tasks nlp-tasks-ner"
    ).split():
        try:
            print(f"  {dist:22} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"  {dist:22} -")
    import spacy
    import spacy_transformers
    import thinc
    import torch
    import transformers

    for module in (torch, spacy, thinc, spacy_transformers, transformers):
        print(f"  {module.__name__:22} imported from {Path(module.__file__).parent}")
    print("torch.version.cuda", torch.version.cuda, "cuda available", torch.cuda.is_available())
    if torch.cuda.is_available():
        print("  device", torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0))
        print("  bf16 supported", torch.cuda.is_bf16_supported())
    from thinc import util

    print(
        "thinc has_cupy",
        util.has_cupy,
        "has_cupy_gpu",
        util.has_cupy_gpu,
        "has_torch_cuda_gpu",
        util.has_torch_cuda_gpu,
    )
    try:
        import cupy

        print(
            "cupy",
            cupy.__version__,
            "runtime",
            cupy.cuda.runtime.runtimeGetVersion(),
            "driver",
            cupy.cuda.runtime.driverGetVersion(),
        )
    except Exception as error:  # noqa: BLE001
        print("cupy import/runtime FAILED:", repr(error))
        failed += gpu >= 0
    if gpu < 0:
        print("GPU_ID < 0: GPU checks skipped")
        return 0
    checks = []

    def check(name, fn):
        nonlocal failed
        start = time.perf_counter()
        try:
            result = fn()
            print(f"  OK   {name}: {result} ({time.perf_counter() - start:.2f}s)")
        except Exception as error:  # noqa: BLE001
            failed += 1
            print(f"  FAIL {name}: {error!r}")
        checks.append(name)

    check(
        "spacy.require_gpu",
        lambda: (spacy.require_gpu(gpu), type(thinc.api.get_current_ops()).__name__),
    )
    from thinc.api import get_current_ops, torch2xp, xp2torch

    def kernels():
        ops = get_current_ops()
        X = ops.xp.random.uniform(-1, 1, (50, 8)).astype("float32")
        lengths = ops.asarray1i([20, 30])
        # reduce_mean / seq2col / gelu use thinc's CuPy custom kernels (NVRTC compiled).
        ops.reduce_mean(X, lengths)
        ops.seq2col(X, 1)
        ops.gelu(X)
        ops.backprop_reduce_mean(ops.alloc2f(2, 8), lengths)
        return f"{type(X).__module__} kernels ran"

    check("thinc CupyOps custom kernels", kernels)

    def dlpack():
        ops = get_current_ops()
        X = ops.xp.arange(12, dtype="float32").reshape(3, 4)
        T = xp2torch(X)
        back = torch2xp(T * 2)
        assert float(back.sum()) == float(X.sum()) * 2
        return f"torch {T.device} <-> {type(back).__module__}"

    check("thinc xp2torch/torch2xp (dlpack)", dlpack)
    check(
        "torch matmul on cuda",
        lambda: float(
            (torch.ones(256, 256, device="cuda") @ torch.ones(256, 256, device="cuda")).sum()
        ),
    )
    return 1 if failed else 0


def make_backbone(src: str, dst: str) -> int:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(src)
    model = AutoModel.from_config(config)
    model.save_pretrained(dst)
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"random {config.model_type} ({params / 1e6:.1f}M parameters) -> {dst}:",
        sorted(p.name for p in Path(dst).iterdir()),
    )
    return 0


def make_input(assets: str, n: str, out: str) -> int:
    root = Path(assets)
    records, seen = [], set()

    def add(text, questions=None):
        if isinstance(text, str) and text.strip() and (text, tuple(questions or ())) not in seen:
            seen.add((text, tuple(questions or ())))
            records.append({"text": text, **({"questions": questions} if questions else {})})

    for line in (root / "examples.jsonl").read_text(encoding="utf8").splitlines():
        record = json.loads(line)
        add(record["text"], record.get("questions"))
    for task in ("sentiment", "ner", "qa", "summarization", "translation"):
        for split in ("train", "dev"):
            for line in (root / task / f"{split}.jsonl").read_text(encoding="utf8").splitlines():
                r = json.loads(line)
                if task == "ner":
                    add(r.get("text") or " ".join(r.get("tokens", [])))
                elif task == "qa":
                    add(r["context"], [r["question"]])
                elif task == "translation":
                    add(r["src"])
                else:
                    add(r["text"])
    count = int(n)
    with open(out, "w", encoding="utf8") as file:
        for i in range(count):
            file.write(json.dumps({"id": i, **records[i % len(records)]}) + "\n")
    words = sum(len(records[i % len(records)]["text"].split()) for i in range(count))
    questions = sum(len(records[i % len(records)].get("questions", [])) for i in range(count))
    print(
        f"{out}: {count} records ({len(records)} distinct texts), {words} words, "
        f"{questions} questions"
    )
    return 0


def check_output(inp: str, out: str, wall: str, log: str, label: str) -> int:
    inputs = [json.loads(line) for line in open(inp, encoding="utf8")]
    outputs = [json.loads(line) for line in open(out, encoding="utf8")]
    errors_path = Path(out).with_name(Path(out).stem + ".errors.jsonl")
    errors = errors_path.read_text().splitlines() if errors_path.exists() else []
    ok = len(outputs) == len(inputs) and [o.get("id") for o in outputs] == [i["id"] for i in inputs]
    heads = sorted({k for o in outputs for k in o if k not in ("line", "id")})
    words = sum(len(r["text"].split()) for r in inputs)
    print(
        f"[{label}] inputs {len(inputs)}, output lines {len(outputs)}, errors {len(errors)}, "
        f"one line per input, ids in order: {ok}; heads in output: {heads}"
    )
    for e in errors[:3]:
        print("  error:", e[:300])
    if outputs:
        print("  first output:", json.dumps(outputs[0])[:400])
    runs = re.findall(r"This run: (\d+) docs in ([\d.]+) s", Path(log).read_text(errors="replace"))
    wall_s = float(wall)
    print(
        f"[{label}] wall (command, start-up and load included) {wall_s:.1f}s: "
        f"{len(inputs) / wall_s:.1f} docs/s, {words / wall_s:,.0f} words/s"
    )
    if runs:
        n, seconds = int(runs[-1][0]), float(runs[-1][1])
        print(
            f"[{label}] processing only (`This run:` line, {n} docs in {seconds:.1f}s): "
            f"{n / seconds:.1f} docs/s, {words / seconds:,.0f} words/s ({words} words)"
        )
    return 0 if ok and not errors else 1


STAMP = r"^\[\s*([\d.]+)s\] "
ANSI = re.compile(r"\x1b\[[\d;]*m")


def project_times(log: str) -> int:
    marks = []
    for line in open(log, encoding="utf8", errors="replace"):
        line = ANSI.sub("", line)
        m = re.match(STAMP + r"=+ (\S+) =+\s*$", line)
        if m:
            marks.append((m.group(2), float(m.group(1))))
        end = re.match(r"^=== \[.*\] (?:PASS|FAIL|TIMEOUT).* in ([\d.]+)s", line)
        if end and marks:
            last = float(end.group(1))  # the `project run all` step's own duration
            break
        stamped = re.match(STAMP, line)
        if stamped:
            last = float(stamped.group(1))
    if not marks:
        print("no `spacy project run` command headers found")
        return 1
    print("| project command | seconds (from the stamped log) |\n| --- | ---: |")
    for i, (name, t) in enumerate(marks):
        stop = marks[i + 1][1] if i + 1 < len(marks) else last
        print(f"| {name} | {stop - t:.1f} |")
    return 0


def train_speed(log: str, meta: str) -> int:
    rows, header, train_start = [], None, None
    for line in open(log, encoding="utf8", errors="replace"):
        line = ANSI.sub("", line)
        m = re.match(STAMP + r"(.*)$", line.rstrip("\n"))
        if not m:
            continue
        t, text = float(m.group(1)), m.group(2).split("\r")[-1]
        if re.match(r"=+ train =+", text):
            train_start = t
        if re.match(r"=+ add =+", text):
            break  # the joint run's rows end here; `add` trains the added heads on their own
        if re.match(r"^\s*E\s+#\s", text):
            header = text
        row = re.match(r"^\s*(\d+)\s+(\d+)\s+[-\d.]", text)
        if header and row:
            rows.append((t, int(row.group(2)), text))
    if not rows:
        print("no spacy train eval rows found")
        return 1
    print("spacy train (stamped, s since `spacy project run all` started):")
    print(" " * 10, header)
    for t, _, text in rows:
        print(f"[{t:7.1f}s] {text}")
    for (t0, s0, _), (t1, s1, _) in zip(rows, rows[1:]):
        if s1 > s0:
            print(
                f"steps {s0}->{s1}: {t1 - t0:.1f}s = {(t1 - t0) / (s1 - s0) * 1000:.0f} ms/step "
                "(includes the evaluation at the later step)"
            )
    if train_start is not None:
        print(
            f"train command start -> step-0 eval row: {rows[0][0] - train_start:.1f}s "
            "(interpreter, load, init, first eval)"
        )
    try:
        info = json.loads(Path(meta).read_text())
        perf = info.get("performance", {})
        print("model-best meta: speed (dev-set words/s while evaluating) =", perf.get("speed"))
        print("  scores:", {k: v for k, v in perf.items() if not isinstance(v, dict)})
    except OSError as error:
        print("no meta.json:", error)
    return 0


if __name__ == "__main__":
    commands = {
        "env": env,
        "make-backbone": make_backbone,
        "make-input": make_input,
        "check-output": check_output,
        "project-times": project_times,
        "train-speed": train_speed,
    }
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
