"""Service throughput: POST /predict with 1, 8 and 32 concurrent clients vs. in-process nlp.pipe.

The service (``make_app`` under uvicorn, as ``nlp-tasks serve`` runs it) starts
in a subprocess on a free 127.0.0.1 port. Each client is a thread with one
keep-alive ``http.client`` connection that posts one text per request, until
the level's ``--requests`` requests are sent. Texts come from the "text" field
of a JSONL file (``--texts``; news articles, e.g. a summarization dev split,
corpus/summarization/dev.jsonl; the RESULTS used ../shared/datasets' BBC News, as
below) or a built-in list of news-length
paragraphs. Once the service has stopped, the same texts go through
``nlp.pipe`` in this process (``--max-batch-size`` docs a batch), so the two
never share the CPU.

Prints a markdown table, one row per level: requests/s, p50 and p95 latency
(ms), words/s of the service, words/s of nlp.pipe over the same texts, and the
ratio service / in-process. ``--output`` writes the numbers as JSON. Run it
alone on the machine:

    OMP_NUM_THREADS=2 python bench/serve.py training/model-best \\
        --texts ../shared/datasets/summarization/dev.jsonl --requests 200 \\
        --output bench/runs/serve.json
    python bench/serve.py --smoke    # a tiny pipeline, a few requests: checks the script
"""

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Stand-ins for news articles when no --texts file is given (about 80-110 words).
FALLBACK_TEXTS = [
    "The city council voted on Tuesday to extend the northern tram line by four kilometres, "
    "ending a debate that has run for almost a decade. Supporters said the extension would "
    "cut commuting times for some forty thousand residents of the outer districts, while "
    "opponents warned that the budget, now estimated at 310 million euros, was likely to "
    "grow. Construction is due to begin next spring and the first trams should run by 2029. "
    "The mayor, Helena Varga, called the vote a turning point for the region's transport.",
    "Shares in Northwind Freight fell sharply on Wednesday after the shipping company cut "
    "its profit forecast for the second time this year, blaming weak demand in Europe and "
    "higher fuel costs. The chief executive, Tomas Reyes, told analysts that container "
    "volumes on its Asia routes had dropped by nine percent in the third quarter. The "
    "company said it would delay the delivery of two new vessels and review its dividend "
    "policy. Analysts at several banks lowered their price targets after the call.",
    "Heavy rain caused flooding across the river valley overnight, forcing the closure of "
    "two main roads and several schools. Emergency services evacuated more than two hundred "
    "people from low-lying homes near the old mill, and volunteers filled sandbags at the "
    "community centre until the early hours. The weather service said another band of rain "
    "was expected on Friday, although river levels were beginning to fall. Local officials "
    "asked drivers to avoid the area and promised an inquiry into the drainage system.",
    "A team of researchers at the university announced on Monday that it had identified a "
    "new species of frog in the cloud forests of the southern highlands. The small green "
    "frog, which lays its eggs in water held by plants, was found during a survey led by "
    "the biologist Amara Okafor. The researchers said the species was probably endangered "
    "because its habitat is shrinking, and they called for the forest to be protected. "
    "Their findings were published in a journal of tropical biology.",
    "The national football team secured its place in the final tournament with a two-goal "
    "victory in front of a sold-out crowd on Saturday night. The captain opened the scoring "
    "shortly before half-time, and a substitute added a second goal in the closing minutes. "
    "The coach praised the defence, which has not conceded in four matches, and said the "
    "squad would now prepare for a friendly against the reigning champions in March. Fans "
    "celebrated in the streets around the stadium until late in the evening.",
    "The government presented its budget for next year on Thursday, promising more money "
    "for hospitals and schools while keeping the deficit below three percent of national "
    "output. The finance minister said spending on health would rise by six percent and "
    "that a new tax on large online platforms would raise about 900 million. Opposition "
    "parties criticised the plan as too optimistic about growth. Parliament is expected to "
    "debate the budget over the coming weeks before a final vote in December.",
]

