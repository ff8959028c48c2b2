"""Where the CPU time of ``nlp.pipe`` goes, outside the transformer's torch forward.

The pipeline is bench/throughput.py's (offline backbone, sentiment + NER heads,
strided spans), run on the first ``--docs`` texts of the BBC dev split on one
thread. Three measurements:

1. cProfile of ``list(nlp.pipe(texts, batch_size=...))``: the top functions by
   cumulative and by own time, and the cumulative time of the HF model's forward.
2. The same run with light timers (exclusive time; nested timers are subtracted)
   wrapped around the pieces: spaCy tokenizer, span getter, wordpiece tokenizer,
   alignment, the HF forward, ``doc._.trf_data`` setting, each head's listener,
   ``trfs2arrays`` pooling, the rest of each head, the NER parse loop, and
   ``to_json`` (outside ``nlp.pipe``, timed after it). Parts of spaCy and
   spacy-transformers are Cython built without profiling hooks, so cProfile alone
   hides them in their callers; the timers do not.
3. The timed run again with one head, then with no head (``nlp.select_pipes``).

    OMP_NUM_THREADS=1 DATA=../shared/datasets python bench/profile_pipeline.py \
        --docs 200 --batch-size 64

(``--data``: ``$DATA/summarization/dev.jsonl``, ``$DATA`` being the project's corpus/
when unset; the RESULTS used ../shared/datasets.)
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import DATA, build_pipeline, load_texts, words  # noqa: E402


class Timers:
    """Exclusive wall time per label: time in nested timed calls goes to the inner label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []

    def wrap(self, label: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            self._stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inner = self._stack.pop()
                self.seconds[label] += elapsed - inner
                self.calls[label] += 1
                if self._stack:
                    self._stack[-1] += elapsed

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


FORWARD = "HF model forward (torch)"


def instrument(nlp, timers: Timers) -> None:
    """Wrap the pieces of the pipeline's inference path in ``timers``."""
    from spacy_transformers.layers import transformer_model

    nlp.make_doc = timers.wrap("spaCy tokenizer (make_doc)", nlp.make_doc)
    transformer = nlp.get_pipe("transformer")
    trf_model = transformer.model
    trf_model.attrs["get_spans"] = timers.wrap(
        "trf: span getter (strided spans)", trf_model.attrs["get_spans"]
    )
    transformer_model.huggingface_tokenize = timers.wrap(
        "trf: wordpiece tokenizer (HF fast)", transformer_model.huggingface_tokenize
    )
    for name in ("get_alignment_via_offset_mapping", "get_alignment"):
        setattr(
            transformer_model,
            name,
            timers.wrap("trf: alignment", getattr(transformer_model, name)),
        )
    trf_model._func = timers.wrap(
        "trf: rest of model forward (span.text, tensors)", trf_model._func
    )
    hf = trf_model.layers[0].shims[0]._hfmodel.transformer
    hf.forward = timers.wrap(FORWARD, hf.forward)
    transformer.set_annotations = timers.wrap(
        "trf: set doc._.trf_data (split_by_doc)", transformer.set_annotations
    )
    for head in ("sentiment", "ner"):
        pipe = nlp.get_pipe(head)
        rest = (
            "ner: transition loop (predict minus model)"
            if head == "ner"
            else "sentiment: rest of predict"
        )
        pipe.predict = timers.wrap(rest, pipe.predict)
        pipe.set_annotations = timers.wrap(f"{head}: set_annotations", pipe.set_annotations)
        for node in pipe.model.walk():
            if node.name == "transformer-listener":
                label = f"{head}: listener (read doc._.trf_data)"
            elif node.name == "trfs2arrays":
                label = f"{head}: trfs2arrays pooling"
            elif node.name.startswith("extract_features>>"):
                label = "ner: surface features (SHAPE, affixes)"
            elif node.name == "parser_model":
                label = "ner: featurize (lower layer, precompute)"
            elif node is pipe.model:
                label = f"{head}: rest of model"
            else:
                continue
            node._func = timers.wrap(label, node._func)


OTHER = "other (Language.pipe, minibatch, batch_by_length, sorting)"
GROUPS = {"spaCy": "spaCy tokenizer", "trf:": "transformer host work", "sentiment:": "sentiment"}
GROUPS.update({"ner:": "NER", "other": "other"})


def timed_run(nlp, texts: list[str], batch_size: int, timers: Timers):
    """Seconds per label (exclusive) of one ``nlp.pipe`` run, OTHER and "wall" included."""
    timers.reset()
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    wall = time.perf_counter() - start
    seconds = dict(timers.seconds)
    seconds[OTHER] = wall - sum(seconds.values())
    seconds["wall"] = wall
    return seconds, docs


def grouped(seconds: dict[str, float]) -> dict[str, float]:
    groups: dict[str, float] = defaultdict(float)
    for label, value in seconds.items():
        for prefix, group in GROUPS.items():
            if label.startswith(prefix):
                groups[group] += value
    return groups


def profile(nlp, texts: list[str], batch_size: int, top: int) -> None:
    """Print the cProfile tables and the HF forward's cumulative seconds."""
    profiler = cProfile.Profile()
    profiler.enable()
    list(nlp.pipe(texts, batch_size=batch_size))
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(value[3] for value in stats.stats.values())
    forward = max(
        value[3]
        for (path, _, func), value in stats.stats.items()
        if func == "forward" and path.endswith(os.path.join("models", "bert", "modeling_bert.py"))
    )
    print(
        f"cProfile: {total:.2f} s in all, HF model forward (cumulative) {forward:.2f} s, "
        f"the rest {total - forward:.2f} s (profiler overhead included)"
    )
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(top)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
        print(f"\n## top {top} by {key}\n")
        print("\n".join(line.replace(sys.prefix, "<venv>") for line in lines[start:] if line))


def table(runs: list[dict[str, float]], to_json: float, n_docs: int) -> None:
    """Pieces outside the HF forward, each the minimum over the runs."""
    best = {label: min(run.get(label, 0.0) for run in runs) for label in runs[0]}
    walls = ", ".join(f"{run['wall']:.2f}" for run in runs)
    forward = best.pop(FORWARD)
    best.pop("wall")
    rest = sum(best.values())
    print(
        f"\nnlp.pipe {walls} s; best of {len(runs)} per piece: {FORWARD} {forward:.2f} s, "
        f"the rest {rest:.2f} s ({1000 * rest / n_docs:.1f} ms/doc)\n"
    )
    print("| piece | seconds | share of non-forward |")
    print("| --- | ---: | ---: |")
    for label, seconds in sorted(best.items(), key=lambda row: -row[1]):
        print(f"| {label} | {seconds:.3f} | {seconds / rest:.1%} |")
    print("\n| group | seconds | share of non-forward |")
    print("| --- | ---: | ---: |")
    for group, seconds in grouped(best).items():
        print(f"| {group} | {seconds:.3f} | {seconds / rest:.1%} |")
    print(f"| (to_json, all heads: after nlp.pipe, not in it) | {to_json:.3f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--stride", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=2, help="Timed runs of both heads.")
    parser.add_argument("--top", type=int, default=25, help="Rows of each cProfile table.")
    parser.add_argument("--data", type=Path, default=DATA / "dev.jsonl")
    args = parser.parse_args()

    import torch
    import transformers

    from nlp_tasks.inference import doc_to_json, pipeline_tasks

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    nlp = build_pipeline(2, args.window, args.stride)
    texts = load_texts([args.data], args.docs)
    print(
        f"# {len(texts)} docs, {words(texts)} words, batch_size {args.batch_size}, "
        f"torch {torch.__version__} on {torch.get_num_threads()} thread(s), "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    list(nlp.pipe(texts[:8], batch_size=args.batch_size))  # warm-up

    profile(nlp, texts, args.batch_size, args.top)

    timers = Timers()
    instrument(nlp, timers)
    runs = []
    for _ in range(args.repeat):
        seconds, docs = timed_run(nlp, texts, args.batch_size, timers)
        runs.append(seconds)
    tasks = pipeline_tasks(nlp)
    start = time.perf_counter()
    for doc in docs:
        doc_to_json(doc, tasks)
    table(runs, time.perf_counter() - start, len(texts))

    configs = {"sentiment + NER": None, "sentiment": ["ner"], "NER": ["sentiment"]}
    configs["none"] = ["sentiment", "ner"]
    columns = {}
    for label, disable in configs.items():
        if disable is None:
            seconds = min(runs, key=lambda run: run["wall"])
        else:
            with nlp.select_pipes(disable=disable):
                seconds, _ = timed_run(nlp, texts, args.batch_size, timers)
        columns[label] = {"nlp.pipe": seconds["wall"], FORWARD: seconds[FORWARD]}
        columns[label].update(grouped(seconds))
        columns[label]["all but the forward"] = seconds["wall"] - seconds[FORWARD]
    print("\nOne run each (nlp.select_pipes; both heads: the faster run above), seconds:\n")
    print("| | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for row in columns["sentiment + NER"]:
        cells = " | ".join(f"{column.get(row, 0.0):.2f}" for column in columns.values())
        print(f"| {row} | {cells} |")


if __name__ == "__main__":
    main()