SERVER = """
import sys, json, uvicorn, nlp_tasks
from nlp_tasks.serve import make_app, ServeSettings
path, port, settings = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
app = make_app(nlp_tasks.load(path), ServeSettings(name=path, **settings))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def load_texts(path: Path | None, limit: int) -> list[str]:
    """Up to ``limit`` non-blank "text" fields of a JSONL file; the built-in list if no file."""
    if path is None:
        return list(FALLBACK_TEXTS)
    texts = []
    with path.open(encoding="utf8") as file:
        for line in file:
            text = json.loads(line).get("text")
            if isinstance(text, str) and text.strip():
                texts.append(text)
                if len(texts) == limit:
                    break
    return texts


def words(texts: list[str]) -> int:
    return sum(len(text.split()) for text in texts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Service:
    """The service in a subprocess, stopped on exit."""

    def __init__(self, pipeline: Path, settings: dict, timeout: float = 300) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(pipeline), str(self.port), json.dumps(settings)]
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"The service exited with status {self.process.returncode}.")
            try:
                status, _ = self.request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"The service did not answer within {timeout:.0f} s.")
            time.sleep(0.25)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_level(port: int, texts: list[str], clients: int) -> dict:
    """Post every text once, from ``clients`` threads; time each request and the whole."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(len(texts)))

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Content-Type": "application/json"}
        try:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                body = json.dumps(texts[index]).encode("utf8")
                start = time.perf_counter()
                connection.request("POST", "/predict", body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                seconds = time.perf_counter() - start
                with lock:
                    latencies.append(seconds)
                    if response.status != 200:
                        failures.append(f"{response.status}: {data[:200]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return {
        "clients": clients,
        "requests": len(texts),
        "failed": len(failures),
        "failures": failures[:3],
        "seconds": seconds,
        "requests_per_s": len(texts) / seconds,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p95_ms": 1000 * percentile(latencies, 0.95),
        "words_per_s": words(texts) / seconds,
    }


def in_process(pipeline: Path, texts: list[str], batch_size: int) -> dict:
    """``nlp.pipe`` over the texts in this process, after a warm-up batch."""
    import nlp_tasks

    nlp = nlp_tasks.load(pipeline)
    list(nlp.pipe(texts[:batch_size], batch_size=batch_size))
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    seconds = time.perf_counter() - start
    return {"docs": len(texts), "seconds": seconds, "words_per_s": words(texts) / seconds}


def tiny_pipeline(root: Path) -> Path:
    """A sentiment + NER pipeline on a tiny random backbone, for --smoke."""
    import spacy

    from nlp_tasks.registry.manager import get_task
    from nlp_tasks.testing import make_tiny_backbone, train_steps
    from nlp_tasks.training.config import make_config

    records = [
        ("sentiment", {"text": "The tram line is a great success.", "label": "positive"}),
        ("sentiment", {"text": "Shares fell after a weak quarter.", "label": "negative"}),
        (
            "ner",
            {"text": "Helena Varga visited Paris.", "entities": [[0, 12, "PER"], [21, 26, "LOC"]]},
        ),
    ]
    tasks = list(dict.fromkeys(task for task, _ in records))
    backbone = make_tiny_backbone(root / "backbone", FALLBACK_TEXTS)
    config = make_config(tasks, backbone=str(backbone))
    for task in tasks:
        config["corpora"]["train"]["sources"][task] = "unused"
        config["corpora"]["dev"]["sources"][task] = "unused"
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task(task).make_example(nlp, record) for task, record in records]
    train_steps(nlp, nlp.initialize(lambda: examples), examples, steps=1, batch_size=3)
    nlp.to_disk(root / "pipeline")
    return root / "pipeline"


def table(result: dict) -> str:
    base = result["in_process"]["words_per_s"]
    lines = [
        "| clients | requests | req/s | p50 ms | p95 ms | service words/s "
        "| nlp.pipe words/s | service / nlp.pipe |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for level in result["levels"]:
        lines.append(
            f"| {level['clients']} | {level['requests']} | {level['requests_per_s']:.1f} "
            f"| {level['p50_ms']:.1f} | {level['p95_ms']:.1f} | {level['words_per_s']:.0f} "
            f"| {base:.0f} | {level['words_per_s'] / base:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path, nargs="?", help="Pipeline directory.")
    parser.add_argument("--texts", type=Path, default=None, help="JSONL file with 'text'.")
    parser.add_argument("--requests", type=int, default=200, help="Requests per level.")
    parser.add_argument("--levels", default="1,8,32", help="Concurrent clients, comma-separated.")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=None, help="Write the results as JSON.")
    parser.add_argument(
        "--smoke", action="store_true", help="A tiny pipeline (if none is given), 8 requests."
    )
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    if args.smoke:
        args.requests = min(args.requests, 8)
    if args.requests < 1 or min(levels) < 1:
        parser.error("--requests and every --levels value must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        pipeline = args.pipeline
        if pipeline is None:
            if not args.smoke:
                parser.error("give a PIPELINE directory, or --smoke")
            pipeline = tiny_pipeline(Path(scratch))
        pool = load_texts(args.texts, limit=max(args.requests, 1))
        if not pool:
            parser.error(f"{args.texts} has no record with a non-blank 'text'")
        texts = [pool[i % len(pool)] for i in range(args.requests)]
        settings = {"max_batch_size": args.max_batch_size, "max_wait_ms": args.max_wait_ms}
        result: dict = {
            "pipeline": str(args.pipeline or "tiny (--smoke)"),
            "settings": settings,
            "texts": {"source": str(args.texts or "built-in"), "words": words(texts)},
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "levels": [],
        }
        with Service(pipeline, settings) as service:
            for clients in levels:
                run_level(service.port, texts[: min(len(texts), 2 * clients)], clients)
                result["levels"].append(run_level(service.port, texts, clients))
        result["in_process"] = in_process(pipeline, texts, args.max_batch_size)
    for level in result["levels"]:
        level["ratio"] = level["words_per_s"] / result["in_process"]["words_per_s"]
        if level["failed"]:
            print(f"{level['failed']} request(s) failed: {level['failures']}", file=sys.stderr)
    print(table(result))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")


if __name__ == "__main__":
    main()
